#include "sched/runner.h"

#include "core/clock.h"
#include "core/error.h"
#include "train/progress.h" /* SG_PROGRESS_FILE_ENV: where a run writes its heartbeat */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

const char *sg_self_exe(void) {
    static char path[4096];
    if (!path[0]) {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        if (n <= 0) snprintf(path, sizeof path, "spikeglue");
        else path[n] = '\0';
    }
    return path;
}

const char *sg_find_in_path(const char *exe, char *buf, size_t cap) {
    if (strchr(exe, '/')) return access(exe, X_OK) == 0 ? exe : NULL;
    const char *path = getenv("PATH");
    if (!path) path = "/usr/bin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        if (len > 0 && (size_t)snprintf(buf, cap, "%.*s/%s", (int)len, path, exe) < cap && access(buf, X_OK) == 0) return buf;
        path += len + (end ? 1 : 0);
    }
    return NULL;
}

/* launcher < 0: the sweep's environment as it is; else filtered by sg_launch_env_keep(launcher),
 * plus extra_env when not NULL */
static int child_start(sg_child *c, const char *exe, char *const argv[], const char *log_path, int threads,
                       double time_limit, int launcher, const char *extra_env);

void sg_child_heartbeat_path(const char *log_path, char *out, size_t cap) {
    const char *slash = strrchr(log_path, '/');
    if (slash) snprintf(out, cap, "%.*s/%s", (int)(slash - log_path), log_path, SG_HEARTBEAT_NAME);
    else snprintf(out, cap, "%s", SG_HEARTBEAT_NAME);
}

int sg_child_start(sg_child *c, const char *exe, char *const argv[], const char *log_path, int threads, double time_limit) {
    return child_start(c, exe, argv, log_path, threads, time_limit, -1, NULL);
}

int sg_child_start_group(sg_child *c, const char *exe, char *const argv[], const char *log_path, int threads, double time_limit,
                         sg_launcher launcher, const char *extra_env) {
    return child_start(c, exe, argv, log_path, threads, time_limit, (int)launcher, extra_env);
}

static int child_start(sg_child *c, const char *exe, char *const argv[], const char *log_path, int threads,
                       double time_limit, int launcher, const char *extra_env) {
    memset(c, 0, sizeof *c);
    snprintf(c->log_path, sizeof c->log_path, "%s", log_path);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return sg_fail("%s: cannot open the run log: %s", log_path, strerror(errno));
    /* the child's environment: ours, with its thread count */
    size_t n = 0;
    while (environ[n]) n++;
    char **env = calloc(n + 4, sizeof(char *));
    char threads_var[64], beat_var[4400];
    if (!env) {
        close(fd);
        return sg_fail("out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if ((threads <= 0 || strncmp(environ[i], "OMP_NUM_THREADS=", 16) != 0) && (launcher < 0 || sg_launch_env_keep((sg_launcher)launcher, environ[i])) &&
            strncmp(environ[i], SG_PROGRESS_FILE_ENV "=", strlen(SG_PROGRESS_FILE_ENV) + 1) != 0)
            env[k++] = environ[i];
    if (threads > 0) {
        snprintf(threads_var, sizeof threads_var, "OMP_NUM_THREADS=%d", threads);
        env[k++] = threads_var;
    }
    /* the run's heartbeat beside its log; an earlier attempt's is removed so it is never read as this one's */
    sg_child_heartbeat_path(log_path, beat_var + strlen(SG_PROGRESS_FILE_ENV "="), sizeof beat_var - strlen(SG_PROGRESS_FILE_ENV "="));
    memcpy(beat_var, SG_PROGRESS_FILE_ENV "=", strlen(SG_PROGRESS_FILE_ENV "="));
    unlink(beat_var + strlen(SG_PROGRESS_FILE_ENV "="));
    env[k++] = beat_var;
    if (extra_env) env[k++] = (char *)extra_env;
    env[k] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, fd, STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    /* SLURM's --signal warning (USR1) goes to every process of the job: the run ignores it and
     * checkpoints on the SIGTERM the sweep sends it instead */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    posix_spawnattr_setsigmask(&attr, &mask);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    int rc = posix_spawn(&c->pid, exe, &fa, &attr, argv, env);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    close(fd);
    if (rc != 0) return sg_fail("cannot start %s: %s", exe, strerror(rc));
    c->start = sg_now();
    c->deadline = time_limit > 0 ? c->start + time_limit : 0;
    return 0;
}

static const char *signal_name(int sig) {
    switch (sig) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGUSR1: return "SIGUSR1";
    case SIGSEGV: return "SIGSEGV";
    case SIGUSR2: return "SIGUSR2";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    case SIGXCPU: return "SIGXCPU";
    default: return NULL;
    }
}

const char *sg_signal_describe(int sig, char *buf, size_t cap) {
    const char *name = signal_name(sig);
    /* Open MPI's mpirun sets this in every rank; a singleton's MPI_Init does not (it sets PMIX_RANK) */
    int under_mpirun = getenv("OMPI_COMM_WORLD_SIZE") != NULL;
    const char *why = sig == SIGINT                   ? " (Ctrl-C)"
                      : sig == SIGTERM && under_mpirun ? " (from mpirun, which sends it to every rank when it is "
                                                         "stopped with Ctrl-C or SIGTERM; or from the batch system)"
                      : sig == SIGUSR1                 ? " (SLURM's warning before the time limit)"
                                                       : "";
    if (name) snprintf(buf, cap, "%s%s", name, why);
    else snprintf(buf, cap, "signal %d (%s)", sig, strsignal(sig));
    return buf;
}

/* The run's own one-line error ("spikeglue: error: ..."), the last one in its log. */
static void last_error_line(const char *log_path, char *error, size_t len) {
    FILE *f = fopen(log_path, "r");
    if (!f) return;
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "spikeglue: error: ");
        if (!p) continue;
        snprintf(error, len, "%s", p + strlen("spikeglue: error: "));
        error[strcspn(error, "\n")] = '\0';
    }
    fclose(f);
}

static void classify(sg_child *c, int wstatus, sg_run_status *status, int *interrupted, char *error, size_t len) {
    error[0] = '\0';
    *interrupted = 0;
    if (c->killed_for_time) {
        *status = SG_RUN_TIMEOUT;
        snprintf(error, len, "exceeded the time limit of %.0f s", c->deadline - c->start);
        return;
    }
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
        *status = SG_RUN_FINISHED;
        return;
    }
    last_error_line(c->log_path, error, len);
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 130) {
        *status = SG_RUN_FAILED;
        *interrupted = 1;
        if (!error[0]) snprintf(error, len, "interrupted (checkpoint saved)");
        return;
    }
    *status = strstr(error, "diverged") ? SG_RUN_DIVERGED : SG_RUN_FAILED;
    if (!error[0]) {
        int sig = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
        if (sig && signal_name(sig)) snprintf(error, len, "killed by %s (%s)", signal_name(sig), strsignal(sig));
        else if (sig) snprintf(error, len, "killed by signal %d (%s)", sig, strsignal(sig));
        else snprintf(error, len, "exited with status %d", WEXITSTATUS(wstatus));
    }
}

int sg_child_poll(sg_child *c, sg_run_status *status, int *interrupted, char *error, size_t error_len) {
    int ws;
    pid_t r = waitpid(c->pid, &ws, WNOHANG);
    *interrupted = 0;
    if (r == c->pid) {
        classify(c, ws, status, interrupted, error, error_len);
        return 1;
    }
    if (r < 0) {
        *status = SG_RUN_FAILED;
        snprintf(error, error_len, "lost the run process: %s", strerror(errno));
        return 1;
    }
    if (c->deadline > 0 && sg_now() > c->deadline) {
        if (!c->killed_for_time) {
            c->killed_for_time = 1;
            kill(c->pid, SIGTERM);
        } else if (sg_now() > c->deadline + 10.0) {
            kill(c->pid, SIGKILL);
        }
    }
    return 0;
}

int sg_child_wait(sg_child *c, sg_run_status *status, int *interrupted, char *error, size_t error_len) {
    for (;;) {
        if (sg_child_poll(c, status, interrupted, error, error_len)) return 0;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

void sg_child_signal(sg_child *c, int sig) {
    if (c->pid > 0) kill(c->pid, sig);
}
