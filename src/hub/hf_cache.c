/* The HuggingFace hub cache, laid out as huggingface_hub lays it out so both tools share it:
 *
 *   <cache>/models--ORG--NAME/blobs/<etag>                 file contents (etag = sha256 for LFS)
 *   <cache>/models--ORG--NAME/refs/<revision>              the commit hash, no newline
 *   <cache>/models--ORG--NAME/snapshots/<commit>/<file>    -> ../../blobs/<etag> (relative symlink)
 *
 * plus fetching a model into it and resolving `--model_name_or_path` against it. */
#include "hub/fetch.h"

#include "core/error.h"
#include "core/fileio.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define SG_HF_DEFAULT_ENDPOINT "https://huggingface.co"

/* ---- small path helpers ---- */

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* snprintf that fails (with an error naming the start of the text) instead of truncating. */
static int fmt_path(char *out, size_t n, const char *fmt, ...) SG_PRINTF(3, 4);
static int fmt_path(char *out, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(out, n, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= n) return sg_fail("path too long: %.80s...", out);
    return 0;
}

/* A relative path with no empty, "." or ".." component and no backslash: safe under a root. */
static int safe_relpath(const char *s) {
    if (!s || !*s || *s == '/') return 0;
    for (const char *c = s;;) {
        const char *end = strchr(c, '/');
        size_t len = end ? (size_t)(end - c) : strlen(c);
        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.')) return 0;
        for (size_t i = 0; i < len; i++)
            if (c[i] == '\\' || (unsigned char)c[i] < 0x20) return 0;
        if (!end) return 1;
        c = end + 1;
    }
}

/* One path component from a server header (commit, etag): [A-Za-z0-9._-], not "." or "..". */
static int safe_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 128 || !strcmp(s, ".") || !strcmp(s, "..")) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int is_commit_hash(const char *s) {
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f'))) return 0;
    return n == 40;
}

static int write_small_file(const char *path, const char *text) {
    char tmp[4096];
    if (fmt_path(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) != 0) return -1;
    FILE *f = fopen(tmp, "wb");
    if (!f) return sg_fail("%s: cannot write: %s", tmp, strerror(errno));
    size_t len = strlen(text);
    int bad = fwrite(text, 1, len, f) != len;
    bad |= fclose(f) != 0;
    if (bad) { unlink(tmp); return sg_fail("%s: cannot write", tmp); }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return sg_fail("%s: cannot rename into place: %s", path, strerror(e));
    }
    return 0;
}

/* Read a ref file: the commit, whitespace trimmed. 1 = absent, 0 = read, -1 = error. */
static int read_ref(const char *path, char *commit, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT || errno == ENOTDIR ? 1 : sg_fail("%s: cannot open: %s", path, strerror(errno));
    size_t got = fread(commit, 1, n - 1, f);
    fclose(f);
    commit[got] = '\0';
    while (got && (commit[got - 1] == '\n' || commit[got - 1] == '\r' || commit[got - 1] == ' ')) commit[--got] = '\0';
    if (!safe_name(commit)) return sg_fail("%s: not a commit hash: '%.64s'", path, commit);
    return 0;
}

/* ---- layout ---- */

int sg_hf_cache_dir(char *out, size_t n) {
    const char *v;
    if ((v = getenv("HF_HUB_CACHE")) && *v) return fmt_path(out, n, "%s", v);
    if ((v = getenv("HUGGINGFACE_HUB_CACHE")) && *v) return fmt_path(out, n, "%s", v);
    if ((v = getenv("HF_HOME")) && *v) return fmt_path(out, n, "%s/hub", v);
    if ((v = getenv("XDG_CACHE_HOME")) && *v) return fmt_path(out, n, "%s/huggingface/hub", v);
    if ((v = getenv("HOME")) && *v) return fmt_path(out, n, "%s/.cache/huggingface/hub", v);
    return sg_fail("no HuggingFace cache directory: set HF_HOME or HF_HUB_CACHE (HOME is not set)");
}

int sg_hf_valid_repo_id(const char *s) {
    if (!s || !*s) return 0;
    const char *slash = strchr(s, '/');
    if (slash && strchr(slash + 1, '/')) return 0;
    for (const char *part = s; part;) {
        const char *end = part == s && slash ? slash : part + strlen(part);
        size_t len = (size_t)(end - part);
        if (len == 0 || len > 96 || part[0] == '.' || part[0] == '-' || end[-1] == '.') return 0;
        for (const char *c = part; c < end; c++) {
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                  *c == '.' || *c == '_' || *c == '-'))
                return 0;
            if (c[0] == '.' && c + 1 < end && c[1] == '.') return 0;
        }
        part = part == s && slash ? slash + 1 : NULL;
    }
    return 1;
}

int sg_hf_repo_dir(const char *cache_dir, const char *repo_id, char *out, size_t n) {
    if (!sg_hf_valid_repo_id(repo_id)) return sg_fail("'%s': not a valid repo id (expected ORG/NAME)", repo_id);
    char folder[256];
    size_t j = 0;
    for (const char *c = repo_id; *c && j < sizeof folder - 3; c++) {
        if (*c == '/') { folder[j++] = '-'; folder[j++] = '-'; }
        else folder[j++] = *c;
    }
    folder[j] = '\0';
    return fmt_path(out, n, "%s/models--%s", cache_dir, folder);
}

int sg_hf_write_ref(const char *repo_dir, const char *revision, const char *commit) {
    if (!safe_relpath(revision)) return sg_fail("'%s': not a valid revision name", revision);
    if (!safe_name(commit)) return sg_fail("'%.64s': not a valid commit hash", commit);
    char path[4096];
    if (fmt_path(path, sizeof path, "%s/refs/%s", repo_dir, revision) != 0) return -1;
    char *slash = strrchr(path, '/');
    *slash = '\0';
    if (sg_mkdirs(path) != 0) return -1;
    *slash = '/';
    return write_small_file(path, commit);
}

int sg_hf_link_snapshot(const char *repo_dir, const char *commit, const char *filename, const char *blob) {
    if (!safe_name(commit)) return sg_fail("'%.64s': not a valid commit hash", commit);
    if (!safe_relpath(filename)) return sg_fail("'%s': not a valid file name", filename);
    if (!safe_name(blob)) return sg_fail("'%s': not a valid blob name", blob);
    char link_path[4096], dir[4096], target[4096], tmp[4096];
    if (fmt_path(link_path, sizeof link_path, "%s/snapshots/%s/%s", repo_dir, commit, filename) != 0) return -1;
    snprintf(dir, sizeof dir, "%s", link_path);
    *strrchr(dir, '/') = '\0';
    if (sg_mkdirs(dir) != 0) return -1;
    /* from snapshots/<commit>/<a/b/file>: up two levels, plus one per subfolder of filename */
    size_t pos = 0;
    target[0] = '\0';
    for (const char *c = filename; (c = strchr(c, '/')); c++) pos += (size_t)snprintf(target + pos, sizeof target - pos, "../");
    if (fmt_path(target + pos, sizeof target - pos, "../../blobs/%s", blob) != 0) return -1;
    if (fmt_path(tmp, sizeof tmp, "%s.tmp%ld", link_path, (long)getpid()) != 0) return -1;
    unlink(tmp);
    if (symlink(target, tmp) != 0) return sg_fail("%s: cannot create symlink: %s", tmp, strerror(errno));
    if (rename(tmp, link_path) != 0) {
        int e = errno;
        unlink(tmp);
        return sg_fail("%s: cannot replace: %s", link_path, strerror(e));
    }
    return 0;
}

/* ---- resolution ---- */

int sg_hf_resolve(const char *name_or_path, const char *revision, char *out_dir, size_t n) {
    if (!name_or_path || !*name_or_path) return sg_fail("empty model name or path");
    struct stat st;
    if (stat(name_or_path, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) return sg_fail("%s: is not a directory (expected a model directory or ORG/NAME)", name_or_path);
        return fmt_path(out_dir, n, "%s", name_or_path);
    }
    const char *rev = revision && *revision ? revision : "main";
    char rev_flag[300] = "";
    if (strcmp(rev, "main") != 0) snprintf(rev_flag, sizeof rev_flag, " --revision %s", rev);
    if (!sg_hf_valid_repo_id(name_or_path))
        return sg_fail("%s: no such directory (and not an ORG/NAME repo id to look up in the cache)", name_or_path);
    if (!safe_relpath(rev)) return sg_fail("'%s': not a valid revision name", rev);
    char cache[4096], repo[4096], ref[4096], snap[4096];
    if (sg_hf_cache_dir(cache, sizeof cache) != 0 || sg_hf_repo_dir(cache, name_or_path, repo, sizeof repo) != 0 ||
        fmt_path(ref, sizeof ref, "%s/refs/%s", repo, rev) != 0)
        return -1;
    char commit[256];
    int r = read_ref(ref, commit, sizeof commit);
    if (r < 0) return -1;
    if (r == 0) {
        if (fmt_path(snap, sizeof snap, "%s/snapshots/%s", repo, commit) != 0) return -1;
        if (is_dir(snap)) return fmt_path(out_dir, n, "%s", snap);
        return sg_fail("model %s: %s names commit %s but %s is missing; run `spikeglue fetch model %s%s`",
                       name_or_path, ref, commit, snap, name_or_path, rev_flag);
    }
    /* no ref: the revision may itself be a commit (or a revision fetched without X-Repo-Commit) */
    if (safe_name(rev)) {
        if (fmt_path(snap, sizeof snap, "%s/snapshots/%s", repo, rev) != 0) return -1;
        if (is_dir(snap)) return fmt_path(out_dir, n, "%s", snap);
        return sg_fail("model %s not found: tried directory ./%s, %s, %s; run `spikeglue fetch model %s%s`",
                       name_or_path, name_or_path, ref, snap, name_or_path, rev_flag);
    }
    return sg_fail("model %s not found: tried directory ./%s, %s; run `spikeglue fetch model %s%s`",
                   name_or_path, name_or_path, ref, name_or_path, rev_flag);
}

/* ---- fetching a model ---- */

typedef struct {
    const char *name;
    int required;
} model_file;

static const model_file MODEL_FILES[] = {
    {"config.json", 1}, {"model.safetensors", 1}, {"vocab.json", 0}, {"merges.txt", 0},
};

/* Percent-encode a revision for a URL path segment ("refs/pr/1" → "refs%2Fpr%2F1"). */
static void url_segment(char *out, size_t n, const char *s) {
    size_t j = 0;
    for (; *s && j + 4 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '.' || c == '_' || c == '~')
            out[j++] = (char)c;
        else
            j += (size_t)snprintf(out + j, n - j, "%%%02X", c);
    }
    out[j] = '\0';
}

typedef struct {
    const sg_hf_fetch_opts *o;
    const char *endpoint, *revision, *token;
    char repo_dir[4096];
    char commit[160];            /* "" until the first response tells */
} fetch_ctx;

/* One file into blobs/ + snapshot link. Returns 0, 1 when the server has no such file, -1. */
static int fetch_one(fetch_ctx *cx, const model_file *mf) {
    char url[4096], rev_seg[512];
    const char *rev = cx->commit[0] ? cx->commit : cx->revision;
    url_segment(rev_seg, sizeof rev_seg, rev);
    if (fmt_path(url, sizeof url, "%s/%s/resolve/%s/%s", cx->endpoint, cx->o->repo_id, rev_seg, mf->name) != 0) return -1;

    sg_http_meta meta;
    int r = sg_http_head(url, cx->token, &meta);
    if (r != 0) return r;
    if (!cx->commit[0]) {
        /* pin the snapshot to the commit the server reports, and fetch everything at that commit */
        snprintf(cx->commit, sizeof cx->commit, "%s", meta.commit[0] ? meta.commit : cx->revision);
        if (!safe_name(cx->commit)) return sg_fail("%s: unusable commit '%.64s' (X-Repo-Commit or revision)", url, cx->commit);
        if (strcmp(cx->commit, rev) != 0) {
            url_segment(rev_seg, sizeof rev_seg, cx->commit);
            if (fmt_path(url, sizeof url, "%s/%s/resolve/%s/%s", cx->endpoint, cx->o->repo_id, rev_seg, mf->name) != 0) return -1;
        }
    } else if (meta.commit[0] && strcmp(meta.commit, cx->commit) != 0) {
        return sg_fail("%s: X-Repo-Commit %s differs from %s of the files before it", url, meta.commit, cx->commit);
    }

    char blobs[4096], blob_path[4096], partial[4096], hex[65];
    if (fmt_path(blobs, sizeof blobs, "%s/blobs", cx->repo_dir) != 0 || sg_mkdirs(blobs) != 0) return -1;
    int named = safe_name(meta.etag); /* otherwise the blob is named by its sha256 once downloaded */
    const char *sha = sg_is_sha256_hex(meta.etag) ? meta.etag : NULL;
    if (named) {
        if (fmt_path(blob_path, sizeof blob_path, "%s/%s", blobs, meta.etag) != 0) return -1;
        struct stat st;
        if (stat(blob_path, &st) == 0 && S_ISREG(st.st_mode) && (meta.size < 0 || st.st_size == meta.size))
            return sg_hf_link_snapshot(cx->repo_dir, cx->commit, mf->name, meta.etag); /* cached */
        if (fmt_path(partial, sizeof partial, "%s.incomplete", blob_path) != 0) return -1;
    } else {
        /* no usable etag: key the partial file by the url so a later run can still resume it */
        sg_sha256 h;
        uint8_t d[32];
        sg_sha256_init(&h);
        sg_sha256_update(&h, url, strlen(url));
        sg_sha256_final(&h, d);
        sg_sha256_hex(d, hex);
        if (fmt_path(blob_path, sizeof blob_path, "%s/url-%.32s", blobs, hex) != 0 ||
            fmt_path(partial, sizeof partial, "%s.incomplete", blob_path) != 0)
            return -1;
    }
    sg_download d = {.url = url, .dest = blob_path, .partial = partial, .expect_sha256 = sha,
                     .expect_size = meta.size, .auth_bearer = cx->token, .label = mf->name,
                     .progress = cx->o->progress, .attempts = cx->o->attempts};
    r = sg_http_download(&d, hex);
    if (r != 0) return r;
    if (!named) {
        char final_path[4096];
        if (fmt_path(final_path, sizeof final_path, "%s/%s", blobs, hex) != 0) return -1;
        if (rename(blob_path, final_path) != 0) return sg_fail("%s: cannot rename: %s", blob_path, strerror(errno));
        return sg_hf_link_snapshot(cx->repo_dir, cx->commit, mf->name, hex);
    }
    return sg_hf_link_snapshot(cx->repo_dir, cx->commit, mf->name, meta.etag);
}

int sg_hf_fetch_model(const sg_hf_fetch_opts *o, char *snapshot_out, size_t n) {
    fetch_ctx cx = {.o = o};
    cx.revision = o->revision && *o->revision ? o->revision : "main";
    if (!safe_relpath(cx.revision)) return sg_fail("'%s': not a valid revision name", cx.revision);
    cx.endpoint = o->endpoint && *o->endpoint ? o->endpoint : getenv("HF_ENDPOINT");
    if (!cx.endpoint || !*cx.endpoint) cx.endpoint = SG_HF_DEFAULT_ENDPOINT;
    char endpoint[2048];
    if (fmt_path(endpoint, sizeof endpoint, "%s", cx.endpoint) != 0) return -1;
    for (size_t len = strlen(endpoint); len && endpoint[len - 1] == '/';) endpoint[--len] = '\0';
    cx.endpoint = endpoint;
    cx.token = getenv("HF_TOKEN");
    if (!cx.token || !*cx.token) cx.token = getenv("HUGGING_FACE_HUB_TOKEN");

    char cache[4096];
    if (o->cache_dir && *o->cache_dir) {
        if (fmt_path(cache, sizeof cache, "%s", o->cache_dir) != 0) return -1;
    } else if (sg_hf_cache_dir(cache, sizeof cache) != 0) {
        return -1;
    }
    if (sg_hf_repo_dir(cache, o->repo_id, cx.repo_dir, sizeof cx.repo_dir) != 0) return -1;

    for (size_t i = 0; i < sizeof MODEL_FILES / sizeof MODEL_FILES[0]; i++) {
        const model_file *mf = &MODEL_FILES[i];
        int r = fetch_one(&cx, mf);
        if (r < 0) return sg_fail_context("fetch %s %s", o->repo_id, mf->name);
        if (r == 1) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s/%s/resolve/%s/%s: not found (HTTP 404)", cx.endpoint, o->repo_id,
                     cx.commit[0] ? cx.commit : cx.revision, mf->name);
            if (mf->required) return sg_fail("fetch %s: %s is required: %s", o->repo_id, mf->name, msg);
            if (o->warn) {
                char w[1200];
                snprintf(w, sizeof w, "fetch %s: optional %s skipped: %s", o->repo_id, mf->name, msg);
                o->warn(w);
            }
        }
    }
    /* the ref last, so a resolver never sees a half-filled snapshot through it; a revision that
     * is the commit itself needs none (as in huggingface_hub) */
    if (strcmp(cx.revision, cx.commit) != 0 || !is_commit_hash(cx.revision))
        if (sg_hf_write_ref(cx.repo_dir, cx.revision, cx.commit) != 0) return -1;
    if (snapshot_out) return fmt_path(snapshot_out, n, "%s/snapshots/%s", cx.repo_dir, cx.commit);
    return 0;
}
