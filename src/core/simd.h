/* Element loops compiled for AVX-512 and AVX2 as well as the portable baseline: the portable
 * x86-64 build has no vector floor (SSE4.1) nor 64-bit vector multiply, so such loops would stay
 * scalar. Only for loops whose
 * every operation is exact or correctly rounded in each version, so results are the same bit for
 * bit whichever runs. Off under the sanitizers and with other compilers. */
#ifndef SG_SIMD_H
#define SG_SIMD_H

#include <omp.h>
#include <stddef.h>

#include "core/isa.h"

/* SG_ISA_VERSIONS(ret, name, params, args): `name` runs `name_body` (a static inline function holding
 * the loop, written once) compiled for AVX-512, for AVX2 or portable, the version picked by
 * sg_isa_active() — the CPU's best, or the one SG_ISA forces (core/isa.h), so that every path can be
 * tested on one machine. SG_ISA_VERSIONS_VOID for functions returning nothing. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define SG_ISA_VERSIONS_(ret, name, params, args, RET)                                                       \
    __attribute__((target("avx512f"))) static ret name##_avx512 params { RET name##_body args; }            \
    __attribute__((target("avx2"))) static ret name##_avx2 params { RET name##_body args; }                 \
    static ret name##_generic params { RET name##_body args; }                                               \
    static ret name params {                                                                                 \
        switch (sg_isa_active()) {                                                                           \
        case SG_ISA_AVX512: RET name##_avx512 args; break;                                                   \
        case SG_ISA_AVX2: RET name##_avx2 args; break;                                                       \
        default: RET name##_generic args; break;                                                             \
        }                                                                                                    \
    }
#else
#define SG_ISA_VERSIONS_(ret, name, params, args, RET) \
    static ret name params { RET name##_body args; }
#endif
#define SG_ISA_VERSIONS(ret, name, params, args) SG_ISA_VERSIONS_(ret, name, params, args, return)
#define SG_ISA_VERSIONS_VOID(name, params, args) SG_ISA_VERSIONS_(void, name, params, args, )
/* the body of such a function: inlined into each version, so it is compiled for each target */
#define SG_ISA_BODY static inline __attribute__((always_inline))

/* [begin, end) of the calling OpenMP thread's share of n elements */
static inline void sg_thread_share(size_t n, size_t *begin, size_t *end) {
    size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
    *begin = n / nt * t + (t < n % nt ? t : n % nt);
    *end = *begin + n / nt + (t < n % nt ? 1 : 0);
}

#endif
