/* The machine's measured peak: GFLOP/s of a large square sgemm through the same BLAS. */
#include "blas/gemm.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 2048;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    for (long i = 0; i < (long)n * n; i++) a[i] = b[i] = (float)(i % 7) * 0.1f;
    double best = 1e30;
    for (int it = 0; it < 4; it++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        sg_gemm(0, 1, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
        if (s < best) best = s;
    }
    printf("{\"impl\": \"sgemm\", \"n\": %d, \"threads\": %d, \"blas_core\": \"%s\", \"gflops\": %.2f}\n", n,
           omp_get_max_threads(), sg_blas_corename(), 2.0 * n * n * n / best * 1e-9);
    free(a);
    free(b);
    free(c);
    return 0;
}
