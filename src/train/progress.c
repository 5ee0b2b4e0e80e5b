#include "train/progress.h"

#include "core/error.h"
#include "core/fileio.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

void sg_format_duration(double s, char *out, int n) {
    if (s < 0 || s != s) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(out, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60) snprintf(out, n, "%ldm%02lds", t / 60, t % 60);
    else snprintf(out, n, "%lds", t);
}

/* Steps per second since the first update (a resumed run's earlier steps are not its speed). */
static double rate_of(const sg_progress *p, double now) {
    double el = now - p->first_at;
    return p->first_done >= 0 && el > 0 && p->done > p->first_done ? (p->done - p->first_done) / el : 0;
}

/* The terminal's width, so the line never wraps (a wrapped line cannot be redrawn with \r). */
static int columns(FILE *out) {
    struct winsize ws;
    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
    const char *env = getenv("COLUMNS");
    if (env && atoi(env) >= 20) return atoi(env);
    return 100;
}

static void draw(sg_progress *p) {
    if (!p->tty) return;
    double now = sg_now(), rate = rate_of(p, now);
    char line[1024];
    int width = 24, fill = p->total > 0 ? (int)(width * (double)p->done / p->total) : 0;
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    if (p->cost_eta) {
        snprintf(line, sizeof line, "%s [%s] %ld/%ld %s", p->label, bar, p->done, p->total, p->extra);
    } else {
        char eta[32] = "?";
        if (rate > 0 && p->total > 0) sg_format_duration((p->total - p->done) / rate, eta, sizeof eta);
        snprintf(line, sizeof line, "%s [%s] %ld/%ld %s %.2f it/s ETA %s", p->label, bar, p->done, p->total, p->extra, rate, eta);
    }
    int cols = columns(p->out);
    if ((int)strlen(line) > cols - 1) line[cols - 1] = '\0';
    fprintf(p->out, "\r\033[K%s", line);
    fflush(p->out);
    p->last_draw = now;
}

/* JSON string contents: our labels and status texts, escaped all the same. */
static void json_escape(const char *s, char *out, size_t n) {
    size_t k = 0;
    for (; *s && k + 7 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') out[k++] = '\\', out[k++] = (char)c;
        else if (c < 0x20) k += (size_t)snprintf(out + k, n - k, "\\u%04x", c);
        else out[k++] = (char)c;
    }
    out[k] = '\0';
}

/* The loss named in a status text ("epoch 0.50 loss 0.4123"), NaN when there is none. */
static double loss_in(const char *extra) {
    const char *l = strstr(extra, "loss ");
    if (!l || (l != extra && l[-1] != ' ')) return NAN;
    char *end;
    double v = strtod(l + 5, &end);
    return end == l + 5 ? NAN : v;
}

/* Written without fsync: a heartbeat is advisory, and a crash loses at most a second of it.
 * A failure is said once in the log and heartbeats stop; the run itself goes on. */
static void beat(sg_progress *p, int finished) {
    if (!p->beat_path) return;
    double now = sg_now(), rate = rate_of(p, now), loss = loss_in(p->extra);
    char label[160], detail[1100], host[256] = "", ehost[600], eta[48] = "null", lossv[48] = "null";
    json_escape(p->label, label, sizeof label);
    json_escape(p->extra, detail, sizeof detail);
    gethostname(host, sizeof host - 1);
    json_escape(host, ehost, sizeof ehost);
    if (rate > 0 && p->total > 0) snprintf(eta, sizeof eta, "%.1f", (p->total - p->done) / rate);
    else if (finished) snprintf(eta, sizeof eta, "0");
    if (isfinite(loss)) snprintf(lossv, sizeof lossv, "%.6g", loss);
    char text[2400], tmp[4200];
    int len = snprintf(text, sizeof text,
                       "{\"phase\": \"%s\", \"step\": %ld, \"total\": %ld, \"loss\": %s, \"eta_seconds\": %s, "
                       "\"elapsed_seconds\": %.1f, \"finished\": %s, \"detail\": \"%s\", \"pid\": %ld, \"host\": \"%s\", "
                       "\"updated_at\": %.3f}\n",
                       label, p->done, p->total, lossv, eta, now - p->t0, finished ? "true" : "false", detail,
                       (long)getpid(), ehost, sg_wall_now());
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p->beat_path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0 && len > 0 && len < (int)sizeof text && write(fd, text, (size_t)len) == len;
    if (fd >= 0 && close(fd) != 0) ok = 0;
    if (ok && rename(tmp, p->beat_path) != 0) ok = 0;
    if (!ok) {
        int e = errno;
        if (fd >= 0) unlink(tmp);
        fprintf(stderr, "spikeglue: warning: %s: cannot write the heartbeat (%s); no more heartbeats from this run\n",
                p->beat_path, strerror(e));
        p->beat_path = NULL;
        return;
    }
    p->last_beat = now;
}

/* Only the first rank of an MPI job (a tensor-parallel run) writes the heartbeat. */
static const char *heartbeat_path(void) {
    const char *path = getenv(SG_PROGRESS_FILE_ENV);
    const char *rank = getenv("OMPI_COMM_WORLD_RANK");
    if (!path || !*path || (rank && atoi(rank) != 0)) return NULL;
    return path;
}

void sg_progress_start_on(sg_progress *p, const char *label, long total, FILE *out, int tty, int cost_eta) {
    memset(p, 0, sizeof *p);
    p->tty = tty;
    p->cost_eta = cost_eta;
    p->out = out;
    p->total = total;
    p->t0 = p->first_at = sg_now();
    p->first_done = -1;
    p->beat_path = heartbeat_path();
    snprintf(p->label, sizeof p->label, "%s", label);
    draw(p);
    beat(p, 0);
}

void sg_progress_start(sg_progress *p, const char *label, long total) {
    sg_progress_start_on(p, label, total, stderr, isatty(STDERR_FILENO), 0);
}

void sg_progress_update(sg_progress *p, long done, const char *extra) {
    p->done = done;
    if (p->first_done < 0) {
        p->first_done = done;
        p->first_at = sg_now();
    }
    if (extra) snprintf(p->extra, sizeof p->extra, "%s", extra);
    if (!p->tty && !p->beat_path) return; /* the usual case in a log: no clock read */
    double now = sg_now();
    if (p->tty && (now - p->last_draw > 0.2 || done == p->total)) draw(p);
    if (p->beat_path && now - p->last_beat >= 1.0) beat(p, 0);
}

void sg_progress_redraw(sg_progress *p, const char *extra) {
    if (extra) snprintf(p->extra, sizeof p->extra, "%s", extra);
    draw(p);
}

void sg_progress_log(sg_progress *p, const char *fmt, ...) {
    if (p && p->tty) {
        fprintf(p->out, "\r\033[K");
        fflush(p->out);
    }
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
        fprintf(p->out, "\n");
        fflush(p->out);
    }
    beat(p, 1);
}

int sg_heartbeat_read(const char *path, sg_heartbeat *hb) {
    memset(hb, 0, sizeof *hb);
    hb->loss = hb->eta_s = NAN;
    size_t len;
    if (!sg_is_file(path)) return sg_fail("%s: no heartbeat", path);
    char *text = sg_read_file(path, 1 << 16, &len);
    if (!text) return -1;
    cJSON *j = cJSON_Parse(text);
    free(text);
    const cJSON *phase = cJSON_GetObjectItemCaseSensitive(j, "phase"), *step = cJSON_GetObjectItemCaseSensitive(j, "step"),
                *total = cJSON_GetObjectItemCaseSensitive(j, "total"), *at = cJSON_GetObjectItemCaseSensitive(j, "updated_at");
    if (!cJSON_IsString(phase) || !cJSON_IsNumber(step) || !cJSON_IsNumber(total) || !cJSON_IsNumber(at)) {
        cJSON_Delete(j);
        return sg_fail("%s: not a heartbeat (phase, step, total, updated_at expected)", path);
    }
    snprintf(hb->phase, sizeof hb->phase, "%s", phase->valuestring);
    hb->step = (long)step->valuedouble;
    hb->total = (long)total->valuedouble;
    hb->updated_at = at->valuedouble;
    const cJSON *x;
    if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(j, "loss"))) hb->loss = x->valuedouble;
    if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(j, "eta_seconds"))) hb->eta_s = x->valuedouble;
    if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(j, "pid"))) hb->pid = (long)x->valuedouble;
    if (cJSON_IsString(x = cJSON_GetObjectItemCaseSensitive(j, "detail"))) snprintf(hb->detail, sizeof hb->detail, "%s", x->valuestring);
    if (cJSON_IsString(x = cJSON_GetObjectItemCaseSensitive(j, "host"))) snprintf(hb->host, sizeof hb->host, "%s", x->valuestring);
    hb->finished = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "finished"));
    cJSON_Delete(j);
    return 0;
}
