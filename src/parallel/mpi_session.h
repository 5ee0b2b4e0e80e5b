/* MPI for a process that may or may not have started it: `spikeglue run` initialises MPI only
 * when --dp or --tp asks for it, and whichever group comes up first owns it (finalises it last).
 * One place for "MPI_Init unless initialised; MPI_Finalize only if we did and nobody has". */
#ifndef SG_MPI_SESSION_H
#define SG_MPI_SESSION_H

/* MPI_Init unless MPI is initialised already; *owns = 1 when this call initialised it (else 0).
 * who names the caller in the one-line error ("data parallel: MPI_Init failed"). 0 or -1. */
int sg_mpi_session_begin(const char *who, int *owns);
/* MPI_Finalize when *owns and MPI is not finalised yet; *owns becomes 0 (a second call does nothing). */
void sg_mpi_session_end(int *owns);

#endif
