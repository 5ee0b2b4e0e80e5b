/* One resumable, verified HTTP download with libcurl (see sg_http_download in fetch.h).
 *
 * Bytes go to a partial file; an interrupted transfer leaves it in place, and the next attempt (in
 * this run or a later one) asks for the rest with "Range: bytes=N-". A server that ignores Range
 * answers 200 with the whole body: the partial file is then truncated and refilled from zero.
 * Only a complete, size- and checksum-verified file is renamed to its final name. */
#include "hub/fetch.h"

#include "core/clock.h"
#include "core/error.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef SG_VERSION
#define SG_VERSION "dev"
#endif

char *sg_etag_normalize(char *s) {
    char *p = s;
    while (*p == ' ' || *p == '\t') p++;
    if (p[0] == 'W' && p[1] == '/') p += 2;
    if (*p == '"') p++;
    size_t len = strlen(p);
    while (len && (p[len - 1] == '"' || p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
    memmove(s, p, len);
    s[len] = '\0';
    return s;
}

/* ---- response headers ---- */

typedef struct {
    long status;                 /* of the current (last) response in a redirect chain */
    char linked_etag[160], first_etag[160], commit[160];
    long long linked_size, content_length;
    long long range_start, range_total; /* from Content-Range of the current response, or -1 */
} headers;

static void headers_init(headers *h) {
    memset(h, 0, sizeof *h);
    h->linked_size = h->content_length = h->range_start = h->range_total = -1;
}

/* Copy a header value (trimmed) into dst unless dst already holds one: first value wins. */
static void keep_first(char *dst, size_t n, const char *v, size_t len) {
    if (dst[0]) return;
    while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ')) len--;
    if (len >= n) len = n - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
    sg_etag_normalize(dst);
}

static size_t on_header(char *line, size_t size, size_t nitems, void *user) {
    headers *h = user;
    size_t len = size * nitems;
    char buf[512];
    size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
    memcpy(buf, line, n);
    buf[n] = '\0';
    if (strncmp(buf, "HTTP/", 5) == 0) { /* a new response starts (after a redirect, too) */
        const char *sp = strchr(buf, ' ');
        h->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        h->content_length = h->range_start = h->range_total = -1;
        return len;
    }
    char *colon = strchr(buf, ':');
    if (!colon) return len;
    *colon = '\0';
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t') v++;
    size_t vlen = strlen(v);
    if (!strcasecmp(buf, "X-Linked-Etag")) keep_first(h->linked_etag, sizeof h->linked_etag, v, vlen);
    else if (!strcasecmp(buf, "ETag")) keep_first(h->first_etag, sizeof h->first_etag, v, vlen);
    else if (!strcasecmp(buf, "X-Repo-Commit")) keep_first(h->commit, sizeof h->commit, v, vlen);
    else if (!strcasecmp(buf, "X-Linked-Size")) { if (h->linked_size < 0) h->linked_size = strtoll(v, NULL, 10); }
    else if (!strcasecmp(buf, "Content-Length")) h->content_length = strtoll(v, NULL, 10);
    else if (!strcasecmp(buf, "Content-Range")) {
        long long a, b, t;
        if (sscanf(v, "bytes %lld-%lld/%lld", &a, &b, &t) == 3) { h->range_start = a; h->range_total = t; }
    }
    return len;
}

static void fill_meta(const headers *h, sg_http_meta *meta) {
    meta->status = h->status;
    snprintf(meta->etag, sizeof meta->etag, "%s", h->linked_etag[0] ? h->linked_etag : h->first_etag);
    snprintf(meta->commit, sizeof meta->commit, "%s", h->commit);
    meta->size = h->linked_size >= 0 ? h->linked_size : h->content_length;
}

static CURL *new_handle(const char *url, struct curl_slist **hdrs, const char *bearer, char *errbuf) {
    CURL *c = curl_easy_init();
    if (!c) return NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    /* a stalled server: give up after 60 s below 1 byte/s instead of hanging forever */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "spikeglue/" SG_VERSION);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    errbuf[0] = '\0';
    *hdrs = NULL;
    if (bearer && *bearer) {
        /* curl drops this header when a redirect leaves the host (e.g. to a CDN) */
        char auth[1024];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
        *hdrs = curl_slist_append(NULL, auth);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
    }
    return c;
}

static const char *curl_why(CURLcode rc, const char *errbuf) {
    return errbuf[0] ? errbuf : curl_easy_strerror(rc);
}

/* "scheme://host:port" part of a url, for telling a same-site redirect from one to a CDN. */
static size_t origin_len(const char *url) {
    const char *p = strstr(url, "://");
    if (!p) return 0;
    const char *slash = strchr(p + 3, '/');
    return slash ? (size_t)(slash - url) : strlen(url);
}

/* Like huggingface_hub, HEAD follows redirects only within the site (a renamed repo) and stops at
 * one to another host: that 302 carries X-Linked-Etag/X-Linked-Size, and a CDN's signed URL may
 * refuse a HEAD. */
int sg_http_head(const char *url, const char *auth_bearer, sg_http_meta *meta) {
    char errbuf[CURL_ERROR_SIZE], cur[4096], next_url[4096];
    memset(meta, 0, sizeof *meta);
    meta->size = -1;
    if ((size_t)snprintf(cur, sizeof cur, "%s", url) >= sizeof cur) return sg_fail("%.80s...: url too long", url);
    headers h;
    headers_init(&h);
    for (int hop = 0;; hop++) {
        struct curl_slist *hdrs;
        CURL *c = new_handle(cur, &hdrs, auth_bearer, errbuf);
        if (!c) return sg_fail("%s: cannot initialise libcurl", url);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        char *next = NULL;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (rc == CURLE_OK && status >= 300 && status < 400) {
            curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &next);
            if (next && (size_t)snprintf(next_url, sizeof next_url, "%s", next) >= sizeof next_url) next = NULL;
        }
        curl_easy_cleanup(c);
        curl_slist_free_all(hdrs);
        meta->status = status;
        if (rc == CURLE_HTTP_RETURNED_ERROR && status == 404) return 1;
        if (rc == CURLE_HTTP_RETURNED_ERROR && (status == 401 || status == 403))
            return sg_fail("%s: HTTP %ld (private or gated: set HF_TOKEN)", url, status);
        if (rc == CURLE_HTTP_RETURNED_ERROR) return sg_fail("%s: HTTP %ld", url, status);
        if (rc != CURLE_OK) return sg_fail("%s: %s", url, curl_why(rc, errbuf));
        if (status < 300 || status >= 400) break;
        if (!next) return sg_fail("%s: HTTP %ld without a usable Location", url, status);
        size_t o = origin_len(cur);
        if (o == 0 || o != origin_len(next_url) || strncmp(cur, next_url, o) != 0) {
            h.content_length = -1; /* the redirect's own (empty) body says nothing of the file */
            break;
        }
        if (hop == 10) return sg_fail("%s: too many redirects", url);
        memcpy(cur, next_url, sizeof cur);
    }
    fill_meta(&h, meta);
    return 0;
}

/* ---- the download ---- */

typedef struct {
    FILE *f;
    const char *partial;
    long long offset;            /* bytes already in the partial file when this request started */
    int decided;                 /* first body bytes seen: append (206) or restart (200) decided */
    int range_mismatch;          /* 206 not starting at offset: abort, restart from zero */
    int write_errno;
    headers h;
    /* progress */
    int progress;
    const char *label;
    double t0, last_draw;
    long long total;             /* best known full size, or -1 */
} xfer;

static void human(char *out, size_t n, double bytes) {
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) { bytes /= 1024; u++; }
    snprintf(out, n, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
}

static void draw_progress(xfer *x, long long have, int final) {
    double t = sg_now();
    if (!final && t - x->last_draw < 0.25) return;
    x->last_draw = t;
    char a[32], b[32], r[32];
    double elapsed = t - x->t0 > 1e-3 ? t - x->t0 : 1e-3;
    human(a, sizeof a, (double)have);
    human(r, sizeof r, (double)(have - x->offset) / elapsed);
    if (x->total > 0) {
        human(b, sizeof b, (double)x->total);
        fprintf(stderr, "\r%-28.28s %10s / %-10s %5.1f%%  %10s/s ", x->label, a, b,
                100.0 * (double)have / (double)x->total, r);
    } else {
        fprintf(stderr, "\r%-28.28s %10s  %10s/s ", x->label, a, r);
    }
    if (final) fputc('\n', stderr);
    fflush(stderr);
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
    (void)ultotal; (void)ulnow;
    xfer *x = user;
    if (!x->decided) return 0; /* headers only so far: offset may still be reset */
    if (x->total < 0 && dltotal > 0) x->total = x->offset + dltotal;
    draw_progress(x, x->offset + dlnow, 0);
    return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user) {
    xfer *x = user;
    size_t len = size * nmemb;
    if (!x->decided) {
        x->decided = 1;
        if (x->h.status == 206) {
            if (x->h.range_start != x->offset) { x->range_mismatch = 1; return 0; }
        } else if (x->offset > 0) {
            /* the server ignored our Range and sends everything: start the file over */
            if (fflush(x->f) != 0 || ftruncate(fileno(x->f), 0) != 0) { x->write_errno = errno; return 0; }
            x->offset = 0;
        }
    }
    if (fwrite(data, 1, len, x->f) != len) { x->write_errno = errno ? errno : EIO; return 0; }
    return len;
}

static long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Transient failures worth another attempt; the partial file keeps what arrived. */
static int transient(CURLcode rc, long status) {
    switch (rc) {
    case CURLE_PARTIAL_FILE: case CURLE_RECV_ERROR: case CURLE_SEND_ERROR: case CURLE_GOT_NOTHING:
    case CURLE_COULDNT_CONNECT: case CURLE_OPERATION_TIMEDOUT: case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_HTTP2: case CURLE_HTTP2_STREAM: case CURLE_SSL_CONNECT_ERROR:
        return 1;
    case CURLE_HTTP_RETURNED_ERROR:
        return status >= 500 || status == 408 || status == 429;
    default:
        return 0;
    }
}

/* RETRY waits a little first (refused connection, 5xx); RESTART goes again at once: bytes arrived
 * before the cut, or the partial file was just emptied after a 416 / misplaced Content-Range. */
enum { ATTEMPT_DONE = 0, ATTEMPT_NOT_FOUND = 1, ATTEMPT_FAILED = -1, ATTEMPT_RETRY = 2, ATTEMPT_RESTART = 3 };

/* One request. Returns ATTEMPT_*; on RETRY, RESTART and FAILED the error is recorded. */
static int attempt(const sg_download *d, const char *partial, long long *total_out) {
    const char *label = d->label ? d->label : d->url;
    long long offset = file_size(partial);
    if (offset < 0) offset = 0;
    FILE *f = fopen(partial, "ab"); /* append: a restart truncates to zero and appends from there */
    if (!f) return sg_fail("%s: cannot write: %s", partial, strerror(errno)), ATTEMPT_FAILED;

    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *hdrs;
    CURL *c = new_handle(d->url, &hdrs, d->auth_bearer, errbuf);
    if (!c) { fclose(f); return sg_fail("%s: cannot initialise libcurl", d->url), ATTEMPT_FAILED; }
    xfer x = {.f = f, .partial = partial, .offset = offset, .progress = d->progress, .label = label,
              .total = d->expect_size};
    headers_init(&x.h);
    x.t0 = x.last_draw = sg_now();
    char range[48];
    if (offset > 0) {
        snprintf(range, sizeof range, "%lld-", offset);
        curl_easy_setopt(c, CURLOPT_RANGE, range);
    }
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &x.h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    if (d->progress) {
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
    }
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    int closed_bad = fclose(f) != 0;
    long long have = file_size(partial);
    if (d->progress && x.decided) draw_progress(&x, have, 1);

    if (x.write_errno) return sg_fail("%s: cannot write: %s", partial, strerror(x.write_errno)), ATTEMPT_FAILED;
    if (closed_bad) return sg_fail("%s: cannot write: %s", partial, strerror(errno)), ATTEMPT_FAILED;
    if (x.range_mismatch) {
        if (truncate(partial, 0) != 0) return sg_fail("%s: cannot truncate: %s", partial, strerror(errno)), ATTEMPT_FAILED;
        return sg_fail("%s: server answered Range %lld- from byte %lld; restarting", d->url, offset,
                       x.h.range_start), ATTEMPT_RESTART;
    }
    if (rc == CURLE_HTTP_RETURNED_ERROR && status == 404) return ATTEMPT_NOT_FOUND;
    if (rc == CURLE_HTTP_RETURNED_ERROR && status == 416) {
        /* our partial file is not a prefix of what the server has (or is longer): start over */
        if (truncate(partial, 0) != 0) return sg_fail("%s: cannot truncate: %s", partial, strerror(errno)), ATTEMPT_FAILED;
        return sg_fail("%s: HTTP 416 for Range %lld-; restarting", d->url, offset), ATTEMPT_RESTART;
    }
    if (rc != CURLE_OK) {
        if (rc == CURLE_HTTP_RETURNED_ERROR && (status == 401 || status == 403))
            sg_fail("%s: HTTP %ld (private or gated: set HF_TOKEN)", d->url, status);
        else if (rc == CURLE_HTTP_RETURNED_ERROR)
            sg_fail("%s: HTTP %ld", d->url, status);
        else if (have > 0)
            sg_fail("%s: transfer interrupted at %lld bytes (%s); partial file kept, run again to resume: %s", d->url, have,
                    curl_why(rc, errbuf), partial);
        else
            sg_fail("%s: %s", d->url, curl_why(rc, errbuf));
        if (!transient(rc, status)) return ATTEMPT_FAILED;
        return have > x.offset ? ATTEMPT_RESTART : ATTEMPT_RETRY;
    }
    /* complete: what the server said the whole file is */
    *total_out = x.h.status == 206 ? x.h.range_total : x.h.content_length;
    return ATTEMPT_DONE;
}

/* Size and checksum of a complete partial file; a mismatch removes it. */
static int verify(const sg_download *d, const char *partial, long long server_total, char hex[65]) {
    long long have = file_size(partial);
    long long want = d->expect_size >= 0 ? d->expect_size : server_total;
    if (want >= 0 && have != want) {
        unlink(partial);
        return sg_fail("%s: size mismatch: got %lld bytes, expected %lld (partial file removed)",
                       d->url, have, want);
    }
    if (sg_sha256_file(partial, hex) != 0) return -1;
    if (d->expect_sha256 && strcasecmp(hex, d->expect_sha256) != 0) {
        unlink(partial);
        return sg_fail("%s: sha256 mismatch: got %s, expected %s (partial file removed)", d->url,
                       hex, d->expect_sha256);
    }
    return 0;
}

int sg_http_download(const sg_download *d, char sha256_out[65]) {
    char partial_buf[4096];
    const char *partial = d->partial;
    if (!partial) {
        if ((size_t)snprintf(partial_buf, sizeof partial_buf, "%s.incomplete", d->dest) >= sizeof partial_buf)
            return sg_fail("%s: path too long", d->dest);
        partial = partial_buf;
    }
    int tries = d->attempts < 1 ? 1 : d->attempts;
    long long server_total = -1;
    int done = 0;
    /* A partial file that already holds every byte (a run stopped before the rename) needs no request. */
    long long have = file_size(partial);
    if (d->expect_size > 0 && have == d->expect_size) done = 1;
    else if (d->expect_size >= 0 && have > d->expect_size) unlink(partial);

    int emptied = 0;
    for (int i = 1; !done && i <= tries; i++) {
        int r = attempt(d, partial, &server_total);
        if (r == ATTEMPT_DONE) { done = 1; break; }
        /* a partial file the server would not continue was emptied: that restart is free, once */
        if (r == ATTEMPT_RESTART && file_size(partial) == 0 && !emptied++) { i--; continue; }
        if (r == ATTEMPT_NOT_FOUND) {
            if (file_size(partial) == 0) unlink(partial);
            return 1;
        }
        if (r == ATTEMPT_FAILED || i == tries) {
            if (file_size(partial) == 0) unlink(partial); /* nothing worth resuming */
            return -1;
        }
        if (r == ATTEMPT_RETRY) sleep((unsigned)(i < 5 ? i : 5));
    }
    char hex[65];
    if (verify(d, partial, server_total, hex) != 0) return -1;
    if (rename(partial, d->dest) != 0)
        return sg_fail("%s: cannot rename to %s: %s", partial, d->dest, strerror(errno));
    if (sha256_out) memcpy(sha256_out, hex, 65);
    return 0;
}
