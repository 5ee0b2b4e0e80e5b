#include "core/grow.h"

#include "core/error.h"

#include <stdint.h>
#include <stdlib.h>

int sg_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first) {
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : (first ? first : 1);
    while (n < need) {
        if (n > SIZE_MAX / 2) return sg_fail("out of memory (%zu elements)", need);
        n *= 2;
    }
    if (elem && n > SIZE_MAX / elem) return sg_fail("out of memory (%zu elements)", need);
    void *q = realloc(*p, n * elem);
    if (!q) return sg_fail("out of memory (%zu elements of %zu bytes)", n, elem);
    *p = q;
    *cap = n;
    return 0;
}
