/* Minimal test harness: CHECK* count and report; tests end with `return sg_test_done();`
 * which prints "N passed, N failed" and returns non-zero on any failure.
 * sg_test_skip() prints the reason and exits 77 (ctest: skipped). */
#ifndef SG_TESTLIB_H
#define SG_TESTLIB_H

#include <math.h>
#include <stdio.h>

extern int sg_test_passed, sg_test_failed;

#define CHECK(cond) sg_test_check((cond) != 0, __FILE__, __LINE__, #cond)
#define CHECK_MSG(cond, ...) (sg_test_check((cond) != 0, __FILE__, __LINE__, #cond) ? 1 : \
    (fprintf(stderr, "    "), fprintf(stderr, __VA_ARGS__), fprintf(stderr, "\n"), 0))
#define CHECK_NEAR(a, b, tol) do { double sg_a_ = (a), sg_b_ = (b); \
    if (!sg_test_check(fabs(sg_a_ - sg_b_) <= (tol), __FILE__, __LINE__, #a " ~ " #b)) \
        fprintf(stderr, "    %.9g vs %.9g (tol %g)\n", sg_a_, sg_b_, (double)(tol)); } while (0)

int sg_test_check(int ok, const char *file, int line, const char *what);
int sg_test_done(void);
void sg_test_skip(const char *reason);

/* Path to ../shared relative to the source dir (env SG_SOURCE_DIR, else cwd), or NULL if absent. */
const char *sg_test_shared_dir(void);
/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); removed by the caller if wanted. */
const char *sg_test_tmpdir(void);

#endif
