/* Element loops compiled for AVX-512 and AVX2 as well as the portable baseline, the best the CPU
 * has picked at load time (GCC function multi-versioning): the portable x86-64 build has no vector
 * floor (SSE4.1) nor 64-bit vector multiply, so such loops would stay scalar. Only for loops whose
 * every operation is exact or correctly rounded in each version, so results are the same bit for
 * bit whichever runs. Off under the sanitizers and with other compilers. */
#ifndef SG_SIMD_H
#define SG_SIMD_H

#include <omp.h>
#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define SG_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SG_VECTOR_CLONES
#endif

/* [begin, end) of the calling OpenMP thread's share of n elements */
static inline void sg_thread_share(size_t n, size_t *begin, size_t *end) {
    size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
    *begin = n / nt * t + (t < n % nt ? t : n % nt);
    *end = *begin + n / nt + (t < n % nt ? 1 : 0);
}

#endif
