/* Durable writes, the one copy: write every byte, replace a file atomically (a temp file beside
 * it, fsync, rename, fsync of the directory), so that a crash leaves the old file or the new one,
 * never half of one, and a rename that returned survives a power cut. */
#ifndef SG_DURABLE_H
#define SG_DURABLE_H

#include <stddef.h>

/* write() all n bytes to fd, retrying on EINTR and short writes; 0 or -1 with errno. */
int sg_write_all_fd(int fd, const void *p, size_t n);
/* fsync the directory holding path, so a rename or a new entry in it survives a crash.
 * 0 or -1 with errno; a filesystem that cannot sync directories (EINVAL, ENOTSUP) counts as
 * done. */
int sg_fsync_dir_of(const char *path);

/* Which temp file an atomic replace writes before renaming it over path. */
typedef enum {
    SG_TEMP_PER_PROCESS, /* path.tmp.<pid>: writers in different processes never share one */
    SG_TEMP_FIXED,       /* path.tmp: the caller holds a lock; a killed writer's leftover is reused */
} sg_temp_name;

/* One file being replaced: open, write pieces, then commit (or abort). Any failure records one
 * line "<path>: cannot <step> temp file '<tmp>': <reason>", removes the temp file and leaves
 * the old file as it was. */
typedef struct {
    int fd; /* -1 when not open */
    const char *path; /* the caller's string, kept until commit / abort */
    char tmp[4200];
} sg_atomic_file;

int sg_atomic_open(sg_atomic_file *af, const char *path, sg_temp_name temp);
/* After a failure the file is aborted: later writes and the commit fail without a new message. */
int sg_atomic_write(sg_atomic_file *af, const void *p, size_t n);
int sg_atomic_commit(sg_atomic_file *af);
/* Drop the temp file (safe after a failed step, and twice). */
void sg_atomic_abort(sg_atomic_file *af);

/* The whole file in one call (SG_TEMP_PER_PROCESS). 0, or -1 with the message above. */
int sg_write_file_atomic(const char *path, const void *data, size_t len);

#endif
