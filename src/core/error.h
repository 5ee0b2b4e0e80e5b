/* One-line errors, SQLite-style: a failing function records a message and returns -1;
 * the command line prints it once ("spikeglue: error: <message>") and exits non-zero. */
#ifndef SG_ERROR_H
#define SG_ERROR_H

#if defined(__GNUC__)
#define SG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SG_PRINTF(a, b)
#endif

/* Record an error message (thread-local) and return -1, so callers can `return sg_fail(...)`. */
int sg_fail(const char *fmt, ...) SG_PRINTF(1, 2);
/* Prefix the current message with context: "ctx: <old message>". Returns -1. */
int sg_fail_context(const char *fmt, ...) SG_PRINTF(1, 2);
const char *sg_last_error(void);
void sg_clear_error(void);

/* Print "spikeglue: error: <msg>" on stderr. */
void sg_print_error(void);

#endif
