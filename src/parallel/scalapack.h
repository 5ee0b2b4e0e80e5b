/* The few ScaLAPACK / PBLAS / BLACS entry points tensor parallelism uses (Debian's
 * libscalapack-openmpi, BLACS included). The library ships no C header, so they are declared
 * here: Fortran symbols take every argument by pointer; the Cblacs_* ones are BLACS's C interface. */
#ifndef SG_SCALAPACK_H
#define SG_SCALAPACK_H

#include <mpi.h>

/* Array descriptor entries (ScaLAPACK's DLEN_ = 9, type BLOCK_CYCLIC_2D = 1). Descriptors are
 * filled by hand rather than by descinit_, which refuses the replicated form (RSRC/CSRC = -1)
 * that PBLAS itself accepts. */
enum { SG_DTYPE_, SG_CTXT_, SG_M_, SG_N_, SG_MB_, SG_NB_, SG_RSRC_, SG_CSRC_, SG_LLD_, SG_DLEN_ };

/* C(IC:, JC:) = alpha * op(A) * op(B) + beta * C on block-cyclic (or replicated: RSRC/CSRC = -1) operands. */
void psgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k, const float *alpha,
             const float *a, const int *ia, const int *ja, const int *desca, const float *b, const int *ib,
             const int *jb, const int *descb, const float *beta, float *c, const int *ic, const int *jc,
             const int *descc);
/* The checked descriptor constructor (unused here, see above). */
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb, const int *irsrc,
               const int *icsrc, const int *ictxt, const int *lld, int *info);
/* Rows (or columns) of an n-long dimension in blocks of nb that process iproc owns (first block on isrcproc). */
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);

int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
void Cblacs_gridinit(int *ictxt, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int ictxt, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int ictxt);
void Cblacs_exit(int notdone);

#endif
