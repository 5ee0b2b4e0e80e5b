/* MPI_Init / MPI_Finalize on demand (parallel/mpi_session.h). */
#include "parallel/mpi_session.h"

#include "core/error.h"

#include <mpi.h>

int sg_mpi_session_begin(const char *who, int *owns) {
    *owns = 0;
    int ready = 0;
    MPI_Initialized(&ready);
    if (ready) return 0;
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) return sg_fail("%s: MPI_Init failed", who);
    *owns = 1;
    return 0;
}

void sg_mpi_session_end(int *owns) {
    if (!*owns) return;
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();
    *owns = 0;
}
