#include "core/grow.h"

#include "core/error.h"

#include <stdint.h>
#include <stdlib.h>

/* The capacity that holds `need` elements of up to `elem` bytes: *cap (or `first`) doubled. */
static int next_capacity(size_t cap, size_t need, size_t elem, size_t first, size_t *out) {
    size_t n = cap ? cap : (first ? first : 1);
    while (n < need) {
        if (n > SIZE_MAX / 2) return sg_fail("out of memory (%zu elements)", need);
        n *= 2;
    }
    if (elem && n > SIZE_MAX / elem) return sg_fail("out of memory (%zu elements)", need);
    *out = n;
    return 0;
}

int sg_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first) {
    if (need <= *cap) return 0;
    size_t n = 0;
    if (next_capacity(*cap, need, elem, first, &n) != 0) return -1;
    void *q = realloc(*p, n * elem);
    if (!q) return sg_fail("out of memory (%zu elements of %zu bytes)", n, elem);
    *p = q;
    *cap = n;
    return 0;
}

int sg_grow_parallel(void *arrays[], const size_t elems[], int n, size_t *cap, size_t need, size_t first) {
    if (need <= *cap) return 0;
    size_t largest = 0, count = 0;
    for (int k = 0; k < n; k++)
        if (elems[k] > largest) largest = elems[k];
    if (next_capacity(*cap, need, largest, first, &count) != 0) return -1;
    for (int k = 0; k < n; k++) {
        void *q = realloc(arrays[k], count * elems[k]);
        if (!q) return sg_fail("out of memory (%zu elements of %zu bytes)", count, elems[k]);
        arrays[k] = q;
    }
    *cap = count;
    return 0;
}
