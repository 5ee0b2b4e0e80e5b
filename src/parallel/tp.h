/* Tensor parallelism (docs/tensor-parallel.md): a group of P MPI ranks shares every linear layer
 * of one model. It plugs into the model from above, as the model's linear backend
 * (model/linear_backend.h): the model never calls this layer. Each linear weight W[O, I] lives block-cyclically on a 1 x P BLACS grid — rank r
 * keeps the HF rows (output features) of the blocks it owns, and so do its gradient and AdamW
 * moments — and the products Y = X·Wᵀ, dX = dY·W, dW = dYᵀ·X go through PBLAS psgemm.
 * Activations stay replicated: LayerNorm, attention, softmax, dropout, quantizers and the
 * optimizer run on every rank on identical data (or on the local rows of a weight).
 *
 * Every function taking a group or a distributed model is collective over the group: all of its
 * ranks call it, in the same order. */
#ifndef SG_TP_H
#define SG_TP_H

#include "model/roberta.h"

#include <mpi.h>
#include <stddef.h>

typedef struct {
    MPI_Comm comm;      /* the group's ranks */
    int size, rank;     /* P, and this rank's place in the group (= its BLACS process column) */
    int group, groups;  /* this group's index in MPI_COMM_WORLD, and how many there are */
    int ictxt;          /* BLACS context: a 1 x P grid over comm */
    int blacs_handle, has_grid;
    int owns_mpi;       /* sg_tp_init called MPI_Init, so sg_tp_free calls MPI_Finalize */
} sg_tp_group;

/* Split MPI_COMM_WORLD into groups of P consecutive ranks (world size must be a multiple of P)
 * and set up the group's BLACS grid. Calls MPI_Init when MPI is not initialised yet. */
int sg_tp_init(int P, sg_tp_group *g);
/* Releases the grid and the communicator (and finalises MPI when sg_tp_init started it). */
void sg_tp_free(sg_tp_group *g);

/* Block sizes of the distribution. nb_features: output features (HF rows) of a weight per block;
 * nb_tokens: tokens per block of dX inside the backward product. */
typedef struct {
    int nb_features, nb_tokens;
} sg_tp_layout;
void sg_tp_layout_defaults(sg_tp_layout *l); /* 64, 32 */

/* Where a rank's time goes, for benchmarks. */
typedef struct {
    double gemm_seconds;   /* in psgemm: local products and PBLAS's own communication */
    double gather_seconds; /* in our all-gathers of distributed results */
    double gathered_bytes; /* received by those all-gathers */
    long products;
} sg_tp_stats;

typedef struct sg_tp_model sg_tp_model;

/* Distribute an ordinary model in place: keep only this rank's blocks of every linear weight
 * (and of its gradient and moments when training state exists). The group must outlive m.
 * layout NULL: defaults. Works for P = 1 too (every product then still goes through psgemm). */
int sg_tp_model_attach(sg_model *m, const sg_tp_group *g, const sg_tp_layout *layout);
/* The reverse: gather every distributed tensor on every rank, leaving an ordinary tp = 1 model
 * (identical on all ranks). Used before the spiking simulation, which does not run distributed. */
int sg_tp_model_detach(sg_model *m);
/* The model's tensor-parallel state; NULL when it is not distributed. */
sg_tp_model *sg_tp_of(const sg_model *m);

/* 1 when m is not distributed or this rank is its group's rank 0: the one that writes files. */
int sg_tp_is_writer(const sg_model *m);
const sg_tp_group *sg_tp_model_group(const sg_model *m); /* NULL when not distributed */
sg_tp_layout sg_tp_model_layout(const sg_model *m);
sg_tp_stats sg_tp_model_stats(const sg_model *m);
void sg_tp_model_reset_stats(sg_model *m);

/* Per tensor (idx: parameter table index). A distributed tensor holds local rows only. */
static inline int sg_tp_param_distributed(const sg_model *m, int idx) { return sg_model_param_distributed(m, idx); }
/* full [O, I] (HF layout) -> this rank's rows. */
void sg_tp_take_local(const sg_model *m, int idx, const float *full, float *local);
/* This rank's rows -> full [O, I] on group rank 0 (to_all: on every rank). full may be NULL
 * on ranks that do not receive it. Returns 0 or -1 (out of memory). */
int sg_tp_gather(const sg_model *m, int idx, const float *local, float *full, int to_all);

/* Sum of x over the group (x itself when not distributed). */
double sg_tp_allreduce_sum(const sg_model *m, double x);
/* Group rank 0's status, on every rank (so a collective save fails or succeeds everywhere). The
 * error message of rank 0 is kept on rank 0; other ranks get a short one. */
int sg_tp_agree_status(const sg_model *m, int rc);

/* The distributed products, same contracts as sg_linear_forward / sg_linear_backward (blas/gemm.h)
 * with W and dW holding this rank's rows only; inp, out, dout, dinp replicated (identical on
 * every rank before and after). */
void sg_tp_linear_forward(sg_tp_model *t, float *out, const float *inp, const float *W, const float *bias, int rows,
                          int in_dim, int out_dim);
void sg_tp_linear_backward(sg_tp_model *t, float *dinp, float dinp_beta, float *dW, float *dbias, const float *dout,
                           const float *inp, const float *W, int rows, int in_dim, int out_dim);

/* Block-cyclic bookkeeping over P ranks with blocks of nb (first block on rank 0). */
int sg_tp_owned(int n, int nb, int rank, int P);                                  /* numroc */
static inline int sg_tp_local_to_global(int j, int nb, int rank, int P) { return ((j / nb) * P + rank) * nb + j % nb; }
static inline int sg_tp_owner(int i, int nb, int P) { return (i / nb) % P; }
static inline int sg_tp_global_to_local(int i, int nb, int P) { return (i / (nb * P)) * nb + i % nb; }

#endif
