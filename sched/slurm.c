#include "sched/slurm.h"

#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int sg_slurm_capture(char *const argv[], char *out, size_t cap) {
    if (cap) out[0] = '\0';
    int fds[2];
    if (pipe(fds)) return snprintf(out, cap, "pipe: %s", strerror(errno)), -1;
    /* the child reports a failed exec through a second, close-on-exec pipe */
    int err_fds[2];
    if (pipe(err_fds)) {
        close(fds[0]);
        close(fds[1]);
        return snprintf(out, cap, "pipe: %s", strerror(errno)), -1;
    }
    fcntl(err_fds[1], F_SETFD, FD_CLOEXEC);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        close(err_fds[0]);
        close(err_fds[1]);
        return snprintf(out, cap, "fork: %s", strerror(e)), -1;
    }
    if (pid == 0) {
        close(fds[0]);
        close(err_fds[0]);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        execvp(argv[0], argv);
        int e = errno;
        ssize_t w = write(err_fds[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(fds[1]);
    close(err_fds[1]);
    size_t len = 0;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        for (ssize_t k = 0; k < n; k++)
            if (len + 1 < cap) out[len++] = buf[k];
    }
    if (cap) out[len < cap ? len : cap - 1] = '\0';
    close(fds[0]);
    int exec_errno = 0;
    ssize_t got = read(err_fds[0], &exec_errno, sizeof exec_errno);
    close(err_fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (got == (ssize_t)sizeof exec_errno) {
        snprintf(out, cap, "%s: cannot run: %s", argv[0], strerror(exec_errno));
        return -1;
    }
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* The output as one line: newlines become spaces, trailing space trimmed. */
static void one_line(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r')) s[--n] = '\0';
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
}

/* Errors that waiting cannot fix: retrying them only delays the message. */
static int permanent_error(const char *text) {
    static const char *const words[] = {"invalid", "unrecognized", "no such file", "not found", "cannot run",
                                        "unable to open file", "not a valid", "unknown"};
    char lower[512];
    size_t n = 0;
    for (; text[n] && n + 1 < sizeof lower; n++) lower[n] = (char)(text[n] >= 'A' && text[n] <= 'Z' ? text[n] + 32 : text[n]);
    lower[n] = '\0';
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(lower, words[i])) return 1;
    return 0;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

int sg_slurm_sbatch(const char *args, const char *script, int attempts, int backoff_ms, char *job_id, size_t cap,
                    sg_slurm_note_fn note, void *ctx) {
    char words[2048];
    if (snprintf(words, sizeof words, "%s", args ? args : "") >= (int)sizeof words) return sg_fail("sbatch: arguments too long");
    char *argv[64];
    int argc = 0;
    argv[argc++] = (char *)"sbatch";
    for (char *tok = strtok(words, " "); tok && argc < 62; tok = strtok(NULL, " ")) argv[argc++] = tok;
    argv[argc++] = (char *)script;
    argv[argc] = NULL;
    if (attempts < 1) attempts = 1;
    char out[2048];
    long wait_ms = backoff_ms > 0 ? backoff_ms : 0;
    for (int a = 1;; a++) {
        int rc = sg_slurm_capture(argv, out, sizeof out);
        one_line(out);
        if (rc == 0) {
            /* --parsable: "id" or "id;cluster" (possibly after warnings on earlier lines) */
            const char *last = strrchr(out, ' ');
            last = last ? last + 1 : out;
            size_t n = strspn(last, "0123456789");
            if (n > 0 && n < cap) {
                memcpy(job_id, last, n);
                job_id[n] = '\0';
                return 0;
            }
            snprintf(out + strlen(out), sizeof out - strlen(out), "%s(no job id in the output)", out[0] ? " " : "");
        } else if (!out[0]) {
            snprintf(out, sizeof out, "exit status %d, no output", rc);
        }
        int permanent = rc < 0 || permanent_error(out);
        if (a >= attempts || permanent)
            return sg_fail("sbatch %s: failed %d time%s%s: %s", script, a, a == 1 ? "" : "s",
                           permanent && a < attempts ? " (not retried: waiting cannot fix this error)" : "", out);
        if (note) {
            char line[2300];
            snprintf(line, sizeof line, "sbatch %s failed (attempt %d of %d): %s; retrying in %.1f s", script, a, attempts,
                     out, wait_ms / 1000.0);
            note(ctx, line);
        }
        sleep_ms(wait_ms);
        wait_ms = wait_ms * 2 > 60000 ? 60000 : wait_ms * 2;
    }
}

int sg_slurm_max_array_size(int *out) {
    char *argv[] = {(char *)"scontrol", (char *)"show", (char *)"config", NULL};
    char *text = malloc(1 << 16);
    if (!text) return sg_fail("out of memory");
    int rc = sg_slurm_capture(argv, text, 1 << 16);
    const char *p = rc == 0 ? strstr(text, "MaxArraySize") : NULL;
    int value = 0;
    if (p) {
        p += strlen("MaxArraySize");
        while (*p == ' ' || *p == '=') p++;
        value = atoi(p);
    }
    if (value <= 0) {
        one_line(text);
        sg_fail("scontrol show config: no MaxArraySize%s%.120s", text[0] ? ": " : "", text);
        free(text);
        return -1;
    }
    free(text);
    *out = value;
    return 0;
}

/* Adds a state to "N STATE, M STATE" counts. */
typedef struct {
    char name[8][32];
    int count[8];
    int n;
} state_counts;

static void count_state(state_counts *c, const char *state) {
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->name[i], state)) {
            c->count[i]++;
            return;
        }
    if (c->n == 8) return;
    snprintf(c->name[c->n], sizeof c->name[0], "%s", state);
    c->count[c->n++] = 1;
}

static int format_counts(const state_counts *c, char *out, size_t cap) {
    if (c->n == 0) return 0;
    int total = 0;
    for (int i = 0; i < c->n; i++) total += c->count[i];
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < c->n && len < cap; i++) {
        if (total == 1) len += (size_t)snprintf(out + len, cap - len, "%s", c->name[i]);
        else len += (size_t)snprintf(out + len, cap - len, "%s%d %s", i ? ", " : "", c->count[i], c->name[i]);
    }
    return 1;
}

int sg_slurm_job_state(const char *job_id, char *out, size_t cap) {
    char text[16384];
    state_counts c;
    memset(&c, 0, sizeof c);
    char *squeue[] = {(char *)"squeue", (char *)"-h", (char *)"-r", (char *)"-t", (char *)"all", (char *)"-j", (char *)job_id,
                      (char *)"-o", (char *)"%T", NULL};
    int rc = sg_slurm_capture(squeue, text, sizeof text);
    if (rc == 0) {
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
            if (line[0] >= 'A' && line[0] <= 'Z') count_state(&c, line);
        if (format_counts(&c, out, cap)) return 1;
    }
    char *scontrol[] = {(char *)"scontrol", (char *)"-o", (char *)"show", (char *)"job", (char *)job_id, NULL};
    int rc2 = sg_slurm_capture(scontrol, text, sizeof text);
    if (rc2 == 0) {
        for (char *p = strstr(text, "JobState="); p; p = strstr(p, "JobState=")) {
            p += strlen("JobState=");
            char state[32];
            size_t n = strcspn(p, " \n");
            snprintf(state, sizeof state, "%.*s", (int)(n < sizeof state ? n : sizeof state - 1), p);
            count_state(&c, state);
        }
        if (format_counts(&c, out, cap)) return 1;
    }
    if (rc < 0 && rc2 < 0) {
        snprintf(out, cap, "squeue and scontrol not available");
        return -1;
    }
    snprintf(out, cap, "not known to SLURM any more");
    return 0;
}
