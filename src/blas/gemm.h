/* The one place where local matrix products happen. Every product of the model goes through
 * sg_gemm (row-major); a tensor-parallel model's linear layers go through PBLAS instead
 * (parallel/tp.h), chosen per layer by model/linear.c. */
#ifndef SG_GEMM_H
#define SG_GEMM_H

/* C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, row-major with leading dimensions. */
void sg_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
             int ldb, float beta, float *C, int ldc);
/* Products sg_gemm has issued in this process, every thread's: how many BLAS calls a pass makes
 * (each call packs its operands again; tests/unit/test_eval_forward.c counts them). */
unsigned long sg_gemm_calls(void);

/* out[N, O] = inp[N, I] * W[O, I]^T + bias[O] (bias may be NULL). */
void sg_linear_forward(float *out, const float *inp, const float *W, const float *bias, int N, int I, int O);
/* out[N, O] = (residual[N, O] + bias[O]) + inp[N, I] * W[O, I]^T (bias may be NULL): a linear layer
 * and the residual add after it, the sum formed where the product starts from (out != residual). */
void sg_linear_forward_residual(float *out, const float *inp, const float *W, const float *bias, const float *residual,
                                int N, int I, int O);
/* dinp[N, I] = dinp_beta * dinp + dout * W (skipped when dinp is NULL);
 * dW[O, I] += dout^T * inp; dbias[O] += column sums of dout (skipped when NULL). */
void sg_linear_backward(float *dinp, float dinp_beta, float *dW, float *dbias, const float *dout, const float *inp,
                        const float *W, int N, int I, int O);
/* dbias[O] += column sums of dout[N, O]. */
void sg_bias_backward(float *dbias, const float *dout, int N, int out_dim);

/* OpenBLAS's kernel name and thread count, for logs and benchmarks. */
const char *sg_blas_corename(void);
int sg_blas_threads(void);
/* When OpenBLAS fell back to its SSE3 kernel on a CPU with AVX-512/AVX2, set OPENBLAS_CORETYPE
 * and re-execute (call first thing in main; set SG_KEEP_BLAS_CORE=1 to opt out). */
void sg_blas_fix_core(char **argv);
/* A note for logs when the kernel was forced (else ""). */
const char *sg_blas_core_note(void);

#endif
