#include "train/progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double sg_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void sg_format_duration(double s, char *out, int n) {
    if (s < 0 || s != s) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(out, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60) snprintf(out, n, "%ldm%02lds", t / 60, t % 60);
    else snprintf(out, n, "%lds", t);
}

static void draw(sg_progress *p) {
    if (!p->tty) return;
    double el = sg_now() - p->t0;
    double rate = el > 0 ? p->done / el : 0;
    char eta[32] = "?";
    if (rate > 0 && p->total > 0) sg_format_duration((p->total - p->done) / rate, eta, sizeof eta);
    int width = 24, fill = p->total > 0 ? (int)(width * (double)p->done / p->total) : 0;
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r\033[K%s [%s] %ld/%ld %s %.2f it/s ETA %s", p->label, bar, p->done, p->total, p->extra, rate, eta);
    fflush(stderr);
    p->last_draw = sg_now();
}

void sg_progress_start(sg_progress *p, const char *label, long total) {
    memset(p, 0, sizeof *p);
    p->tty = isatty(STDERR_FILENO);
    p->total = total;
    p->t0 = sg_now();
    snprintf(p->label, sizeof p->label, "%s", label);
    draw(p);
}

void sg_progress_update(sg_progress *p, long done, const char *extra) {
    p->done = done;
    if (extra) snprintf(p->extra, sizeof p->extra, "%s", extra);
    if (p->tty && (sg_now() - p->last_draw > 0.2 || done == p->total)) draw(p);
}

void sg_progress_log(sg_progress *p, const char *fmt, ...) {
    if (p && p->tty) fprintf(stderr, "\r\033[K");
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (p) draw(p);
}

void sg_progress_finish(sg_progress *p) {
    if (p->tty) {
        draw(p);
        fprintf(stderr, "\n");
    }
}
