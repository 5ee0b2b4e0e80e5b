#include "sched/sweep.h"

#include "core/clock.h"
#include "core/error.h"
#include "core/fileio.h"
#include "data/synth.h"
#include "sched/group_launch.h"
#include "sched/heartbeat_view.h"
#include "sched/plan.h"
#include "sched/report.h"
#include "sched/results_store.h"
#include "sched/runner.h"
#include "train/progress.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { TAG_REQUEST = 1, TAG_ASSIGN, TAG_DONE, TAG_STOP };

/* One message type both ways: an assignment (run index, model override) or a report. */
typedef struct {
    int run;            /* plan index; -1 in a bare request */
    int status;         /* sg_run_status */
    int interrupted;
    int rank;
    double start, end;  /* unix seconds */
    double wait;        /* DONE: seconds the worker waited for this assignment */
    char text[4096];    /* ASSIGN: model override ("" none); DONE: error message */
} sweep_msg;

typedef enum { RS_PENDING = 0, RS_RUNNING, RS_DONE, RS_SKIPPED } run_state;

static volatile sig_atomic_t g_sweep_signal = 0;
static void on_sweep_signal(int sig) { g_sweep_signal = sig; }

static void nap(void) {
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* The coordinator's idle wait: short right after work came in (reports of short runs arrive in
 * bursts), growing to 5 ms when nothing happens, so an idle coordinator costs no CPU. */
static void nap_backoff(int idle_rounds) {
    long ns = 20 * 1000L << (idle_rounds < 8 ? idle_rounds : 8);
    if (ns > 5 * 1000 * 1000L) ns = 5 * 1000 * 1000L;
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

typedef struct {
    const sg_sweep_options *o;
    sg_jobspec spec;
    sg_plan plan;
    sg_store store;
    char sweep_dir[4096];
    run_state *state;
    int *attempts;
    sg_run_status *final;
    int threads, rank, size;
    int group;                 /* ranks per run group: parallel.dp x parallel.tp */
    sg_group_launch launch;    /* how this rank's group starts its runs (group > 1) */
    int done, failed, running, skipped, total;
    double cost_done, cost_total, t0;
    int first_failure_shown;
    sg_progress progress;
    int trivial;               /* SG_BENCH_TRIVIAL_RUNS=1: runs do nothing (the dispatch benchmark) */
    char **unreported;         /* "done" lines of committed runs, printed once results.h5 holds them */
    int nunreported, cap_unreported;
    double last_refresh, refresh_cost, refresh_total;
    double unsynced_since; /* when the oldest journal line not yet fsynced was written, 0: none */
    int refreshes;
    double last_live;          /* when the live line last read the heartbeats (monotonic) */
    double cost_partial;       /* expected cost already spent by running runs, from their heartbeats */
    char running_text[384];    /* the running runs' "short_id phase step/total loss" for the live line */
    double worker_wait;        /* summed over assignments: time workers waited for work */
    long dispatched;           /* assignments to worker ranks */
} sweep;

/* ---- running one pipeline (any rank) ---- */

static int run_dir_of(const sweep *s, int i, char *out, size_t n) {
    return sg_plan_run_dir(&s->plan, i, s->o->results_root, out, n);
}

/* The newest checkpoint-N under out/, for resuming an interrupted run. */
static int latest_checkpoint(const char *out_dir, char *path, size_t n) {
    DIR *d = opendir(out_dir);
    if (!d) return 0;
    int best = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        int k, used = 0;
        if (sscanf(e->d_name, "checkpoint-%d%n", &k, &used) == 1 && e->d_name[used] == '\0' && k > best) best = k;
    }
    closedir(d);
    if (best < 0) return 0;
    snprintf(path, n, "%s/checkpoint-%d", out_dir, best);
    char state[4400];
    snprintf(state, sizeof state, "%s/trainer_state.json", path);
    return sg_is_file(state);
}

static int start_run(sweep *s, int i, const char *model_override, int resume_interrupted, sg_child *child) {
    char dir[4096], out[4200], log[4200];
    if (run_dir_of(s, i, dir, sizeof dir) || sg_plan_output_dir(dir, out, sizeof out) || sg_mkdirs(dir)) return -1;
    char ckpt[4400] = "";
    if (resume_interrupted ? !latest_checkpoint(out, ckpt, sizeof ckpt) : 1) {
        ckpt[0] = '\0';
        if (sg_remove_tree(out)) return -1; /* a retry starts from scratch */
    }
    int argc = 0;
    char **argv = NULL;
    if (sg_plan_run_argv(&s->plan, i, dir, model_override && model_override[0] ? model_override : NULL, &argc, &argv))
        return -1;
    /* argv[0] = "run": prepend the executable's name, append a resume flag when continuing. A run
     * group of more than one rank (parallel: {dp, tp}) runs it as an MPI job of its own, started
     * by the group's leader in place of the group's ranks (which wait): sched/group_launch.h. */
    char **full = calloc((size_t)argc + 4, sizeof(char *));
    if (!full) return sg_plan_argv_free(argc, argv), sg_fail("out of memory");
    int n = 0;
    if (s->group <= 1) full[n++] = (char *)"spikeglue"; /* a launcher puts its own executable first */
    for (int k = 0; k < argc; k++) full[n++] = argv[k];
    if (ckpt[0]) {
        full[n++] = (char *)"--resume_from_checkpoint";
        full[n++] = ckpt;
    }
    full[n] = NULL;
    snprintf(log, sizeof log, "%s/run.log", dir);
    int rc = s->group > 1 ? sg_group_launch_start(&s->launch, full, n, dir, log, s->threads, s->spec.time_limit, child)
                          : sg_child_start(child, sg_self_exe(), full, log, s->threads, s->spec.time_limit);
    free(full);
    sg_plan_argv_free(argc, argv);
    return rc;
}

/* ---- coordinator bookkeeping (rank 0) ---- */

static int dep_state(const sweep *s, int i) { /* 1 ready, 0 wait, -1 dependency failed */
    int d = s->plan.runs[i].dep;
    if (d < 0) return 1;
    if (s->state[d] == RS_SKIPPED) return 1;
    if (s->state[d] != RS_DONE) return 0;
    return s->final[d] == SG_RUN_FINISHED ? 1 : -1;
}

/* The next run to start: the first pending, ready run of the plan's execution order (longest
 * expected first, runs others depend on before their peers). -1 when none is ready now. */
static int next_ready(const sweep *s) {
    for (int k = 0; k < s->plan.nruns; k++) {
        int i = s->plan.order[k];
        if (s->state[i] == RS_PENDING && dep_state(s, i) == 1) return i;
    }
    return -1;
}

static void model_override_of(const sweep *s, int i, char *out, size_t n) {
    out[0] = '\0';
    int d = s->plan.runs[i].dep;
    if (d < 0) return;
    char dir[4096];
    if (run_dir_of(s, d, dir, sizeof dir) == 0) sg_plan_output_dir(dir, out, n);
}

/* The sweep's ETA weighs runs by their expected cost, counting what running runs have done by
 * their heartbeats (so it is known before the first run ends). */
static void eta_text(const sweep *s, char *buf, size_t n) {
    double el = sg_wall_now() - s->t0, spent = s->cost_done + s->cost_partial;
    char eta[48] = "";
    if (spent > 0 && el > 0) {
        char d[32];
        sg_format_duration(el / spent * (s->cost_total - spent), d, sizeof d);
        snprintf(eta, sizeof eta, " ETA %s", d);
    }
    snprintf(buf, n, "failed %d running %d%s%s%s", s->failed, s->running, eta, s->running_text[0] ? " | " : "",
             s->running_text);
}

/* The live line on a terminal: about once a second, the running runs' heartbeats. */
static void live_refresh(sweep *s) {
    double now = sg_now();
    if (!s->progress.tty || now - s->last_live < 1.0) return;
    s->last_live = now;
    s->cost_partial = 0;
    s->running_text[0] = '\0';
    size_t used = 0;
    for (int i = 0; i < s->plan.nruns; i++) {
        if (s->state[i] != RS_RUNNING) continue;
        char dir[4096], path[4200];
        sg_heartbeat hb;
        if (run_dir_of(s, i, dir, sizeof dir)) continue;
        snprintf(path, sizeof path, "%s/%s", dir, SG_HEARTBEAT_NAME);
        if (sg_heartbeat_read(path, &hb)) continue; /* not written yet */
        /* training is most of a run's cost (taken as 90%); the simulation comes after it */
        double f = sg_heartbeat_fraction(&hb), share = strcmp(hb.phase, "snn") ? 0.9 * f : 0.9 + 0.1 * f;
        s->cost_partial += s->plan.runs[i].cost * share;
        char loss[32] = "";
        if (!isnan(hb.loss)) snprintf(loss, sizeof loss, " loss %.3f", hb.loss);
        int w = snprintf(s->running_text + used, sizeof s->running_text - used, "%s%s %s %ld/%ld%s", used ? ", " : "",
                         s->plan.runs[i].short_id, hb.phase, hb.step, hb.total, loss);
        if (w < 0 || (size_t)w >= sizeof s->running_text - used) break;
        used += (size_t)w;
    }
    sg_clear_error();
    char text[512];
    eta_text(s, text, sizeof text);
    sg_progress_redraw(&s->progress, text);
}

/* Whether the sweep's output is a terminal. Under Open MPI a rank's stdout is a pseudo-terminal
 * whatever mpirun's own is, so there the launcher's stdout decides (our parent when mpirun starts
 * the ranks itself; on other nodes the daemon's, not a terminal). SG_LIVE=0/1 decides outright. */
static int output_is_terminal(void) {
    const char *force = getenv("SG_LIVE");
    if (force && *force) return atoi(force) != 0;
    if (!getenv("OMPI_COMM_WORLD_SIZE")) return isatty(STDOUT_FILENO);
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/fd/1", (long)getppid());
    int fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return 0;
    int tty = isatty(fd);
    close(fd);
    return tty;
}

/* A finished run is reported (its line printed, the progress counted) only once results.h5
 * holds it, so a coordinator killed at any moment leaves a results.h5 with every run it reported
 * finished; the journal holds even more. */
static void queue_report(sweep *s, const char *line) {
    if (s->nunreported == s->cap_unreported) {
        int cap = s->cap_unreported ? 2 * s->cap_unreported : 64;
        char **p = realloc(s->unreported, sizeof *p * (size_t)cap);
        if (!p) return; /* the line is lost, the record is not */
        s->unreported = p;
        s->cap_unreported = cap;
    }
    s->unreported[s->nunreported] = strdup(line);
    if (s->unreported[s->nunreported]) s->nunreported++;
}

/* results.h5 is rebuilt from every record, so under a flood of short runs it is refreshed at most
 * every 4x its own cost (at most ~20% of the coordinator's time); with real runs that is at once. */
static int refresh_results(sweep *s, int force) {
    if (!s->store.h5_stale && s->nunreported == 0) return 0;
    double now = sg_wall_now();
    if (!force && now - s->last_refresh < 4 * s->refresh_cost) return 0;
    if (sg_store_sync(&s->store) || sg_store_refresh_h5(&s->store)) return -1;
    double end = sg_wall_now();
    s->refresh_cost = end - now;
    s->refresh_total += s->refresh_cost;
    s->refreshes++;
    s->last_refresh = end;
    for (int k = 0; k < s->nunreported; k++) {
        sg_progress_log(&s->progress, "%s", s->unreported[k]);
        free(s->unreported[k]);
    }
    s->nunreported = 0;
    s->last_live = 0; /* the running runs changed: the live line reads their heartbeats again */
    char text[512];
    eta_text(s, text, sizeof text);
    sg_progress_update(&s->progress, s->done, text);
    return 0;
}

/* Group commit: reports are journaled (written, not fsynced) as they arrive and their ranks get
 * more work at once; one fsync makes the batch durable when the coordinator has nothing else to do
 * or its oldest line has waited COMMIT_WINDOW_S. Nothing is printed before (refresh_results), so a
 * coordinator killed before the fsync loses only runs it never reported, which --resume reruns;
 * the journal is append-only, so an fsync never makes a run durable without the runs before it
 * (a dependency included). */
#define COMMIT_WINDOW_S 0.005
static int commit_due(sweep *s, int idle) {
    if (!s->store.unsynced) {
        s->unsynced_since = 0;
        return 0;
    }
    double now = sg_wall_now();
    if (s->unsynced_since == 0) s->unsynced_since = now;
    if (!idle && now - s->unsynced_since < COMMIT_WINDOW_S) return 0;
    s->unsynced_since = 0;
    return 1;
}

/* Records a finished attempt; commits it durably when final. Returns -1 only when the store fails. */
static int finish_run(sweep *s, const sweep_msg *m) {
    int i = m->run;
    const sg_plan_run *r = &s->plan.runs[i];
    s->running--;
    /* preempted (or killed by the cluster's signal to the whole job while the sweep stops): it goes
     * back to the queue and resumes from its checkpoint when the sweep is requeued */
    if (m->interrupted || (g_sweep_signal && (sg_run_status)m->status != SG_RUN_FINISHED)) {
        s->state[i] = RS_PENDING;
        sg_progress_log(&s->progress, "interrupted %s %s seed %d %s (will resume from its checkpoint)", r->short_id,
                        r->task->name, r->seed, r->variant_name);
        return 0;
    }
    s->attempts[i]++;
    sg_run_status st = (sg_run_status)m->status;
    if (st != SG_RUN_FINISHED && s->attempts[i] <= s->spec.retries && !g_sweep_signal) {
        sg_progress_log(&s->progress, "retry   %s %s seed %d %s (attempt %d failed: %s)", r->short_id, r->task->name, r->seed,
                        r->variant_name, s->attempts[i], m->text);
        s->state[i] = RS_PENDING;
        return 0;
    }
    sg_run_record rec;
    sg_run_record_init(&rec);
    char dir[4096], out[4200];
    run_dir_of(s, i, dir, sizeof dir);
    sg_plan_output_dir(dir, out, sizeof out);
    if (st == SG_RUN_FINISHED && !s->trivial &&
        (r->pretrain ? sg_run_record_from_pretrain_dir(out, &rec) : sg_run_record_from_dir(out, &rec))) { /* outputs unreadable: a failure */
        st = SG_RUN_FAILED;
        sg_run_record_free(&rec);
        sg_run_record_init(&rec);
        sg_run_record_set_str(&rec.error, sg_last_error());
    } else if (st != SG_RUN_FINISHED) {
        sg_run_record_set_str(&rec.error, m->text);
    }
    memcpy(rec.id, r->id, sizeof rec.id);
    memcpy(rec.short_id, r->short_id, sizeof rec.short_id);
    sg_run_record_set_str(&rec.task, r->task->name);
    sg_run_record_set_str(&rec.variant, r->variant_name);
    rec.seed = r->seed;
    rec.level = r->level;
    rec.kind = r->pretrain ? SG_RUN_KIND_PRETRAIN : SG_RUN_KIND_GLUE;
    rec.status = st;
    rec.attempts = s->attempts[i];
    sg_run_record_set_str(&rec.config, r->config);
    sg_run_record_set_str(&rec.version, s->plan.version);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    sg_run_record_set_str(&rec.host, host);
    rec.rank = m->rank;
    rec.start_time = m->start;
    rec.end_time = m->end;
    rec.wall_seconds = m->end - m->start;
    int rc = sg_store_add(&s->store, &rec);
    s->state[i] = RS_DONE;
    s->final[i] = st;
    s->cost_done += r->cost;
    if (st == SG_RUN_FINISHED) {
        s->done++;
        double main_metric = sg_task_main_metric(r->task->name, &rec.qann), snn = sg_task_main_metric(r->task->name, &rec.snn);
        char snn_text[48] = "";
        if (snn == snn) snprintf(snn_text, sizeof snn_text, " (snn %.4f)", snn);
        char line[512];
        if (r->pretrain) /* its held-out masked-LM loss, not a GLUE metric */
            snprintf(line, sizeof line, "done    %s %-5s seed %d %-10s %s eval_loss %.4f (perplexity %.4g) %.1fs [rank %d]",
                     r->short_id, r->task->name, r->seed, r->variant_name, r->model, sg_metric_map_get(&rec.qann, "loss"),
                     sg_metric_map_get(&rec.qann, "perplexity"), rec.wall_seconds, m->rank);
        else
            snprintf(line, sizeof line, "done    %s %-5s seed %d %-10s %s %.4f%s %.1fs [rank %d]", r->short_id, r->task->name,
                     r->seed, r->variant_name, sg_task_main_metric_name(r->task->name), main_metric, snn_text, rec.wall_seconds,
                     m->rank);
        queue_report(s, line);
    } else {
        s->failed++;
        s->done++;
        char line[4600];
        snprintf(line, sizeof line, "%s  %s %s seed %d %s: %s%s",
                 st == SG_RUN_TIMEOUT ? "TIMEOUT" : st == SG_RUN_DIVERGED ? "DIVERGED" : "FAILED ", r->short_id, r->task->name,
                 r->seed, r->variant_name, m->text, s->first_failure_shown ? "" : "  (see its run.log)");
        queue_report(s, line);
        s->first_failure_shown = 1;
    }
    sg_run_record_free(&rec);
    if (rc) return -1;
    /* a run whose dependency failed cannot run: record it as failed now */
    for (int k = 0; k < s->plan.nruns; k++)
        if (s->state[k] == RS_PENDING && dep_state(s, k) < 0) {
            sweep_msg f;
            memset(&f, 0, sizeof f);
            f.run = k;
            f.status = SG_RUN_FAILED;
            f.start = f.end = sg_wall_now();
            const sg_plan_run *dep = &s->plan.runs[s->plan.runs[k].dep];
            snprintf(f.text, sizeof f.text, "its %s run %s did not finish", dep->pretrain ? "pretrain" : "start_from", dep->short_id);
            s->running++;
            s->attempts[k] = s->spec.retries; /* no retries: the cause is upstream */
            if (finish_run(s, &f)) return -1;
        }
    return 0;
}

static int all_settled(const sweep *s) {
    for (int i = 0; i < s->plan.nruns; i++)
        if (s->state[i] == RS_PENDING || s->state[i] == RS_RUNNING) return 0;
    return 1;
}

static int assign(sweep *s, int i, int rank, sweep_msg *m) {
    memset(m, 0, sizeof *m);
    m->run = i;
    model_override_of(s, i, m->text, sizeof m->text);
    s->state[i] = RS_RUNNING;
    s->running++;
    return MPI_Send(m, (int)sizeof *m, MPI_BYTE, rank, TAG_ASSIGN, MPI_COMM_WORLD) == MPI_SUCCESS ? 0 : -1;
}

static int coordinate(sweep *s) {
    /* workers: the leaders of the other run groups (every rank when groups are of 1) */
    int *parked = calloc((size_t)s->size, sizeof(int)), nparked = 0, stopped = 0, workers = s->size / s->group - 1;
    if (!parked) return sg_fail("out of memory");
    sg_child local;
    int local_run = -1, rc = 0, interrupted_by_signal = 0, idle_rounds = 0;
    double local_start = 0;
    while (rc == 0) {
        int progress = 0;
        if (g_sweep_signal && !interrupted_by_signal) { /* preemption: runs checkpoint, we flush and stop */
            interrupted_by_signal = 1;
            if (local_run >= 0) sg_child_signal(&local, SIGTERM);
            char sig[160];
            sg_progress_log(&s->progress, "%s: asking running pipelines to checkpoint, then stopping",
                            sg_signal_describe((int)g_sweep_signal, sig, sizeof sig));
        }
        /* rank 0's own run */
        if (local_run >= 0) {
            sweep_msg f = {.run = local_run, .rank = 0, .start = local_start};
            sg_run_status st;
            if (sg_child_poll(&local, &st, &f.interrupted, f.text, sizeof f.text)) {
                f.status = st;
                f.end = sg_wall_now();
                local_run = -1;
                if (finish_run(s, &f)) rc = -1;
                progress = 1;
            }
        }
        /* every report waiting from the other ranks: they are committed together */
        for (;;) {
            int flag = 0;
            MPI_Status ms;
            MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &ms);
            if (!flag) break;
            sweep_msg m;
            MPI_Recv(&m, (int)sizeof m, MPI_BYTE, ms.MPI_SOURCE, ms.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (ms.MPI_TAG == TAG_DONE && m.run >= 0) {
                s->worker_wait += m.wait;
                if (rc == 0 && finish_run(s, &m)) rc = -1;
            }
            parked[nparked++] = ms.MPI_SOURCE;
            progress = 1;
        }
        /* rank 0 works too */
        while (rc == 0 && local_run < 0 && !g_sweep_signal) {
            int i = next_ready(s);
            if (i < 0) break;
            char override[4096];
            model_override_of(s, i, override, sizeof override);
            s->state[i] = RS_RUNNING;
            s->running++;
            local_start = sg_wall_now();
            int resume = s->attempts[i] == 0; /* an interrupted first attempt resumes */
            sweep_msg f = {.run = i, .status = SG_RUN_FINISHED, .rank = 0, .start = local_start};
            if (s->trivial) {
                f.end = sg_wall_now();
                if (finish_run(s, &f)) rc = -1;
                progress = 1;
                break; /* one at a time, so rank 0's share stays like a worker's */
            }
            if (start_run(s, i, override, resume, &local)) {
                f.status = SG_RUN_FAILED;
                f.end = sg_wall_now();
                snprintf(f.text, sizeof f.text, "%s", sg_last_error());
                if (finish_run(s, &f)) rc = -1;
            } else {
                local_run = i;
            }
            progress = 1;
        }
        /* hand work to waiting ranks, or stop them when nothing more can come */
        while (nparked > 0 && rc == 0) {
            int i = g_sweep_signal ? -1 : next_ready(s);
            int r = parked[nparked - 1];
            if (i >= 0) {
                sweep_msg m;
                if (assign(s, i, r, &m)) rc = sg_fail("MPI_Send to rank %d failed", r);
                s->dispatched++;
                nparked--;
            } else if (all_settled(s) || g_sweep_signal) {
                sweep_msg m;
                memset(&m, 0, sizeof m);
                MPI_Send(&m, (int)sizeof m, MPI_BYTE, r, TAG_STOP, MPI_COMM_WORLD);
                nparked--;
                stopped++;
            } else {
                break; /* nothing ready yet: they wait for a dependency */
            }
        }
        int finished = stopped == workers && local_run < 0 && (all_settled(s) || g_sweep_signal);
        if (rc == 0 && commit_due(s, finished || !progress) && sg_store_sync(&s->store)) rc = -1;
        if (rc == 0 && refresh_results(s, finished || !progress)) rc = -1;
        if (finished) break;
        if (rc == 0) live_refresh(s); /* it clears the error state its reads leave: never over a real error */
        if (progress) idle_rounds = 0;
        else nap_backoff(idle_rounds++);
    }
    if (local_run >= 0) { /* an error in the store: still reap our child */
        sg_run_status st;
        int intr;
        char err[256];
        sg_child_signal(&local, SIGTERM);
        sg_child_wait(&local, &st, &intr, err, sizeof err);
    }
    free(parked);
    return rc;
}

static void work(sweep *s) {
    sweep_msg m;
    memset(&m, 0, sizeof m);
    m.run = -1;
    m.rank = s->rank;
    MPI_Send(&m, (int)sizeof m, MPI_BYTE, 0, TAG_REQUEST, MPI_COMM_WORLD);
    for (;;) {
        MPI_Status ms;
        double asked = sg_wall_now();
        MPI_Recv(&m, (int)sizeof m, MPI_BYTE, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &ms);
        if (ms.MPI_TAG == TAG_STOP) return;
        sweep_msg done;
        memset(&done, 0, sizeof done);
        done.run = m.run;
        done.rank = s->rank;
        done.start = sg_wall_now();
        done.wait = done.start - asked;
        sg_child child;
        if (s->trivial) {
            done.status = SG_RUN_FINISHED;
        } else if (start_run(s, m.run, m.text, 1, &child)) {
            done.status = SG_RUN_FAILED;
            snprintf(done.text, sizeof done.text, "%s", sg_last_error());
        } else {
            sg_run_status st;
            int signalled = 0;
            while (!sg_child_poll(&child, &st, &done.interrupted, done.text, sizeof done.text)) {
                if (g_sweep_signal && !signalled) { /* preemption: let the run checkpoint */
                    sg_child_signal(&child, SIGTERM);
                    signalled = 1;
                }
                nap();
            }
            done.status = st;
        }
        done.end = sg_wall_now();
        MPI_Send(&done, (int)sizeof done, MPI_BYTE, 0, TAG_DONE, MPI_COMM_WORLD);
    }
}

/* Cores of this node shared by the ranks on it. */
static int threads_per_run(const sg_sweep_options *o) {
    if (o->threads > 0) return o->threads;
    const char *env = getenv("OMP_NUM_THREADS");
    if (env && atoi(env) > 0) return atoi(env);
    MPI_Comm node;
    int local = 1;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &local);
        MPI_Comm_free(&node);
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int t = (int)(cores / (local > 0 ? local : 1));
    return t > 0 ? t : 1;
}

static int prepare(sweep *s) {
    if (sg_jobspec_load(s->o->spec_path, &s->spec)) return -1;
    if (sg_plan_build(&s->spec, SG_PLAN_VERSION, &s->plan)) return -1;
    if (s->o->slice_n > 0 && sg_plan_slice(&s->plan, s->o->slice_k, s->o->slice_n)) return -1;
    s->group = s->spec.dp * s->spec.tp;
    if (!s->o->dry_run && s->size % s->group != 0)
        return sg_fail("%s: parallel: dp %d x tp %d = %d ranks per run group: the sweep has %d ranks, not a multiple of %d (start it "
                       "with mpirun -n %d, %d, ...)",
                       s->o->spec_path, s->spec.dp, s->spec.tp, s->group, s->size, s->group, s->group, 2 * s->group);
    snprintf(s->sweep_dir, sizeof s->sweep_dir, "%s/%s", s->o->results_root, s->spec.name);
    s->state = calloc((size_t)s->plan.nruns + 1, sizeof(run_state));
    s->attempts = calloc((size_t)s->plan.nruns + 1, sizeof(int));
    s->final = calloc((size_t)s->plan.nruns + 1, sizeof(sg_run_status));
    if (!s->state || !s->attempts || !s->final) return sg_fail("out of memory");
    return 0;
}

static int write_plan_json(const sweep *s) {
    cJSON *j = sg_plan_to_json(&s->plan);
    if (!j) return sg_fail("out of memory");
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    char path[4200];
    snprintf(path, sizeof path, "%s/plan.json", s->sweep_dir);
    int rc = text ? sg_write_file_atomic(path, text, strlen(text)) : sg_fail("out of memory");
    free(text);
    return rc;
}

static int open_store(sweep *s) {
    char journal[4200];
    snprintf(journal, sizeof journal, "%s/results.jsonl", s->sweep_dir);
    if (sg_is_file(journal) && !s->o->resume && !s->o->retry_failed)
        return sg_fail("%s already holds results (use --resume to continue it, or choose another --results directory)", s->sweep_dir);
    if (sg_mkdirs(s->sweep_dir) || sg_store_open(s->sweep_dir, &s->store)) return -1;
    s->total = s->plan.nruns;
    for (int i = 0; i < s->plan.nruns; i++) {
        sg_run_status st = sg_store_finished(&s->store, s->plan.runs[i].id);
        int skip = s->o->retry_failed ? (st == SG_RUN_NONE || st == SG_RUN_FINISHED) : st == SG_RUN_FINISHED;
        if (skip) {
            s->state[i] = RS_SKIPPED;
            s->final[i] = st;
            s->skipped++;
        }
    }
    s->total = s->plan.nruns - s->skipped;
    for (int i = 0; i < s->plan.nruns; i++)
        if (s->state[i] != RS_SKIPPED) s->cost_total += s->plan.runs[i].cost;
    return write_plan_json(s);
}

static int make_synth_data(const sweep *s) {
    if (!s->spec.synth_data || sg_is_dir(s->spec.data_dir)) return 0;
    sg_synth_options so;
    sg_synth_defaults(&so);
    if (sg_synth_write(s->spec.data_dir, &so)) return -1;
    printf("wrote synthetic tasks to %s\n", s->spec.data_dir);
    return 0;
}

static void finish_reports(sweep *s) {
    char path[4200];
    snprintf(path, sizeof path, "%s/results.h5", s->sweep_dir);
    char note[512] = "";
    const char *baseline = NULL; /* the variant without a transform, if any */
    for (int v = 0; v < s->spec.nvariants && !baseline; v++)
        if (!s->spec.variants[v].transform) baseline = s->spec.variants[v].name;
    if (sg_report_write_files(path, s->sweep_dir, baseline, note, sizeof note)) {
        fprintf(stderr, "spikeglue: warning: leaderboard: %s\n", sg_last_error());
        return;
    }
    if (note[0]) printf("%s\n", note);
    snprintf(path, sizeof path, "%s/leaderboard.md", s->sweep_dir);
    size_t len;
    char *md = sg_read_file(path, 1 << 24, &len);
    if (md) {
        printf("\n%s", md);
        free(md);
    }
    printf("\nresults: %s/results.h5, leaderboard: %s/leaderboard.md (.csv); `spikeglue report %s/results.h5` for other views\n",
           s->sweep_dir, s->sweep_dir, s->sweep_dir);
}

int sg_sweep_main(const sg_sweep_options *o) {
    sweep s;
    memset(&s, 0, sizeof s);
    s.o = o;
    MPI_Comm_rank(MPI_COMM_WORLD, &s.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &s.size);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sweep_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL); /* SLURM's --signal warning before the time limit */
    int ok = prepare(&s) == 0;
    if (!ok && s.rank == 0) sg_print_error();
    int status = 0;
    if (o->dry_run) {
        if (ok && s.rank == 0) sg_plan_print(&s.plan, stdout);
        status = ok ? 0 : 1;
        goto out;
    }
    /* every rank must agree to go on: rank 0's setup (data, store) can fail */
    int go = ok;
    if (s.rank == 0 && ok) {
        go = make_synth_data(&s) == 0 && open_store(&s) == 0;
        if (!go) sg_print_error();
    }
    MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!go) {
        status = 1;
        goto out;
    }
    s.threads = threads_per_run(o);
    /* every rank takes part (the hosts are gathered); a launcher that cannot be used stops all,
     * its error printed once, by the lowest rank that met it */
    int mine = sg_group_launch_init(&s.launch, s.group, s.rank, s.size) == 0 ? s.size : s.rank, first_bad = 0;
    MPI_Allreduce(&mine, &first_bad, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first_bad == s.rank) sg_print_error();
    if (first_bad < s.size) {
        status = 1;
        goto out;
    }
    const char *trivial = getenv("SG_BENCH_TRIVIAL_RUNS");
    s.trivial = trivial && atoi(trivial) > 0;
    if (s.rank % s.group != 0) { /* a group member: its leader's run uses this rank's share */
        goto out;
    }
    if (s.rank != 0) {
        work(&s);
        goto out;
    }
    char groups[160] = "", launcher[64];
    if (s.group > 1)
        snprintf(groups, sizeof groups, " in %d groups of %d (dp %d x tp %d, %s)", s.size / s.group, s.group, s.spec.dp, s.spec.tp,
                 sg_group_launch_describe(&s.launch, launcher, sizeof launcher));
    printf("sweep %s: %d runs (%d already finished), %d ranks%s, %d thread%s per %s, results in %s\n", s.spec.name,
           s.plan.nruns, s.skipped, s.size, groups, s.threads, s.threads == 1 ? "" : "s", s.group > 1 ? "rank" : "run",
           s.sweep_dir);
    fflush(stdout);
    s.t0 = sg_wall_now();
    sg_progress_start_on(&s.progress, "sweep", s.total, stdout, output_is_terminal(), 1);
    int rc = coordinate(&s);
    sg_progress_finish(&s.progress);
    if (rc) {
        sg_print_error();
        status = 1;
    } else if (g_sweep_signal) {
        char sig[160];
        fprintf(stderr, "spikeglue: sweep stopped by %s; %d runs committed; continue with --resume\n",
                sg_signal_describe((int)g_sweep_signal, sig, sizeof sig), s.done);
        status = 143;
    } else {
        double wall = sg_wall_now() - s.t0;
        printf("sweep %s: %d finished, %d failed, %d skipped (already finished) in %.1f s\n", s.spec.name, s.done - s.failed,
               s.failed, s.skipped, wall);
        if (s.size / s.group > 1 && wall > 0)
            printf("scheduling: %ld runs dispatched to %d worker ranks (%.0f runs/s through the coordinator), workers waited "
                   "%.3f ms per assignment, %.2f%% of their time; results.h5 written %d times (%.2f s)\n",
                   s.dispatched, s.size / s.group - 1, (s.done + 0.0) / wall, s.dispatched ? 1e3 * s.worker_wait / s.dispatched : 0.0,
                   100.0 * s.worker_wait / ((s.size / s.group - 1) * wall), s.refreshes, s.refresh_total);
        finish_reports(&s);
        status = s.failed ? 3 : 0;
    }
    sg_store_close(&s.store);
out:
    sg_group_launch_free(&s.launch);
    if (s.plan.runs) sg_plan_free(&s.plan);
    sg_jobspec_free(&s.spec);
    free(s.state);
    free(s.attempts);
    free(s.final);
    for (int k = 0; k < s.nunreported; k++) free(s.unreported[k]);
    free(s.unreported);
    return status;
}
