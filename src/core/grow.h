/* Growing arrays: the one copy of "double the capacity until it holds `need` elements". */
#ifndef SG_GROW_H
#define SG_GROW_H

#include <stddef.h>

/* Make *p (of *cap elements of `elem` bytes) hold at least `need`, starting from `first` and
 * doubling. 0, or -1 with sg_fail("out of memory …") and *p, *cap unchanged. */
int sg_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first);

#endif
