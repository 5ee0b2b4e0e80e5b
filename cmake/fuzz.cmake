# libFuzzer harnesses for every parser of outside input (issue #10, "Inputs"), built only with
# -DSG_FUZZ=ON and clang: everything (sgcore included) is compiled with coverage instrumentation
# and ASan+UBSan, each tests/fuzz/fuzz_<name>.c becomes an executable fuzz_<name>. The `fuzz`
# target builds them and runs scripts/fuzz.sh for SG_FUZZ_SECONDS per harness; it is never part
# of the normal build or of ctest (the crash inputs are replayed there by
# tests/unit/test_fuzz_regressions.c, without libFuzzer).
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "SG_FUZZ=ON needs clang (libFuzzer): configure with -DCMAKE_C_COMPILER=clang")
endif()
set(SG_FUZZ_SECONDS 60 CACHE STRING "Seconds per harness for the fuzz target")
# -Wno-error: the gcc build is the warning gate; clang's extra warnings in code being written
# elsewhere must not stop a fuzzing run.
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                    -fno-sanitize-recover=undefined -g -Wno-error)
add_link_options(-fsanitize=address,undefined)

file(GLOB SG_FUZZ_HARNESSES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
set(SG_FUZZ_TARGETS "")
foreach(src ${SG_FUZZ_HARNESSES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE sgcore)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  list(APPEND SG_FUZZ_TARGETS ${name})
endforeach()
add_custom_target(fuzz
  COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/fuzz.sh --no-build --build ${CMAKE_BINARY_DIR} ${SG_FUZZ_SECONDS}
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
  DEPENDS ${SG_FUZZ_TARGETS}
  USES_TERMINAL
  COMMENT "Fuzzing each parser for ${SG_FUZZ_SECONDS} s")
