/* Whole-file reads with a size cap, paths and directories. Atomic writes (temp file, fsync,
 * rename) live in core/durable.h, included here for the many callers that do both. */
#ifndef SG_FILEIO_H
#define SG_FILEIO_H

#include "core/durable.h"

#include <stddef.h>
#include <stdio.h>

/* What a path names (stat, following symlinks), so messages can say "is a directory" rather
 * than "not found" when the user gave a folder where a file belongs (or the reverse). */
typedef enum { SG_PATH_MISSING, SG_PATH_FILE, SG_PATH_DIR, SG_PATH_OTHER } sg_path_kind;
sg_path_kind sg_path_kind_of(const char *path);
/* 0 when path is a regular file / a directory; otherwise -1 + one line naming path and what it
 * is instead ("is a directory, not a file", "no such file", ...). `what` (may be NULL) says
 * what the file is for, e.g. "dev split of task mrpc", and is appended in parentheses. */
int sg_require_file(const char *path, const char *what);
int sg_require_dir(const char *path, const char *what);
/* The error for an open(path) that failed with errno `err`: "cannot open: <reason>", except that
 * ENOTDIR names the path component that is a file ("m/model.safetensors: is a file, not a
 * directory"). Returns -1. */
int sg_fail_open(const char *path, int err);
/* fopen(path, "rb") of a regular file; NULL + the same one-line errors as sg_require_file. */
FILE *sg_open_read(const char *path);
/* Read a whole file (NUL-terminated copy; *len excludes the NUL). Refuses files over max_bytes. */
char *sg_read_file(const char *path, size_t max_bytes, size_t *len);
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
