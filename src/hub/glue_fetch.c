/* GLUE: the task table, downloading each task's zip and unpacking it with libzip into
 * <out>/<GLUE folder>/, the layout the classic download_glue_data.py produced. */
#include "hub/fetch.h"

#include "core/error.h"
#include "core/fileio.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

/* Zip names as the classic script fetched them from SG_GLUE_DEFAULT_ENDPOINT (QQP and QNLI carry
 * their cleaned/v2 names). MRPC is the exception: that script built it from the Microsoft
 * paraphrase corpus files (msr_paraphrase_{train,test}.txt plus the GLUE dev ids), because MRPC is
 * not redistributed as a GLUE zip. We instead download MRPC.zip from the endpoint like every other
 * task, already in GLUE layout, so a mirror (SG_GLUE_ENDPOINT) must provide it; the default
 * location may not have it, which the 404 message says. */
static const sg_glue_zip TASKS[] = {
    {"cola", "CoLA", "CoLA.zip"},   {"sst2", "SST-2", "SST-2.zip"}, {"mrpc", "MRPC", "MRPC.zip"},
    {"stsb", "STS-B", "STS-B.zip"}, {"qqp", "QQP", "QQP-clean.zip"}, {"mnli", "MNLI", "MNLI.zip"},
    {"qnli", "QNLI", "QNLIv2.zip"}, {"rte", "RTE", "RTE.zip"},       {"wnli", "WNLI", "WNLI.zip"},
};
#define NTASKS ((int)(sizeof TASKS / sizeof TASKS[0]))

const sg_glue_zip *sg_glue_zips(int *count) {
    *count = NTASKS;
    return TASKS;
}

const sg_glue_zip *sg_glue_zip_find(const char *name) {
    char key[32];
    size_t j = 0;
    for (const char *c = name; *c && j < sizeof key - 1; c++)
        if (*c != '-' && *c != '_') key[j++] = (char)tolower((unsigned char)*c);
    key[j] = '\0';
    if (!strcmp(key, "sst")) return &TASKS[1];
    if (!strcmp(key, "sts")) return &TASKS[3];
    for (int i = 0; i < NTASKS; i++)
        if (!strcmp(key, TASKS[i].key)) return &TASKS[i];
    return NULL;
}

/* ---- unzip ---- */

static int safe_entry(const char *name) {
    if (!*name || name[0] == '/' || strchr(name, '\\') || (isalpha((unsigned char)name[0]) && name[1] == ':'))
        return 0;
    for (const char *c = name;;) {
        const char *end = strchr(c, '/');
        size_t len = end ? (size_t)(end - c) : strlen(c);
        if (len == 2 && c[0] == '.' && c[1] == '.') return 0;
        if (!end) return 1;
        c = end + 1;
    }
}

static int skipped_entry(const char *name) {
    return !strncmp(name, "__MACOSX/", 9) || strstr(name, "/.DS_Store") || !strcmp(name, ".DS_Store");
}

/* Length of the single top-level folder (including its '/') shared by every entry, or 0. */
static size_t common_folder(zip_t *z, zip_int64_t n) {
    size_t plen = 0;
    const char *first = NULL;
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
        if (!name || skipped_entry(name)) continue;
        const char *slash = strchr(name, '/');
        if (!slash) return 0;
        if (!first) { first = name; plen = (size_t)(slash - name) + 1; continue; }
        if (strncmp(name, first, plen) != 0) return 0;
    }
    return plen;
}

static int extract_entry(zip_t *z, zip_uint64_t i, const char *zip_path, const char *name, const char *target) {
    zip_stat_t st;
    if (zip_stat_index(z, i, 0, &st) != 0) return sg_fail("%s: entry '%s': %s", zip_path, name, zip_strerror(z));
    zip_file_t *zf = zip_fopen_index(z, i, 0);
    if (!zf) return sg_fail("%s: entry '%s': %s", zip_path, name, zip_strerror(z));
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.part", target);
    FILE *out = fopen(tmp, "wb");
    if (!out) {
        zip_fclose(zf);
        return sg_fail("%s: cannot write: %s", tmp, strerror(errno));
    }
    char buf[1 << 15];
    zip_int64_t got;
    zip_uint64_t total = 0;
    int bad = 0;
    while ((got = zip_fread(zf, buf, sizeof buf)) > 0) {
        if (fwrite(buf, 1, (size_t)got, out) != (size_t)got) { bad = 1; break; }
        total += (zip_uint64_t)got;
    }
    int read_err = got < 0;
    zip_fclose(zf);
    bad |= fclose(out) != 0;
    if (read_err || bad || ((st.valid & ZIP_STAT_SIZE) && total != st.size)) {
        unlink(tmp);
        if (bad) return sg_fail("%s: cannot write", tmp);
        return sg_fail("%s: entry '%s' is corrupt (read %llu of %llu bytes)", zip_path, name,
                       (unsigned long long)total, (unsigned long long)st.size);
    }
    if (rename(tmp, target) != 0) {
        int e = errno;
        unlink(tmp);
        return sg_fail("%s: cannot rename into place: %s", target, strerror(e));
    }
    return 0;
}

int sg_glue_unzip(const char *zip_path, const char *dest_dir) {
    int err = 0;
    zip_t *z = zip_open(zip_path, ZIP_RDONLY, &err);
    if (!z) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, err);
        sg_fail("%s: cannot open zip: %s", zip_path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return -1;
    }
    int rc = -1;
    zip_int64_t n = zip_get_num_entries(z, 0);
    /* check every name before writing anything */
    int files = 0;
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
        if (!name) { sg_fail("%s: entry %lld: %s", zip_path, (long long)i, zip_strerror(z)); goto done; }
        if (!safe_entry(name)) { sg_fail("%s: entry '%s' would escape %s", zip_path, name, dest_dir); goto done; }
        if (!skipped_entry(name) && name[strlen(name) - 1] != '/') files++;
    }
    if (!files) { sg_fail("%s: zip holds no files", zip_path); goto done; }
    size_t strip = common_folder(z, n);
    if (sg_mkdirs(dest_dir) != 0) goto done;
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
        if (skipped_entry(name) || strlen(name) <= strip) continue;
        char target[4096];
        if ((size_t)snprintf(target, sizeof target, "%s/%s", dest_dir, name + strip) >= sizeof target) {
            sg_fail("%s: entry '%s': path too long", zip_path, name);
            goto done;
        }
        size_t len = strlen(target);
        if (target[len - 1] == '/') { /* a folder entry */
            target[len - 1] = '\0';
            if (sg_mkdirs(target) != 0) goto done;
            continue;
        }
        char *slash = strrchr(target, '/');
        *slash = '\0';
        if (sg_mkdirs(target) != 0) goto done;
        *slash = '/';
        if (extract_entry(z, (zip_uint64_t)i, zip_path, name, target) != 0) goto done;
    }
    rc = 0;
done:
    zip_discard(z); /* read-only: nothing to write back */
    return rc;
}

/* ---- fetch ---- */

int sg_glue_fetch(const char *endpoint, const sg_glue_zip *const *tasks, int ntasks, const char *out_dir,
                  int progress, int attempts) {
    if (!endpoint || !*endpoint) endpoint = getenv("SG_GLUE_ENDPOINT");
    if (!endpoint || !*endpoint) endpoint = SG_GLUE_DEFAULT_ENDPOINT;
    size_t elen = strlen(endpoint);
    while (elen && endpoint[elen - 1] == '/') elen--;
    if (sg_mkdirs(out_dir) != 0) return -1;
    for (int i = 0; i < ntasks; i++) {
        const sg_glue_zip *t = tasks[i];
        char url[4096], zip_path[4096], dest[4096];
        if ((size_t)snprintf(url, sizeof url, "%.*s/%s", (int)elen, endpoint, t->zip) >= sizeof url ||
            (size_t)snprintf(zip_path, sizeof zip_path, "%s/%s", out_dir, t->zip) >= sizeof zip_path ||
            (size_t)snprintf(dest, sizeof dest, "%s/%s", out_dir, t->folder) >= sizeof dest)
            return sg_fail("fetch glue %s: path too long", t->folder);
        sg_download d = {.url = url, .dest = zip_path, .expect_size = -1, .label = t->zip,
                         .progress = progress, .attempts = attempts};
        int r = sg_http_download(&d, NULL);
        if (r == 1) {
            if (!strcmp(t->key, "mrpc"))
                return sg_fail("fetch glue MRPC: %s: not found (HTTP 404); MRPC is not distributed as a GLUE "
                               "zip at the classic location: point SG_GLUE_ENDPOINT at a mirror with MRPC.zip",
                               url);
            return sg_fail("fetch glue %s: %s: not found (HTTP 404)", t->folder, url);
        }
        if (r != 0) return sg_fail_context("fetch glue %s", t->folder);
        if (sg_glue_unzip(zip_path, dest) != 0) return sg_fail_context("fetch glue %s", t->folder);
        unlink(zip_path);
    }
    return 0;
}
