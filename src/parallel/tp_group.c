/* The run group: P consecutive world ranks, one communicator, one 1 x P BLACS grid.
 * Why 1 x P: activations are replicated, so only the weights are split, along one dimension
 * (output features). A 1-D grid keeps each rank's share of a weight as whole HF rows (cheap
 * gather on save, scatter on load, elementwise optimizer), lets psgemm take the replicated
 * activations as replicated operands (CSRC = -1), and works for any P — a near-square grid needs
 * P composite and pays off only for matrices much larger than RoBERTa's (docs/tensor-parallel.md). */
#include "parallel/scalapack.h"
#include "parallel/tp.h"

#include "core/error.h"
#include "parallel/mpi_session.h"

#include <string.h>

int sg_tp_owned(int n, int nb, int rank, int P) {
    int src = 0;
    return numroc_(&n, &nb, &rank, &src, &P);
}

void sg_tp_layout_defaults(sg_tp_layout *l) {
    l->nb_features = 64;
    l->nb_tokens = 32;
}

int sg_tp_init(int P, sg_tp_group *g) {
    memset(g, 0, sizeof *g);
    g->comm = MPI_COMM_NULL;
    if (sg_mpi_session_begin("tensor parallel", &g->owns_mpi)) return -1;
    int world, me;
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    if (P < 1 || world % P != 0) {
        int rc = sg_fail("--tp %d: the %d MPI ranks do not split into groups of %d", P, world, P);
        sg_tp_free(g);
        return rc;
    }
    g->groups = world / P;
    g->group = me / P;
    if (MPI_Comm_split(MPI_COMM_WORLD, g->group, me, &g->comm) != MPI_SUCCESS) {
        int rc = sg_fail("tensor parallel: MPI_Comm_split failed");
        sg_tp_free(g);
        return rc;
    }
    MPI_Comm_size(g->comm, &g->size);
    MPI_Comm_rank(g->comm, &g->rank);
    /* BLACS numbers the processes of a context by their rank in comm; a row-major 1 x P grid
     * then puts group rank r in process column r. */
    g->blacs_handle = Csys2blacs_handle(g->comm);
    g->ictxt = g->blacs_handle;
    Cblacs_gridinit(&g->ictxt, "Row", 1, P);
    g->has_grid = 1;
    int nprow, npcol, myrow, mycol;
    Cblacs_gridinfo(g->ictxt, &nprow, &npcol, &myrow, &mycol);
    if (nprow != 1 || npcol != P || myrow != 0 || mycol != g->rank) {
        int rc = sg_fail("tensor parallel: BLACS grid %dx%d, this rank at (%d,%d), expected 1x%d at (0,%d)", nprow, npcol,
                         myrow, mycol, P, g->rank);
        sg_tp_free(g);
        return rc;
    }
    return 0;
}

void sg_tp_free(sg_tp_group *g) {
    if (g->has_grid) {
        Cblacs_gridexit(g->ictxt);
        Cfree_blacs_system_handle(g->blacs_handle);
        Cblacs_exit(1); /* BLACS's own buffers; 1: MPI stays up */
    }
    if (g->comm != MPI_COMM_NULL && g->comm != 0) MPI_Comm_free(&g->comm);
    sg_mpi_session_end(&g->owns_mpi);
    memset(g, 0, sizeof *g);
    g->comm = MPI_COMM_NULL;
}
