#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char g_message[1024];

int sg_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_message, sizeof g_message, fmt, ap);
    va_end(ap);
    /* one line: fold any newline a caller's text carried */
    for (char *p = g_message; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return -1;
}

int sg_fail_context(const char *fmt, ...) {
    char prefix[512], old[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_message, sizeof old);
    return sg_fail("%s: %s", prefix, old);
}

const char *sg_last_error(void) { return g_message[0] ? g_message : "unknown error"; }

void sg_clear_error(void) { g_message[0] = '\0'; }

void sg_print_error(void) { fprintf(stderr, "spikeglue: error: %s\n", sg_last_error()); }
