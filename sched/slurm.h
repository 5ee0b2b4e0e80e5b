/* SLURM's commands (sbatch, scontrol, squeue) run as child processes, found on PATH. */
#ifndef SG_SCHED_SLURM_H
#define SG_SCHED_SLURM_H

#include <stddef.h>

/* Run argv (argv[0] looked up on PATH) and capture stdout and stderr together into out
 * (NUL-terminated, cut at cap - 1). Returns the exit status (0..255; 128 + signal), or -1 when
 * it could not be started (e.g. not installed: message in out). */
int sg_slurm_capture(char *const argv[], char *out, size_t cap);

/* Receives one line per failed attempt ("sbatch failed (attempt 1 of 5): ...; retrying in 2 s"). */
typedef void (*sg_slurm_note_fn)(void *ctx, const char *line);

/* `sbatch <args...> script`; args is a space-separated list without quoting (no spaces in
 * values). On success the job id (from --parsable: "123" or "123;cluster") goes into job_id.
 * A failure is retried up to `attempts` in all, after backoff_ms, then twice that, ... (capped at
 * 60 s), unless the error cannot go away by waiting (an invalid option, partition or account, a
 * missing script). 0, or -1 with the last error ("sbatch <script>: failed 5 times: ..."). */
int sg_slurm_sbatch(const char *args, const char *script, int attempts, int backoff_ms, char *job_id, size_t cap,
                    sg_slurm_note_fn note, void *ctx);

/* MaxArraySize from `scontrol show config`. 0, or -1 when scontrol is missing or says nothing. */
int sg_slurm_max_array_size(int *out);

/* Queue state of a job (an array job: counts per state, e.g. "2 RUNNING, 1 PENDING") from
 * squeue, else `scontrol show job` (finished jobs, within MinJobAge). Returns 1 with the state
 * in out, 0 when SLURM no longer knows the job, -1 when neither command is available. */
int sg_slurm_job_state(const char *job_id, char *out, size_t cap);

#endif
