#include "testlib.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int sg_test_passed = 0, sg_test_failed = 0;

int sg_test_check(int ok, const char *file, int line, const char *what) {
    if (ok) {
        sg_test_passed++;
        return 1;
    }
    sg_test_failed++;
    fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
    return 0;
}

int sg_test_done(void) {
    printf("%d passed, %d failed\n", sg_test_passed, sg_test_failed);
    return sg_test_failed ? 1 : 0;
}

void sg_test_skip(const char *reason) {
    printf("SKIP: %s\n", reason);
    exit(77);
}

const char *sg_test_shared_dir(void) {
    static char path[4096];
    const char *src = getenv("SG_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/../shared", src ? src : ".");
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
    return path;
}

const char *sg_test_tmpdir(void) {
    static _Thread_local char path[4096];
    const char *t = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/sgtest.XXXXXX", t ? t : "/tmp");
    if (!mkdtemp(path)) return NULL;
    return path;
}
