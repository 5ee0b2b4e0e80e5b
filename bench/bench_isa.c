/* Peak arithmetic rate of one core for each multiply-accumulate instruction a GEMM kernel could be
 * built on, measured with independent accumulator chains: fp32 FMA (what sgemm uses), AVX512-BF16
 * dot products (vdpbf16ps), AVX512-FP16 FMA (fp16 accumulation) and AVX512-VNNI int8 dot products
 * (vpdpbusd). It backs docs/performance.md's choice of kernels by measurement; prints one JSON line.
 *   bench_isa */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

enum { CHAINS = 12 };
static const long REPS = 20000000; /* per chain */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Each function returns the operations per second (a multiply-add counts 2) and folds its
 * accumulators into *sink so that nothing is optimised away. */
__attribute__((target("avx512f"))) static double fp32_fma(float *sink) {
    __m512 acc[CHAINS], a = _mm512_set1_ps(1.0f), b = _mm512_set1_ps(1e-9f);
    for (int j = 0; j < CHAINS; j++) acc[j] = _mm512_setzero_ps();
    double t0 = now();
    for (long i = 0; i < REPS; i++)
        for (int j = 0; j < CHAINS; j++) acc[j] = _mm512_fmadd_ps(a, b, acc[j]);
    double t = now() - t0;
    for (int j = 0; j < CHAINS; j++) *sink += _mm512_reduce_add_ps(acc[j]);
    return REPS * CHAINS * 16 * 2.0 / t;
}

__attribute__((target("avx512f,avx512bf16"))) static double bf16_dot(float *sink) {
    __m512 acc[CHAINS];
    __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3000);
    for (int j = 0; j < CHAINS; j++) acc[j] = _mm512_setzero_ps();
    double t0 = now();
    for (long i = 0; i < REPS; i++)
        for (int j = 0; j < CHAINS; j++) acc[j] = _mm512_dpbf16_ps(acc[j], a, b);
    double t = now() - t0;
    for (int j = 0; j < CHAINS; j++) *sink += _mm512_reduce_add_ps(acc[j]);
    return REPS * CHAINS * 32 * 2.0 / t;
}

__attribute__((target("avx512f,avx512fp16"))) static double fp16_fma(float *sink) {
    __m512h acc[CHAINS], a = _mm512_set1_ph((_Float16)1.0f), b = _mm512_set1_ph((_Float16)1e-4f);
    for (int j = 0; j < CHAINS; j++) acc[j] = _mm512_setzero_ph();
    double t0 = now();
    for (long i = 0; i < REPS; i++)
        for (int j = 0; j < CHAINS; j++) acc[j] = _mm512_fmadd_ph(a, b, acc[j]);
    double t = now() - t0;
    for (int j = 0; j < CHAINS; j++) *sink += (float)_mm512_reduce_add_ph(acc[j]);
    return REPS * CHAINS * 32 * 2.0 / t;
}

__attribute__((target("avx512f,avx512vnni"))) static double int8_dot(float *sink) {
    __m512i acc[CHAINS], a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(1);
    for (int j = 0; j < CHAINS; j++) acc[j] = _mm512_setzero_si512();
    double t0 = now();
    for (long i = 0; i < REPS; i++)
        for (int j = 0; j < CHAINS; j++) acc[j] = _mm512_dpbusd_epi32(acc[j], a, b);
    double t = now() - t0;
    for (int j = 0; j < CHAINS; j++) *sink += (float)_mm512_reduce_add_epi32(acc[j]);
    return REPS * CHAINS * 64 * 2.0 / t;
}

int main(void) {
    float sink = 0.0f;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f")) {
        printf("{\"error\": \"no AVX-512 on this CPU\"}\n");
        return 0;
    }
    double f32 = fp32_fma(&sink);
    double bf = __builtin_cpu_supports("avx512bf16") ? bf16_dot(&sink) : 0.0;
    double f16 = __builtin_cpu_supports("avx512fp16") ? fp16_fma(&sink) : 0.0;
    double i8 = __builtin_cpu_supports("avx512vnni") ? int8_dot(&sink) : 0.0;
    printf("{\"fp32_fma_gflops\": %.1f, \"bf16_dot_gflops\": %.1f, \"fp16_fma_gflops\": %.1f, \"int8_vnni_gops\": %.1f, "
           "\"vs_fp32\": {\"bf16\": %.2f, \"fp16\": %.2f, \"int8\": %.2f}, \"sink\": %g}\n",
           f32 * 1e-9, bf * 1e-9, f16 * 1e-9, i8 * 1e-9, bf / f32, f16 / f32, i8 / f32, (double)sink);
    return 0;
}
