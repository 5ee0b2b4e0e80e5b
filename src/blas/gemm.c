#include "blas/gemm.h"

#include <cblas.h>
#include <omp.h>
#include <stdatomic.h>
#include <string.h>

static _Atomic unsigned long gemm_calls; /* relaxed: a count, ordered with nothing */

unsigned long sg_gemm_calls(void) { return atomic_load_explicit(&gemm_calls, memory_order_relaxed); }

void sg_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
             int ldb, float beta, float *C, int ldc) {
    atomic_fetch_add_explicit(&gemm_calls, 1, memory_order_relaxed);
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha,
                A, lda, B, ldb, beta, C, ldc);
}

/* Rows per thread below which the rows are not split (the product then runs on OpenBLAS's threads). */
enum { SPLIT_MIN_ROWS = 64 };

/* One row block of the product. OpenBLAS always writes C once before its kernel accumulates onto it
 * (beta 0 zeroes C in a pass of its own), so that pass carries what the row starts from: the bias,
 * or the residual plus the bias (the add & norm block's sum then needs no add pass of its own). */
static void linear_rows(float *out, const float *inp, const float *W, const float *bias, const float *residual,
                        int rows, int in_dim, int out_dim) {
    float beta = 1.0f;
    if (residual)
        for (int n = 0; n < rows; n++) {
            float *o = out + (size_t)n * out_dim;
            const float *r = residual + (size_t)n * out_dim;
            if (bias)
                for (int j = 0; j < out_dim; j++) o[j] = r[j] + bias[j];
            else
                memcpy(o, r, sizeof(float) * (size_t)out_dim);
        }
    else if (bias)
        for (int n = 0; n < rows; n++) memcpy(out + (size_t)n * out_dim, bias, sizeof(float) * (size_t)out_dim);
    else
        beta = 0.0f;
    sg_gemm(0, 1, rows, out_dim, in_dim, 1.0f, inp, in_dim, W, in_dim, beta, out, out_dim);
}

void sg_linear_forward_residual(float *out, const float *inp, const float *W, const float *bias, const float *residual,
                                int N, int in_dim, int out_dim) {
    const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (threads < 2 || N < threads * SPLIT_MIN_ROWS) {
        linear_rows(out, inp, W, bias, residual, N, in_dim, out_dim); /* OpenBLAS threads it as it sees fit */
        return;
    }
    /* Each thread its block of rows (a multiple of 16, the kernels' row tile), bias and product, in
     * one parallel region: OpenBLAS runs single-threaded inside one, so the threads never wait for
     * each other between its packing steps (~5% of a 2-thread eval pass went to that hand-off,
     * sched_yield). Each thread packs the weights itself, a K x O read per thread against the
     * product's N/threads x K x O multiply-adds. Same bits: every row's dot products block K alike. */
#pragma omp parallel num_threads(threads)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads(), tiles = (N + 15) / 16;
        const int r0 = (int)((long)tiles * t / nt) * 16, r1 = (int)((long)tiles * (t + 1) / nt) * 16;
        const int end = r1 < N ? r1 : N;
        if (end > r0)
            linear_rows(out + (size_t)r0 * out_dim, inp + (size_t)r0 * in_dim, W, bias,
                        residual ? residual + (size_t)r0 * out_dim : NULL, end - r0, in_dim, out_dim);
    }
}

void sg_linear_forward(float *out, const float *inp, const float *W, const float *bias, int N, int in_dim, int out_dim) {
    sg_linear_forward_residual(out, inp, W, bias, NULL, N, in_dim, out_dim);
}

void sg_linear_backward(float *dinp, float dinp_beta, float *dW, float *dbias, const float *dout, const float *inp,
                        const float *W, int N, int in_dim, int out_dim) {
    if (dinp) sg_gemm(0, 0, N, in_dim, out_dim, 1.0f, dout, out_dim, W, in_dim, dinp_beta, dinp, in_dim);
    sg_gemm(1, 0, out_dim, in_dim, N, 1.0f, dout, out_dim, inp, in_dim, 1.0f, dW, in_dim);
    if (dbias) sg_bias_backward(dbias, dout, N, out_dim);
}

void sg_bias_backward(float *dbias, const float *dout, int N, int out_dim) {
    /* column blocks: each thread sweeps rows reading 64 contiguous floats at a time */
#pragma omp parallel for schedule(static)
    for (int o0 = 0; o0 < out_dim; o0 += 64) {
        int w = out_dim - o0 < 64 ? out_dim - o0 : 64;
        float acc[64] = {0};
        for (int n = 0; n < N; n++) {
            const float *row = dout + (size_t)n * out_dim + o0;
            for (int j = 0; j < w; j++) acc[j] += row[j];
        }
        for (int j = 0; j < w; j++) dbias[o0 + j] += acc[j];
    }
}

/* Declared by OpenBLAS's cblas.h; kept local in case another CBLAS is linked. */
extern char *openblas_get_corename(void);
extern int openblas_get_num_threads(void);

const char *sg_blas_corename(void) { return openblas_get_corename(); }
int sg_blas_threads(void) { return openblas_get_num_threads(); }
