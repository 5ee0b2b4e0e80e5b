/* One aligned block per model region (parameters, gradients, moments, activations), as llm.c does:
 * everything is carved out once at setup, so a training step never allocates. */
#ifndef SG_ARENA_H
#define SG_ARENA_H

#include <stddef.h>

typedef struct {
    float *base;
    size_t capacity; /* floats */
    size_t used;     /* floats */
} sg_arena;

/* Allocate a zeroed block of `floats` floats, 64-byte aligned. Returns 0 or -1 (sg_fail). */
int sg_arena_init(sg_arena *a, size_t floats);
/* Carve `n` floats, rounded up to a cache line. Aborts the process on overflow: sizes are
 * computed beforehand by the same code, so overflow is a programming error. */
float *sg_arena_take(sg_arena *a, size_t n);
void sg_arena_free(sg_arena *a);

/* Floats that sg_arena_take(n) consumes (for sizing passes). */
size_t sg_arena_round(size_t n);

#endif
