/* Which vector instruction set the hot kernels run with (issue #19). Each kernel file is compiled
 * once per ISA from one source (see src/core/simd.h) and its entry points pick the version here.
 * By default the best the CPU has; SG_ISA=generic|avx2|avx512 forces one (refused when the CPU
 * lacks it), so every path can be tested and benchmarked on one machine. Every version computes
 * the same values bit for bit. */
#ifndef SG_ISA_H
#define SG_ISA_H

typedef enum { SG_ISA_GENERIC = 0, SG_ISA_AVX2 = 1, SG_ISA_AVX512 = 2, SG_ISA_COUNT = 3 } sg_isa;

/* Reads SG_ISA once (later calls return the first outcome). 0, or -1 (sg_fail) when SG_ISA names
 * no ISA or one this CPU lacks. Call it early (main) to report a refusal as a normal error. */
int sg_isa_init(void);
/* The ISA in use. When SG_ISA is refused and nobody called sg_isa_init first, prints the error
 * and exits with status 2 (kernels have no way to return it). */
sg_isa sg_isa_active(void);
/* "generic", "avx2", "avx512" */
const char *sg_isa_name(sg_isa isa);
/* 1 when this CPU (and OS) can run the kernels of `isa`. */
int sg_isa_supported(sg_isa isa);
/* The best ISA this CPU has. */
sg_isa sg_isa_best(void);
/* For logs and --version: "avx2" or "generic (SG_ISA; the CPU has avx2)". */
const char *sg_isa_describe(void);

#endif
