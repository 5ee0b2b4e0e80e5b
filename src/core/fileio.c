#define _XOPEN_SOURCE 700 /* nftw; before any header, which fileio.h includes */
#include "core/fileio.h"
#include "core/error.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

sg_path_kind sg_path_kind_of(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return SG_PATH_MISSING;
    return S_ISREG(st.st_mode) ? SG_PATH_FILE : S_ISDIR(st.st_mode) ? SG_PATH_DIR : SG_PATH_OTHER;
}

/* "<path>: <problem>[ (<what>)]" */
static int fail_path(const char *path, const char *problem, const char *what) {
    return what && *what ? sg_fail("%s: %s (%s)", path, problem, what) : sg_fail("%s: %s", path, problem);
}

int sg_fail_open(const char *path, int err) {
    if (err == ENOTDIR) { /* "a/model.safetensors/model.safetensors": name the file used as a folder */
        char prefix[4096];
        snprintf(prefix, sizeof prefix, "%s", path);
        for (char *slash = strrchr(prefix, '/'); slash && slash > prefix; slash = strrchr(prefix, '/')) {
            *slash = '\0';
            if (sg_path_kind_of(prefix) == SG_PATH_FILE)
                return sg_fail("%s: is a file, not a directory (in the path %s)", prefix, path);
        }
    }
    return sg_fail("%s: cannot open: %s", path, strerror(err));
}

/* After a failed stat: ENOENT is `absent`; anything else (EACCES, ENOTDIR, ...) gives its reason. */
static int fail_missing(const char *path, const char *absent, const char *what) {
    int e = errno;
    if (e == ENOENT) return fail_path(path, absent, what);
    return sg_fail_open(path, e);
}

/* 0 when path is `want` (a file or a directory); else one line saying what it is instead. */
static int require_kind(const char *path, sg_path_kind want, const char *what) {
    int file = want == SG_PATH_FILE;
    switch (sg_path_kind_of(path)) {
    case SG_PATH_FILE: return file ? 0 : fail_path(path, "is a file, not a directory", what);
    case SG_PATH_DIR: return file ? fail_path(path, "is a directory, not a file", what) : 0;
    case SG_PATH_OTHER: return fail_path(path, file ? "not a regular file" : "not a directory", what);
    default: break;
    }
    return fail_missing(path, file ? "no such file" : "no such directory", what);
}

int sg_require_file(const char *path, const char *what) { return require_kind(path, SG_PATH_FILE, what); }
int sg_require_dir(const char *path, const char *what) { return require_kind(path, SG_PATH_DIR, what); }

/* fopen(path, "rb") of a regular file, its stat in *st; NULL + the one-line error. */
static FILE *open_regular(const char *path, struct stat *st) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        /* fopen(dir, "rb") succeeds on Linux; a failure that names a directory is EISDIR elsewhere */
        if (sg_path_kind_of(path) == SG_PATH_DIR) sg_require_file(path, NULL);
        else sg_fail_open(path, e);
        return NULL;
    }
    if (fstat(fileno(f), st) != 0) {
        int e = errno;
        fclose(f);
        sg_fail("%s: cannot stat: %s", path, strerror(e));
        return NULL;
    }
    if (!S_ISREG(st->st_mode)) {
        fclose(f);
        sg_fail("%s: %s", path, S_ISDIR(st->st_mode) ? "is a directory, not a file" : "not a regular file");
        return NULL;
    }
    return f;
}

FILE *sg_open_read(const char *path) {
    struct stat st;
    return open_regular(path, &st);
}

char *sg_read_file(const char *path, size_t max_bytes, size_t *len) {
    struct stat st;
    FILE *f = open_regular(path, &st);
    if (!f) return NULL;
    if ((unsigned long long)st.st_size > max_bytes) {
        fclose(f);
        sg_fail("%s: file is %lld bytes, more than the %zu allowed", path, (long long)st.st_size, max_bytes);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        fclose(f);
        sg_fail("%s: out of memory", path);
        return NULL;
    }
    size_t got = fread(buf, 1, n, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != n) {
        free(buf);
        sg_fail("%s: read error", path);
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

int sg_mkdirs(const char *path) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return sg_fail("%s: path too long", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return sg_fail("%s: cannot create directory: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return sg_fail("%s: cannot create directory: %s", buf, strerror(errno));
    if (!sg_is_dir(buf)) return sg_fail("%s: exists and is not a directory", buf);
    return 0;
}

int sg_path_join(char *out, size_t n, const char *dir, const char *name) {
    int w = snprintf(out, n, "%s/%s", dir, name);
    if (w < 0 || (size_t)w >= n) return sg_fail("%s/%s: path too long", dir, name);
    return 0;
}

int sg_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int sg_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 || errno == ENOENT ? 0 : -1;
}

int sg_remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : sg_fail("%s: %s", path, strerror(errno));
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) return sg_fail("%s: cannot remove: %s", path, strerror(errno));
    return 0;
}

int sg_dir_nonempty(const char *path) {
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d)))
        found = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return found;
}

int sg_copy_file(const char *from, const char *to) {
    size_t len;
    char *data = sg_read_file(from, (size_t)1 << 34, &len);
    if (!data) return -1;
    int rc = sg_write_file_atomic(to, data, len);
    free(data);
    return rc;
}
