/* Whole-file reads with a size cap, and atomic writes (temp file, fsync, rename) so that a
 * crash never leaves a half-written result behind. */
#ifndef SG_FILEIO_H
#define SG_FILEIO_H

#include <stddef.h>

/* Read a whole file (NUL-terminated copy; *len excludes the NUL). Refuses files over max_bytes. */
char *sg_read_file(const char *path, size_t max_bytes, size_t *len);
int sg_write_file_atomic(const char *path, const void *data, size_t len);
/* mkdir -p */
int sg_mkdirs(const char *path);
int sg_path_join(char *out, size_t n, const char *dir, const char *name);
int sg_is_dir(const char *path);
int sg_is_file(const char *path);
/* rm -rf (never follows symlinks out of the tree). */
int sg_remove_tree(const char *path);
/* A directory that exists and holds at least one entry. */
int sg_dir_nonempty(const char *path);
int sg_copy_file(const char *from, const char *to);

#endif
