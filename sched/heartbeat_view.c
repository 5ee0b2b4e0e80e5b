#include "sched/heartbeat_view.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void sg_heartbeat_format(const sg_heartbeat *hb, char *out, size_t n) {
    char loss[48] = "", eta[48] = "";
    if (isfinite(hb->loss)) snprintf(loss, sizeof loss, " loss %.4f", hb->loss);
    if (hb->finished) snprintf(eta, sizeof eta, " (phase done)");
    else if (isfinite(hb->eta_s)) {
        char d[32];
        sg_format_duration(hb->eta_s, d, sizeof d);
        snprintf(eta, sizeof eta, " ETA %s", d);
    }
    snprintf(out, n, "%s %ld/%ld%s%s", hb->phase, hb->step, hb->total, loss, eta);
}

int sg_heartbeat_stale(const sg_heartbeat *hb, double now, char *why, size_t n) {
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    /* on this machine the process itself says whether the run is alive */
    if (hb->pid > 0 && hb->host[0] && !strcmp(host, hb->host) && kill((pid_t)hb->pid, 0) != 0 && errno == ESRCH) {
        snprintf(why, n, "process %ld on %s is gone", hb->pid, hb->host);
        return 1;
    }
    double age = now - hb->updated_at;
    if (age > SG_HEARTBEAT_STALE_S) {
        char d[32];
        sg_format_duration(age, d, sizeof d);
        snprintf(why, n, "no update for %s", d);
        return 1;
    }
    why[0] = '\0';
    return 0;
}

double sg_heartbeat_fraction(const sg_heartbeat *hb) {
    if (hb->finished) return 1.0;
    if (hb->total <= 0 || hb->step <= 0) return 0.0;
    double f = (double)hb->step / hb->total;
    return f > 1 ? 1 : f;
}
