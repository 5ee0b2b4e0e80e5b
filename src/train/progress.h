/* Progress of long work: a redrawn bar on a terminal (stderr), nothing extra otherwise, so that
 * logs stay clean when output is redirected. Log lines go through sg_progress_log so they do
 * not tear the bar.
 *
 * Heartbeat: when the environment names a file in SG_PROGRESS_FILE (the sweep's runner sets it
 * to runs/<id>/progress.json), the same progress is also written there as one JSON object, at
 * most about once a second, atomically (write + rename), for `spikeglue status` and the sweep's
 * live line to read (sg_heartbeat_read). Without it nothing is written. */
#ifndef SG_PROGRESS_H
#define SG_PROGRESS_H

#include "core/clock.h" /* sg_now, sg_wall_now: the bar's rate, the heartbeat's updated_at */

#include <stdio.h>

#define SG_PROGRESS_FILE_ENV "SG_PROGRESS_FILE"

typedef struct {
    int tty;
    FILE *out;            /* where the bar goes: stderr, or the stream sg_progress_start_on chose */
    int cost_eta;         /* the caller's extra text carries its own ETA: the bar shows no rate / ETA */
    long total, done;
    long first_done;      /* done at the first update: a resumed run's rate counts only its own steps */
    double t0, first_at, last_draw;
    const char *beat_path; /* SG_PROGRESS_FILE, or NULL: no heartbeat */
    double last_beat;
    char label[64];
    char extra[512];
} sg_progress;

void sg_progress_start(sg_progress *p, const char *label, long total);
/* The same, drawing on `out` when tty != 0 (the sweep decides itself whether its output is a
 * terminal); cost_eta: the extra text carries the caller's own ETA, the bar shows no rate or ETA. */
void sg_progress_start_on(sg_progress *p, const char *label, long total, FILE *out, int tty, int cost_eta);
/* extra: short status, e.g. "loss 0.412" (may be NULL); a "loss X" in it goes to the heartbeat's loss */
void sg_progress_update(sg_progress *p, long done, const char *extra);
/* Redraw now (the caller changed only the extra text and wants it seen). */
void sg_progress_redraw(sg_progress *p, const char *extra);
void sg_progress_log(sg_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sg_progress_finish(sg_progress *p);
/* "1h02m", "3m05s", "12s" */
void sg_format_duration(double seconds, char *out, int n);

/* One heartbeat as read back. */
typedef struct {
    char phase[64];   /* "train", "snn", ... (the progress label) */
    char detail[512]; /* the extra text, e.g. "epoch 0.50 loss 0.4123" */
    char host[256];
    long step, total;
    double loss;      /* NaN when the detail names none */
    double eta_s;     /* NaN when not known yet */
    double updated_at;
    long pid;
    int finished;     /* the phase reached its end (sg_progress_finish) */
} sg_heartbeat;

/* 0 and *hb filled; -1 (with sg_fail) when the file is missing or malformed. */
int sg_heartbeat_read(const char *path, sg_heartbeat *hb);

#endif
