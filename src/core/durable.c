#include "core/durable.h"

#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int sg_write_all_fd(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int sg_fsync_dir_of(const char *path) {
    char dir[4200];
    if ((size_t)snprintf(dir, sizeof dir, "%s", path) >= sizeof dir) {
        errno = ENAMETOOLONG;
        return -1;
    }
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = '\0';
    else if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0 && (e == EINVAL || e == ENOTSUP)) rc = 0; /* this filesystem does not sync directories */
    errno = e;
    return rc;
}

/* Record "<path>: cannot <step> temp file '<tmp>': <reason>", drop the temp file; -1. */
static int fail_step(sg_atomic_file *af, const char *step, int err) {
    int rc = sg_fail("%s: cannot %s temp file '%s': %s", af->path, step, af->tmp, strerror(err ? err : EIO));
    sg_atomic_abort(af);
    return rc;
}

int sg_atomic_open(sg_atomic_file *af, const char *path, sg_temp_name temp) {
    af->fd = -1;
    af->path = path;
    int w = temp == SG_TEMP_FIXED ? snprintf(af->tmp, sizeof af->tmp, "%s.tmp", path)
                                  : snprintf(af->tmp, sizeof af->tmp, "%s.tmp.%ld", path, (long)getpid());
    if (w < 0 || (size_t)w >= sizeof af->tmp) {
        af->tmp[0] = '\0';
        return sg_fail("%.200s...: path too long", path);
    }
    af->fd = open(af->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (af->fd < 0) {
        int rc = sg_fail("%s: cannot create temp file '%s': %s", path, af->tmp, strerror(errno));
        af->tmp[0] = '\0'; /* not ours: never remove what another writer may have put there */
        return rc;
    }
    return 0;
}

int sg_atomic_write(sg_atomic_file *af, const void *p, size_t n) {
    if (af->fd < 0) return -1;
    return sg_write_all_fd(af->fd, p, n) == 0 ? 0 : fail_step(af, "write", errno);
}

int sg_atomic_commit(sg_atomic_file *af) {
    if (af->fd < 0) return -1;
    if (fsync(af->fd) != 0) return fail_step(af, "fsync", errno);
    int rc = close(af->fd);
    af->fd = -1;
    if (rc != 0) return fail_step(af, "close", errno);
    if (rename(af->tmp, af->path) != 0) return fail_step(af, "rename", errno);
    af->tmp[0] = '\0'; /* it is the file now: nothing to remove */
    if (sg_fsync_dir_of(af->path) != 0)
        return sg_fail("%s: cannot fsync its directory after the rename: %s", af->path, strerror(errno));
    return 0;
}

void sg_atomic_abort(sg_atomic_file *af) {
    if (af->fd >= 0) close(af->fd);
    af->fd = -1;
    if (af->tmp[0]) unlink(af->tmp);
    af->tmp[0] = '\0';
}

int sg_write_file_atomic(const char *path, const void *data, size_t len) {
    sg_atomic_file af;
    if (sg_atomic_open(&af, path, SG_TEMP_PER_PROCESS) != 0 || sg_atomic_write(&af, data, len) != 0) return -1;
    return sg_atomic_commit(&af);
}
