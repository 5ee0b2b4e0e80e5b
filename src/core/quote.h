/* Untrusted text (a file's header, a label, a token) quoted for a one-line error message:
 * never more than a short excerpt, never a raw control byte or invalid UTF-8 on the terminal. */
#ifndef SG_QUOTE_H
#define SG_QUOTE_H

#include <stddef.h>

/* Writes 'text' into out (always NUL-terminated, cap >= 16): backslash, quote, \t \n \r and every
 * other control byte or byte of invalid UTF-8 escaped (\\ \' \t \n \r \xNN); valid UTF-8 letters
 * are kept. Between the quotes at most max_chars bytes are written (escapes count in full; a cut
 * falls between characters), followed by "... (N bytes)" when the text was cut. Returns out, for
 * use as a printf argument. */
const char *sg_quote(char *out, size_t cap, const char *text, size_t len, size_t max_chars);

/* The excerpt length error messages use: enough to recognise a header, a label or a name. */
#define SG_QUOTE_EXCERPT 80
/* A buffer that holds any sg_quote of up to SG_QUOTE_EXCERPT characters. */
#define SG_QUOTE_BUF (SG_QUOTE_EXCERPT + 48)

#endif
