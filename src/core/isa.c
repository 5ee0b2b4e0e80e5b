#include "core/isa.h"

#include "core/error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const NAMES[SG_ISA_COUNT] = {"generic", "avx2", "avx512"};

const char *sg_isa_name(sg_isa isa) { return (unsigned)isa < SG_ISA_COUNT ? NAMES[isa] : "?"; }

int sg_isa_supported(sg_isa isa) {
    if (isa == SG_ISA_GENERIC) return 1;
#if defined(__x86_64__) && defined(__GNUC__)
    /* the feature sets the kernels are compiled for (src/core/simd.h): x86-64-v3 and -v4;
     * __builtin_cpu_supports also checks that the OS saves the wide registers */
    __builtin_cpu_init();
    int v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2") &&
             __builtin_cpu_supports("popcnt");
    if (isa == SG_ISA_AVX2) return v3;
    if (isa == SG_ISA_AVX512)
        return v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#endif
    return 0;
}

sg_isa sg_isa_best(void) {
    for (int i = SG_ISA_COUNT - 1; i > 0; i--)
        if (sg_isa_supported((sg_isa)i)) return (sg_isa)i;
    return SG_ISA_GENERIC;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static sg_isa active = SG_ISA_GENERIC;
static int forced, refused;
static char refusal[200], description[80];

static void choose(void) {
    const sg_isa best = sg_isa_best();
    active = best;
    const char *want = getenv("SG_ISA");
    if (want && *want) {
        int i = 0;
        while (i < SG_ISA_COUNT && strcmp(want, NAMES[i])) i++;
        if (i == SG_ISA_COUNT) {
            snprintf(refusal, sizeof refusal, "SG_ISA=%s: not an instruction set (generic, avx2 or avx512)", want);
            refused = 1;
        } else if (!sg_isa_supported((sg_isa)i)) {
            snprintf(refusal, sizeof refusal, "SG_ISA=%s: this CPU lacks %s (its best is %s)", want, want,
                     sg_isa_name(best));
            refused = 1;
        } else {
            active = (sg_isa)i;
            forced = 1;
        }
    }
    if (forced)
        snprintf(description, sizeof description, "%s (SG_ISA; the CPU has %s)", sg_isa_name(active), sg_isa_name(best));
    else
        snprintf(description, sizeof description, "%s", sg_isa_name(active));
}

int sg_isa_init(void) {
    pthread_once(&once, choose);
    return refused ? sg_fail("%s", refusal) : 0;
}

sg_isa sg_isa_active(void) {
    pthread_once(&once, choose);
    if (refused) {
        fprintf(stderr, "spikeglue: error: %s\n", refusal);
        exit(2);
    }
    return active;
}

const char *sg_isa_describe(void) {
    pthread_once(&once, choose);
    return refused ? "refused" : description;
}
