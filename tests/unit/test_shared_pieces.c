/* The small shared pieces of issue #17: durable writes (core/durable.h: write all, atomic
 * replace, directory fsync), growing parallel arrays (core/grow.h) and the token-id list
 * (data/token_ids.h, on core/grow.h). */
#include "core/durable.h"
#include "core/error.h"
#include "core/fileio.h"
#include "core/grow.h"
#include "data/token_ids.h"
#include "testlib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char *g_dir;

static int count_entries(void) {
    DIR *d = opendir(g_dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

static int has(const char *needle) { return strstr(sg_last_error(), needle) != NULL; }

/* path holds exactly `want` */
static int holds(const char *path, const char *want) {
    size_t len = 0;
    char *got = sg_read_file(path, 1 << 20, &len);
    int same = got && len == strlen(want) && memcmp(got, want, len) == 0;
    free(got);
    return same;
}

static void test_ids_reserve(void) {
    sg_ids v = {0};
    CHECK(sg_ids_reserve(&v, 100) == 0 && v.cap >= 100 && v.data);
    for (size_t i = 0; i < 100; i++) v.data[i] = (int32_t)i; /* ASan: all of it is there */
    size_t cap = v.cap;
    CHECK(sg_ids_reserve(&v, 3) == 0 && v.cap == cap); /* never shrinks */
    /* A count whose bytes overflow size_t is refused, not wrapped into a tiny allocation that
     * then claims 2^63 ids of room (the copy in tokenizer_frame.c returned 0 here). */
    int32_t *before = v.data;
    sg_clear_error();
    CHECK_MSG(sg_ids_reserve(&v, ((size_t)1 << 62) + 1) == -1, "reserve of 2^62+1 ids succeeded, cap %zu", v.cap);
    CHECK_MSG(has("out of memory") && has("token ids"), "%s", sg_last_error());
    CHECK(v.cap == cap && v.data == before && v.data[99] == 99);
    sg_ids_free(&v);
    CHECK(v.data == NULL && v.cap == 0 && v.len == 0);
}

static void test_grow_parallel(void) {
    void *arrays[2] = {NULL, NULL};
    const size_t elems[2] = {sizeof(int32_t), 3 * sizeof(uint64_t)};
    size_t cap = 0;
    CHECK(sg_grow_parallel(arrays, elems, 2, &cap, 5, 4) == 0 && cap == 8 && arrays[0] && arrays[1]);
    for (int i = 0; i < 8; i++) ((int32_t *)arrays[0])[i] = i, ((uint64_t *)arrays[1])[3 * i + 2] = (uint64_t)i << 40;
    CHECK(sg_grow_parallel(arrays, elems, 2, &cap, 8, 4) == 0 && cap == 8); /* already enough */
    CHECK(sg_grow_parallel(arrays, elems, 2, &cap, 9, 4) == 0 && cap == 16);
    CHECK(((int32_t *)arrays[0])[7] == 7 && ((uint64_t *)arrays[1])[3 * 7 + 2] == (uint64_t)7 << 40); /* kept */
    ((uint64_t *)arrays[1])[3 * 15 + 2] = 1; /* ASan: the largest element size decided nothing short */
    /* The widest element's bytes overflow: refused before any allocation, the capacity unchanged. */
    sg_clear_error();
    CHECK(sg_grow_parallel(arrays, elems, 2, &cap, SIZE_MAX / 16, 4) == -1 && cap == 16 && has("out of memory"));
    CHECK(((int32_t *)arrays[0])[7] == 7);
    free(arrays[0]);
    free(arrays[1]);
}

static void test_atomic_replace(void) {
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/a.json", g_dir);
    CHECK_MSG(sg_write_file_atomic(path, "hello", 5) == 0, "%s", sg_last_error());
    CHECK(holds(path, "hello") && count_entries() == 1);
    CHECK(sg_write_file_atomic(path, "replaced", 8) == 0 && holds(path, "replaced") && count_entries() == 1);

    /* The temp file is path.tmp.<pid> while open, gone after the commit. */
    sg_atomic_file af;
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK(sg_atomic_open(&af, path, SG_TEMP_PER_PROCESS) == 0 && sg_is_file(tmp));
    CHECK(sg_atomic_write(&af, "one ", 4) == 0 && sg_atomic_write(&af, "", 0) == 0 && sg_atomic_write(&af, "two", 3) == 0);
    CHECK(holds(path, "replaced")); /* nothing visible before the commit */
    CHECK(sg_atomic_commit(&af) == 0 && holds(path, "one two") && !sg_is_file(tmp) && count_entries() == 1);

    /* Abort: the old file stays, the temp file goes; aborting twice is harmless. */
    CHECK(sg_atomic_open(&af, path, SG_TEMP_FIXED) == 0);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(sg_is_file(tmp) && sg_atomic_write(&af, "junk", 4) == 0);
    sg_atomic_abort(&af);
    sg_atomic_abort(&af);
    CHECK(holds(path, "one two") && !sg_is_file(tmp) && count_entries() == 1);
}

static void test_failed_writes(void) {
    char path[4200], tmp[4300], target[4300];
    snprintf(path, sizeof path, "%s/b.h5", g_dir);
    CHECK(sg_write_file_atomic(path, "old", 3) == 0);
    int entries = count_entries();

    /* Cannot create the temp file (a dangling symlink into a missing folder squats on it): one
     * line naming the file, the temp file and the reason; what squats there is not ours to remove. */
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(target, sizeof target, "%s/no/such/dir/x", g_dir);
    CHECK(symlink(target, tmp) == 0);
    sg_atomic_file af;
    CHECK(sg_atomic_open(&af, path, SG_TEMP_FIXED) == -1);
    CHECK_MSG(has("b.h5: cannot create temp file") && has("b.h5.tmp") && has("No such file or directory") &&
                  !strchr(sg_last_error(), '\n'),
              "%s", sg_last_error());
    char link[4300] = "";
    CHECK(readlink(tmp, link, sizeof link - 1) > 0 && !strcmp(link, target));
    CHECK(sg_atomic_write(&af, "x", 1) == -1 && sg_atomic_commit(&af) == -1); /* no second message, no crash */
    sg_atomic_abort(&af);
    CHECK(unlink(tmp) == 0 && count_entries() == entries && holds(path, "old"));

    /* The disk fills up while writing: the reason, the old file intact, no temp file behind. */
    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 4096;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    static char big[1 << 16];
    memset(big, 'x', sizeof big);
    int rc = sg_write_file_atomic(path, big, sizeof big);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, SIG_DFL);
    CHECK(rc == -1);
    CHECK_MSG(has("b.h5: cannot write temp file") && has("File too large"), "%s", sg_last_error());
    CHECK(holds(path, "old") && count_entries() == entries);

    /* A rename onto a directory fails after the data was written: the temp file is removed. */
    char dir_path[4200];
    snprintf(dir_path, sizeof dir_path, "%s/c.d", g_dir);
    CHECK(sg_mkdirs(dir_path) == 0 && sg_write_file_atomic(dir_path, "x", 1) == -1);
    CHECK_MSG(has("c.d: cannot rename temp file") && has("Is a directory"), "%s", sg_last_error());
    CHECK(sg_is_dir(dir_path) && count_entries() == entries + 1);
}

static void test_write_all_and_fsync_dir(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/raw.bin", g_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    static char data[3 << 20]; /* more than one write() may take at once on some filesystems */
    for (size_t i = 0; i < sizeof data; i++) data[i] = (char)(i * 7 + i / 4096);
    CHECK(sg_write_all_fd(fd, data, sizeof data) == 0 && sg_write_all_fd(fd, data, 0) == 0);
    CHECK(close(fd) == 0);
    size_t len = 0;
    char *back = sg_read_file(path, sizeof data, &len);
    CHECK(back && len == sizeof data && memcmp(back, data, len) == 0);
    free(back);
    CHECK(sg_write_all_fd(-1, "x", 1) == -1 && errno == EBADF);

    CHECK(sg_fsync_dir_of(path) == 0);
    char missing[4300];
    snprintf(missing, sizeof missing, "%s/no/such/file", g_dir);
    errno = 0;
    CHECK(sg_fsync_dir_of(missing) == -1 && errno == ENOENT);
    CHECK(sg_fsync_dir_of("relative-name-in-cwd") == 0); /* the directory is "." */
    CHECK(sg_fsync_dir_of("/top-level") == 0);           /* the directory is "/" */
}

int main(void) {
    g_dir = sg_test_tmpdir();
    if (!g_dir) sg_test_skip("cannot create a temporary directory");
    test_ids_reserve();
    test_grow_parallel();
    test_atomic_replace();
    test_failed_writes();
    test_write_all_and_fsync_dir();
    sg_remove_tree(g_dir);
    return sg_test_done();
}
