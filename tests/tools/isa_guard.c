/* isa_guard ISA COMMAND [ARGS...]: runs COMMAND with SG_ISA=ISA (ctest's per-ISA variants of the
 * SNN = QANN and reference tests, tests/CMakeLists.txt). Exits 77 (skipped, with the reason) when
 * this CPU lacks the ISA, or when ISA is the CPU's best: the plain test already runs that one. */
#include "core/isa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: isa_guard generic|avx2|avx512 COMMAND [ARGS...]\n");
        return 2;
    }
    int isa = 0;
    while (isa < SG_ISA_COUNT && strcmp(argv[1], sg_isa_name((sg_isa)isa))) isa++;
    if (isa == SG_ISA_COUNT) {
        fprintf(stderr, "isa_guard: '%s' is not an instruction set (generic, avx2 or avx512)\n", argv[1]);
        return 2;
    }
    if (!sg_isa_supported((sg_isa)isa)) {
        printf("skip: this CPU lacks %s (its best is %s)\n", argv[1], sg_isa_name(sg_isa_best()));
        return 77;
    }
    if ((sg_isa)isa == sg_isa_best()) {
        printf("skip: %s is this CPU's best ISA, which the test without a suffix runs\n", argv[1]);
        return 77;
    }
    setenv("SG_ISA", argv[1], 1);
    execvp(argv[2], argv + 2);
    perror("isa_guard: exec");
    return 2;
}
