/* Debian 12's OpenBLAS 0.3.21 does not recognise some recent Xeons and falls back to its SSE3
 * "Prescott" kernel, about 4x slower for sgemm than the AVX-512 one. OpenBLAS reads
 * OPENBLAS_CORETYPE once, when it is loaded, so the fix is to set it and re-execute ourselves
 * before anything else happens (before MPI_Init in particular). A user's own setting wins. */
#include "blas/gemm.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *suitable_core(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}

void sg_blas_fix_core(char **argv) {
    if (getenv("OPENBLAS_CORETYPE") || getenv("SG_KEEP_BLAS_CORE")) return;
    if (strcmp(sg_blas_corename(), "Prescott") != 0) return;
    const char *core = suitable_core();
    if (!core) return;
    setenv("OPENBLAS_CORETYPE", core, 1);
    setenv("SG_BLAS_CORE_FORCED", core, 1);
    execv("/proc/self/exe", argv); /* returns only on failure: carry on with the slow kernel */
    unsetenv("OPENBLAS_CORETYPE");
}

const char *sg_blas_core_note(void) {
    return getenv("SG_BLAS_CORE_FORCED") ? " (forced: this OpenBLAS build fell back to Prescott on an unrecognised CPU)" : "";
}
