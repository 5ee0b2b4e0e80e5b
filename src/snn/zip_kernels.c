/* The simulator's hot kernels (src/snn/zip_kernels.inc) built once per ISA from that one source,
 * and the public entry points (snn/zip_ops.h), which run the version core/isa.h picked: the best
 * the CPU has, or the one SG_ISA forces. */
#include "core/isa.h"
#include "snn/zip_ops.h"

#include "blas/gemm.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define SG_MULTI_ISA 1
#else
#define SG_MULTI_ISA 0
#endif

/* Pass 1 of firing decides a chunk's spikes into a small buffer, pass 2 lists them. */
#define SG_FIRE_CHUNK 256

typedef struct {
    int (*fire)(const sg_stbif_params *, const float *, int32_t *, int, int, int32_t *, int *, uint64_t *, uint64_t *);
    int (*pop_fire_row)(sg_snn_pop *, int, uint64_t *, uint64_t *);
    void (*gather)(float *, const float *, int, const int32_t *, int);
    int (*linear_fire)(const sg_snn_linear *, const sg_snn_input *, int, sg_snn_pop *, int, float, sg_snn_scratch *,
                       sg_snn_counts *);
    int (*layernorm_fire)(sg_snn_pop *, int, int, const int32_t *, const int32_t *, float, const int32_t *,
                          const int32_t *, float, const float *, const float *, const float *, float, float *,
                          sg_snn_counts *);
    int (*attention_step)(sg_zip_attention *, const sg_zip_attention_params *, const sg_snn_pop *, const int32_t *,
                          int, int, int, sg_zip_attention_counts *);
} sg_snn_kernels;

/* the baseline (SSE2 on x86-64) */
#define SG_K(name) name##_generic
#define SG_KISA 0 /* SG_ISA_GENERIC, a number for #if */
#define SG_VEC_BYTES 16
#include "snn/zip_kernels.inc"
#undef SG_K
#undef SG_KISA
#undef SG_VEC_BYTES

#if SG_MULTI_ISA
/* x86-64-v3 (what sg_isa_supported checks for SG_ISA_AVX2) */
#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi,bmi2,popcnt")
#define SG_K(name) name##_avx2
#define SG_KISA 1
#define SG_VEC_BYTES 32
#include "snn/zip_kernels.inc"
#undef SG_K
#undef SG_KISA
#undef SG_VEC_BYTES
#pragma GCC pop_options

/* x86-64-v4 */
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi,bmi2,popcnt")
#define SG_K(name) name##_avx512
#define SG_KISA 2
#define SG_VEC_BYTES 64
#include "snn/zip_kernels.inc"
#undef SG_K
#undef SG_KISA
#undef SG_VEC_BYTES
#pragma GCC pop_options

static const sg_snn_kernels *kernels(void) {
    static const sg_snn_kernels *const table[SG_ISA_COUNT] = {&kernels_generic, &kernels_avx2, &kernels_avx512};
    return table[sg_isa_active()];
}
#else
static const sg_snn_kernels *kernels(void) { return &kernels_generic; }
#endif

int sg_snn_fire(const sg_stbif_params *p, const float *x, int32_t *s, int n, int col0, int32_t *ev, int *pending,
                uint64_t *pos, uint64_t *neg) {
    return kernels()->fire(p, x, s, n, col0, ev, pending, pos, neg);
}

int sg_snn_pop_fire_row(sg_snn_pop *p, int r, uint64_t *pos, uint64_t *neg) {
    return kernels()->pop_fire_row(p, r, pos, neg);
}

void sg_snn_gather(float *acc, const float *wt, int n, const int32_t *ev, int nev) {
    kernels()->gather(acc, wt, n, ev, nev);
}

int sg_snn_linear_fire(const sg_snn_linear *lin, const sg_snn_input *in, int bias_on, sg_snn_pop *pop, int rows,
                       float dense_fraction, sg_snn_scratch *scratch, sg_snn_counts *cnt) {
    return kernels()->linear_fire(lin, in, bias_on, pop, rows, dense_fraction, scratch, cnt);
}

int sg_snn_layernorm_fire(sg_snn_pop *pop, int rows, int first, const int32_t *a_s, const int32_t *a_nev,
                          float a_theta, const int32_t *r_s, const int32_t *r_nev, float r_theta, const float *r_dense,
                          const float *w, const float *b, float eps, float *tmp, sg_snn_counts *cnt) {
    return kernels()->layernorm_fire(pop, rows, first, a_s, a_nev, a_theta, r_s, r_nev, r_theta, r_dense, w, b, eps,
                                     tmp, cnt);
}

int sg_zip_attention_step(sg_zip_attention *a, const sg_zip_attention_params *prm, const sg_snn_pop *qkv,
                          const int32_t *key_mask, int rows, int q_rows, int first, sg_zip_attention_counts *cnt) {
    return kernels()->attention_step(a, prm, qkv, key_mask, rows, q_rows, first, cnt);
}
