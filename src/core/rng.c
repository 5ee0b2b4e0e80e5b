#include "core/rng.h"

#include <math.h>

uint64_t sg_hash64(uint64_t x) { /* splitmix64 finaliser */
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t sg_stream_key(uint64_t seed, uint64_t stream) {
    return sg_hash64(seed ^ 0x5eedULL) ^ sg_hash64(stream * 0x100000001b3ULL + 0x51ULL);
}

static uint64_t counter_bits(uint64_t seed, uint64_t stream, uint64_t i) {
    return sg_hash64(sg_stream_key(seed, stream) ^ (i * 0xd1342543de82ef95ULL));
}

float sg_uniform(uint64_t seed, uint64_t stream, uint64_t i) {
    return (float)(counter_bits(seed, stream, i) >> 40) * (1.0f / 16777216.0f);
}

float sg_normal(uint64_t seed, uint64_t stream, uint64_t i) {
    uint64_t b = counter_bits(seed, stream, i);
    double u1 = ((double)(b >> 40) + 1.0) / 16777217.0; /* (0, 1] */
    double u2 = (double)(b & 0xffffffULL) / 16777216.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void sg_rng_seed(sg_rng *r, uint64_t seed) { r->state = seed; }

uint64_t sg_rng_next(sg_rng *r) {
    r->state += 0x9e3779b97f4a7c15ULL;
    uint64_t z = r->state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t sg_rng_below(sg_rng *r, uint64_t n) {
    if (n == 0) return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n; /* rejection keeps it unbiased */
    uint64_t x;
    do x = sg_rng_next(r);
    while (x >= limit);
    return x % n;
}
