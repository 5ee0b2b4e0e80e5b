#include "core/quote.h"

#include <stdio.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs, surrogates or code
 * points past U+10FFFF), or 0 when s[0] does not start one. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) need = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) need = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else return 0;
    if (n < need || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < need; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return need;
}

const char *sg_quote(char *out, size_t cap, const char *text, size_t len, size_t max_chars) {
    const unsigned char *s = (const unsigned char *)text;
    const size_t tail = 40; /* room kept for "'... (N bytes)" */
    size_t o = 0, i = 0;
    if (cap < 16) {
        if (cap) out[0] = '\0';
        return out;
    }
    out[o++] = '\'';
    while (i < len) {
        size_t n = utf8_len(s + i, len - i);
        char piece[8];
        size_t plen;
        /* C1 controls (U+0080..U+009F, bytes C2 80..C2 9F) act on terminals too */
        int control = n == 1 ? (s[i] < 0x20 || s[i] == 0x7F) : n == 2 && s[i] == 0xC2 && s[i + 1] < 0xA0;
        if (n == 0 || control) {
            const char *named = s[i] == '\t' ? "\\t" : s[i] == '\n' ? "\\n" : s[i] == '\r' ? "\\r" : NULL;
            plen = named ? (size_t)snprintf(piece, sizeof piece, "%s", named)
                         : (size_t)snprintf(piece, sizeof piece, "\\x%02x", s[i]);
            n = 1; /* escape one byte at a time, so C2 80 becomes \xc2\x80 */
        } else if (n == 1 && (s[i] == '\\' || s[i] == '\'')) {
            piece[0] = '\\', piece[1] = (char)s[i], plen = 2;
        } else {
            memcpy(piece, s + i, n);
            plen = n;
        }
        if (o - 1 + plen > max_chars || o + plen + tail >= cap) break; /* whole characters only */
        memcpy(out + o, piece, plen);
        o += plen;
        i += n;
    }
    out[o++] = '\'';
    if (i < len) snprintf(out + o, cap - o, "... (%zu bytes)", len);
    else out[o] = '\0';
    return out;
}
