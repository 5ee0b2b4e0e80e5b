/* Counter-based random numbers: value i of stream (seed, stream) is a pure function of its
 * arguments, so dropout masks and initialisation are identical for any thread count and
 * need no stored state (masks are regenerated in backward instead of kept). */
#ifndef SG_RNG_H
#define SG_RNG_H

#include <stdint.h>

uint64_t sg_hash64(uint64_t x);
/* Uniform in [0, 1) with 24 bits of resolution. */
float sg_uniform(uint64_t seed, uint64_t stream, uint64_t i);
/* The same numbers with the (seed, stream) part hashed once: sg_uniform_at(sg_stream_key(s, t), i)
 * == sg_uniform(s, t, i). For loops over i. */
uint64_t sg_stream_key(uint64_t seed, uint64_t stream);
static inline float sg_uniform_at(uint64_t key, uint64_t i) {
    uint64_t x = key ^ (i * 0xd1342543de82ef95ULL);
    x += 0x9e3779b97f4a7c15ULL; /* sg_hash64, inlined for the dropout loops */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (float)(int32_t)(x >> 40) * (1.0f / 16777216.0f); /* 24 bits: exact as int32, which vectorizes */
}
/* Standard normal (Box-Muller on two uniforms of the same counter). */
float sg_normal(uint64_t seed, uint64_t stream, uint64_t i);

/* A small sequential generator for shuffling (splitmix64). */
typedef struct { uint64_t state; } sg_rng;
void sg_rng_seed(sg_rng *r, uint64_t seed);
uint64_t sg_rng_next(sg_rng *r);
/* Uniform integer in [0, n). */
uint64_t sg_rng_below(sg_rng *r, uint64_t n);

#endif
