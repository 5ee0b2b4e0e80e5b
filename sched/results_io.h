/* Raw I/O the results store and its HDF5 writer share (sched/results_store.c). */
#ifndef SG_RESULTS_IO_H
#define SG_RESULTS_IO_H

#include <stddef.h>

/* write() all n bytes, retrying on EINTR; 0 or -1 with errno. */
int sg_store_write_all(int fd, const char *p, size_t n);
/* fsync the directory holding path, so a rename or a new entry in it survives a crash; 0 or -1 with errno. */
int sg_store_fsync_dir_of(const char *path);

#endif
