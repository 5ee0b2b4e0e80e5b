/* MPI on demand (parallel/mpi_session.h): the first group to come up owns MPI, a later one does
 * not, and only the owner's end finalises it — once. */
#include "testlib.h"

#include "parallel/mpi_session.h"

#include <mpi.h>

static int initialized(void) {
    int v = 0;
    MPI_Initialized(&v);
    return v;
}
static int finalized(void) {
    int v = 0;
    MPI_Finalized(&v);
    return v;
}

int main(void) {
    int first = -1, second = -1;
    CHECK(!initialized());
    CHECK(sg_mpi_session_begin("first", &first) == 0);
    CHECK(first == 1 && initialized());
    CHECK(sg_mpi_session_begin("second", &second) == 0);
    CHECK(second == 0); /* MPI was up already: not its to finalise */
    sg_mpi_session_end(&second);
    CHECK(initialized() && !finalized());
    sg_mpi_session_end(&first);
    CHECK(first == 0 && finalized());
    sg_mpi_session_end(&first); /* a second end does nothing (MPI_Finalize twice is an error) */
    CHECK(finalized());
    return sg_test_done();
}
