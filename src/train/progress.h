/* Progress of long work: a redrawn bar on a terminal (stderr), nothing extra otherwise, so that
 * logs stay clean when output is redirected. Log lines go through sg_progress_log so they do
 * not tear the bar. */
#ifndef SG_PROGRESS_H
#define SG_PROGRESS_H

typedef struct {
    int tty;
    long total, done;
    double t0, last_draw;
    char label[64];
    char extra[96];
} sg_progress;

void sg_progress_start(sg_progress *p, const char *label, long total);
/* extra: short status, e.g. "loss 0.412" (may be NULL) */
void sg_progress_update(sg_progress *p, long done, const char *extra);
void sg_progress_log(sg_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sg_progress_finish(sg_progress *p);
/* "1h02m", "3m05s", "12s" */
void sg_format_duration(double seconds, char *out, int n);
double sg_now(void);

#endif
