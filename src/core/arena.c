#include "core/arena.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SG_ALIGN_FLOATS 16 /* 64 bytes */

size_t sg_arena_round(size_t n) { return (n + SG_ALIGN_FLOATS - 1) / SG_ALIGN_FLOATS * SG_ALIGN_FLOATS; }

int sg_arena_init(sg_arena *a, size_t floats) {
    a->base = NULL;
    a->capacity = 0;
    a->used = 0;
    if (floats == 0) floats = SG_ALIGN_FLOATS;
    size_t bytes = sg_arena_round(floats) * sizeof(float);
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes) != 0)
        return sg_fail("out of memory allocating %.1f MiB", (double)bytes / (1024.0 * 1024.0));
    memset(p, 0, bytes);
    a->base = p;
    a->capacity = sg_arena_round(floats);
    return 0;
}

float *sg_arena_take(sg_arena *a, size_t n) {
    size_t r = sg_arena_round(n);
    if (a->used + r > a->capacity) {
        fprintf(stderr, "spikeglue: internal error: arena overflow (%zu + %zu > %zu floats)\n", a->used, r, a->capacity);
        abort();
    }
    float *p = a->base + a->used;
    a->used += r;
    return p;
}

void sg_arena_free(sg_arena *a) {
    free(a->base);
    a->base = NULL;
    a->capacity = a->used = 0;
}
