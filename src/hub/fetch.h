/* Fetching what spikeglue needs from the network: the GLUE zips and HuggingFace model files,
 * plus the local side of it (the HuggingFace cache layout and `--model_name_or_path` resolution).
 *
 *   sha256.c         a compact SHA-256 (checksums without an OpenSSL dependency)
 *   http_download.c  one resumable, checksummed HTTP download with libcurl
 *   hf_cache.c       HF cache layout ($HF_HUB_CACHE/models--ORG--NAME/{blobs,refs,snapshots}),
 *                    fetching a model into it, and resolving a name or path to a directory
 *   glue_fetch.c     the GLUE task table, downloading the zips and unpacking them with libzip
 *
 * Every function returns 0 on success and -1 with a one-line sg_last_error() on failure,
 * unless it says otherwise. Nothing here prints, except download progress when asked to. */
#ifndef SG_HUB_FETCH_H
#define SG_HUB_FETCH_H

#include <stddef.h>
#include <stdint.h>

/* ---- SHA-256 ------------------------------------------------------------------------- */

typedef struct {
    uint32_t state[8];
    uint64_t total_bytes;
    uint8_t block[64];
    size_t block_len;
} sg_sha256;

void sg_sha256_init(sg_sha256 *ctx);
void sg_sha256_update(sg_sha256 *ctx, const void *data, size_t len);
void sg_sha256_final(sg_sha256 *ctx, uint8_t digest[32]);
/* digest → 64 lowercase hex characters + NUL */
void sg_sha256_hex(const uint8_t digest[32], char hex[65]);
/* SHA-256 of a whole file, as hex. */
int sg_sha256_file(const char *path, char hex[65]);
/* 1 when s is exactly 64 hex digits (HuggingFace's LFS etag is the file's sha256). */
int sg_is_sha256_hex(const char *s);

/* ---- one HTTP download --------------------------------------------------------------- */

typedef struct {
    const char *url;
    const char *dest;            /* where the finished file goes (renamed into place) */
    const char *partial;         /* where bytes accumulate meanwhile; NULL: "<dest>.incomplete" */
    const char *expect_sha256;   /* 64 hex to verify, or NULL */
    long long expect_size;       /* bytes to verify, or -1 when unknown */
    const char *auth_bearer;     /* "Authorization: Bearer <token>" when non-NULL (HF_TOKEN) */
    const char *label;           /* name shown in progress and errors; NULL: the url */
    int progress;                /* 1: draw a progress line on stderr (callers pass isatty(2)) */
    int attempts;                /* tries before giving up on a transient failure; <1 means 1 */
} sg_download;

/* Response headers of interest, first value seen along a redirect chain (HuggingFace answers an
 * LFS file with a 302 carrying X-Linked-Etag/X-Repo-Commit/X-Linked-Size, then the CDN serves it). */
typedef struct {
    long status;                 /* final HTTP status */
    char etag[160];              /* X-Linked-Etag if any, else the first ETag; quotes and W/ removed */
    char commit[160];            /* X-Repo-Commit, or "" */
    long long size;              /* X-Linked-Size, else final Content-Length, else -1 */
} sg_http_meta;

/* HEAD the url (following redirects). Returns 0 with meta filled, 1 when the server said 404
 * (meta->status set, no error recorded), -1 on any other failure. */
int sg_http_head(const char *url, const char *auth_bearer, sg_http_meta *meta);

/* Download d->url to d->dest, resuming from d->partial (default "<dest>.incomplete"):
 *  - an existing partial file is continued with "Range: bytes=N-"; a server that answers 200
 *    instead of 206 (ignores Range) or whose Content-Range does not start at N restarts it;
 *  - a transfer cut short keeps the partial file and is retried (d->attempts) with Range;
 *  - when complete, the size is checked against d->expect_size and the SHA-256 against
 *    d->expect_sha256; a mismatch deletes the partial file (its bytes cannot be trusted, and
 *    resuming it again could never succeed) and fails;
 *  - only then is the partial file renamed to d->dest.
 * Returns 0, 1 for a 404 (no error recorded; the caller decides), -1 on failure.
 * sha256_out (may be NULL) receives the hex digest of the finished file. */
int sg_http_download(const sg_download *d, char sha256_out[65]);

/* Strip W/ and quotes from an ETag value in place; returns s. */
char *sg_etag_normalize(char *s);

/* ---- HuggingFace cache --------------------------------------------------------------- */

/* The hub cache directory: $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE (legacy), else
 * $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else $HOME/.cache/huggingface/hub. */
int sg_hf_cache_dir(char *out, size_t n);

/* 1 when s looks like a repo id "NAME" or "ORG/NAME" ([A-Za-z0-9._-], no "..", no leading
 * '.' or '-'); 0 otherwise. */
int sg_hf_valid_repo_id(const char *s);

/* "ORG/NAME" → "<cache>/models--ORG--NAME". */
int sg_hf_repo_dir(const char *cache_dir, const char *repo_id, char *out, size_t n);

/* Write refs/<revision> = commit (no newline, as huggingface_hub writes it). */
int sg_hf_write_ref(const char *repo_dir, const char *revision, const char *commit);

/* snapshots/<commit>/<filename> → relative symlink to ../../blobs/<blob> (replaced atomically). */
int sg_hf_link_snapshot(const char *repo_dir, const char *commit, const char *filename,
                        const char *blob);

/* A local directory for `--model_name_or_path`:
 *  1. name_or_path itself when it is an existing directory;
 *  2. else, for a repo id, <cache>/models--ORG--NAME/snapshots/<commit> where <commit> is read from
 *     refs/<revision or "main">, or is the revision itself when snapshots/<revision> exists.
 * On failure the message lists the paths tried and suggests `spikeglue fetch model NAME`. */
int sg_hf_resolve(const char *name_or_path, const char *revision, char *out_dir, size_t n);

typedef struct {
    const char *repo_id;         /* "ORG/NAME" */
    const char *revision;        /* NULL: "main" */
    const char *endpoint;        /* NULL: $HF_ENDPOINT, else https://huggingface.co */
    const char *cache_dir;       /* NULL: sg_hf_cache_dir() */
    int progress;                /* draw progress lines (callers pass isatty(2)) */
    int attempts;                /* per-file tries, see sg_download */
    /* Called for an optional file the server does not have (404); may be NULL. */
    void (*warn)(const char *message);
} sg_hf_fetch_opts;

/* Fetch config.json and model.safetensors (required: a 404 is an error) and vocab.json and
 * merges.txt (optional: a 404 is a warning) into the cache layout: blobs/<etag or sha256>,
 * snapshots/<commit>/<file> as relative symlinks, refs/<revision> = commit. The commit is the
 * first X-Repo-Commit header seen (the remaining files are then fetched at that commit so the
 * snapshot is consistent), else the revision string. Files whose blob is already present are not
 * downloaded again. snapshot_out (may be NULL) receives the snapshot directory. */
int sg_hf_fetch_model(const sg_hf_fetch_opts *opts, char *snapshot_out, size_t n);

/* ---- GLUE ---------------------------------------------------------------------------- */

/* Where a task's download comes from (data/glue.h's sg_glue_task describes loading it). */
typedef struct {
    const char *key;             /* canonical --tasks name: cola, sst2, mrpc, stsb, qqp, ... */
    const char *folder;          /* GLUE folder name: CoLA, SST-2, MRPC, STS-B, ... */
    const char *zip;             /* file name under the endpoint: CoLA.zip, QQP-clean.zip, ... */
} sg_glue_zip;

/* The public location the classic download_glue_data.py fetched its zips from. */
#define SG_GLUE_DEFAULT_ENDPOINT "https://dl.fbaipublicfiles.com/glue/data"

/* The 9 tasks in GLUE order; *count receives 9. */
const sg_glue_zip *sg_glue_zips(int *count);
/* Look a task up by key, folder name or common alias (case-insensitive: "SST-2", "sst", "sts-b"). */
const sg_glue_zip *sg_glue_zip_find(const char *name);

/* Unpack zip_path into dest_dir. A single top-level folder shared by every entry is stripped
 * (so "QNLI/dev.tsv" and "dev.tsv" both land in dest_dir/dev.tsv); __MACOSX/ is skipped; an entry
 * with an absolute path or ".." fails before anything is written. */
int sg_glue_unzip(const char *zip_path, const char *dest_dir);

/* Download each task's zip from endpoint (NULL: $SG_GLUE_ENDPOINT, else the default) into
 * out_dir (resumable, as <zip>.incomplete), unpack it into out_dir/<folder>/, delete the zip. */
int sg_glue_fetch(const char *endpoint, const sg_glue_zip *const *tasks, int ntasks,
                  const char *out_dir, int progress, int attempts);

/* ---- command line -------------------------------------------------------------------- */

/* spikeglue fetch glue [--tasks cola,sst2,...] --out DIR
 * spikeglue fetch model ORG/NAME [--revision R] [--cache-dir DIR]
 * argv[0] is the command name, as main passes it (argc - 1, argv + 1). Returns the process exit
 * status: 0 ok, 1 failure, 2 usage error; either prints one "spikeglue: error:" line. */
int sg_cmd_fetch(int argc, char **argv);

#endif
