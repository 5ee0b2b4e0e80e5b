#include "blas/gemm.h"

#include <cblas.h>
#include <string.h>

void sg_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
             int ldb, float beta, float *C, int ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha,
                A, lda, B, ldb, beta, C, ldc);
}

void sg_linear_forward(float *out, const float *inp, const float *W, const float *bias, int N, int in_dim, int out_dim) {
    float beta = 0.0f;
    if (bias) { /* start from the bias so the product accumulates onto it: one pass fewer */
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * out_dim, bias, sizeof(float) * (size_t)out_dim);
        beta = 1.0f;
    }
    sg_gemm(0, 1, N, out_dim, in_dim, 1.0f, inp, in_dim, W, in_dim, beta, out, out_dim);
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
