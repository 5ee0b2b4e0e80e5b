/* Shared by the libFuzzer harnesses (tests/fuzz/fuzz_<name>.c) and their replay in ctest
 * (tests/unit/test_fuzz_regressions.c, which includes every harness with SG_FUZZ_REPLAY defined).
 *
 * Each harness defines `static int fuzz_<name>(const uint8_t *data, size_t size)` returning
 * SG_FUZZ_OK (accepted), SG_FUZZ_REFUSED (refused with a proper message) or SG_FUZZ_BAD (the
 * parser broke its contract: refused without a message, with a multi-line message, or with one
 * that does not name the input). Crashes, leaks, hangs and undefined behaviour are caught by the
 * sanitizers; SG_FUZZ_BAD makes the fuzzer abort so that it is reported like a crash. */
#ifndef SG_FUZZ_COMMON_H
#define SG_FUZZ_COMMON_H

#include "core/error.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SG_FUZZ_OK = 0, SG_FUZZ_REFUSED = 1, SG_FUZZ_BAD = 2 };

/* rc of a parser (0 or -1) -> SG_FUZZ_*; `name` must appear in every error message. */
static inline int sg_fuzz_verdict(int rc, const char *name) {
    if (rc == 0) return SG_FUZZ_OK;
    const char *msg = sg_last_error();
    if (!msg || !*msg || strchr(msg, '\n') || (name && !strstr(msg, name))) {
        fprintf(stderr, "fuzz: bad error message for %s: '%s'\n", name ? name : "(input)", msg ? msg : "(null)");
        return SG_FUZZ_BAD;
    }
    return SG_FUZZ_REFUSED;
}

#ifdef SG_FUZZ_REPLAY
#define SG_FUZZ_ENTRY(fn)
#else
/* libFuzzer's entry point: a contract violation aborts (reported and saved like a crash). */
#define SG_FUZZ_ENTRY(fn)                                                   \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);           \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {          \
        sg_clear_error();                                                   \
        if (fn(data, size) == SG_FUZZ_BAD) abort();                         \
        return 0;                                                           \
    }
#endif

#endif
