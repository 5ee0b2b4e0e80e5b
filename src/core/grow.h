/* Growing arrays: the one copy of "double the capacity until it holds `need` elements". */
#ifndef SG_GROW_H
#define SG_GROW_H

#include <stddef.h>

/* Make *p (of *cap elements of `elem` bytes) hold at least `need`, starting from `first` and
 * doubling. 0, or -1 with sg_fail("out of memory …") and *p, *cap unchanged. */
int sg_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first);
/* Parallel arrays sharing one capacity *cap (in elements): make every arrays[k] (elements of
 * elems[k] bytes) hold at least `need`, the capacity chosen as sg_grow chooses it. 0, or -1 with
 * sg_fail("out of memory …") and *cap unchanged; arrays already moved are updated in arrays[]
 * either way, so the caller stores arrays[] back whatever the result. */
int sg_grow_parallel(void *arrays[], const size_t elems[], int n, size_t *cap, size_t need, size_t first);

#endif
