/* spikeglue fetch: download the GLUE zips or a HuggingFace model (see usage below). */
#include "core/flags.h"
#include "core/error.h"
#include "hub/fetch.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE "glue --out DIR [--tasks cola,sst2,...]  |  spikeglue fetch model ORG/NAME [--revision R]"

static const char NOTES[] =
    "\nglue: downloads the task zips from --endpoint (default $SG_GLUE_ENDPOINT, else the location the\n"
    "  classic download_glue_data.py used) and unpacks them into DIR/<Task>/: CoLA SST-2 MRPC STS-B QQP\n"
    "  MNLI QNLI RTE WNLI (default all). MRPC is fetched as MRPC.zip like the others, so the endpoint\n"
    "  must provide it.\n"
    "model: config.json and model.safetensors (required), vocab.json and merges.txt (optional) from\n"
    "  --endpoint (default $HF_ENDPOINT, else https://huggingface.co) into the HuggingFace cache\n"
    "  (--cache-dir, else $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub), sharing it\n"
    "  with huggingface_hub; prints the snapshot directory. HF_TOKEN is sent for gated models.\n"
    "An interrupted download keeps its .incomplete file; running the command again resumes it.\n";

static void warn_line(const char *message) { fprintf(stderr, "spikeglue: warning: %s\n", message); }

static int usage_error(void) {
    sg_print_error();
    return 2;
}

static int fetch_glue(const char *tasks_csv, const char *out, const char *endpoint, int progress, int attempts) {
    const sg_glue_zip *chosen[32];
    int n = 0;
    if (!strcmp(tasks_csv, "all")) {
        int count;
        const sg_glue_zip *all = sg_glue_zips(&count);
        for (int i = 0; i < count; i++) chosen[n++] = &all[i];
    } else {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", tasks_csv);
        char *save = NULL;
        for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            const sg_glue_zip *t = sg_glue_zip_find(tok);
            if (!t) {
                sg_fail("fetch: --tasks: unknown GLUE task '%s' (expected cola,sst2,mrpc,stsb,qqp,mnli,qnli,rte,wnli)", tok);
                return usage_error();
            }
            int dup = 0;
            for (int j = 0; j < n; j++) dup |= chosen[j] == t;
            if (!dup && n < 32) chosen[n++] = t;
        }
        if (!n) return sg_fail("fetch: --tasks '%s' names no task", tasks_csv), usage_error();
    }
    if (sg_glue_fetch(endpoint, chosen, n, out, progress, attempts) != 0) return sg_print_error(), 1;
    for (int i = 0; i < n; i++) printf("%s/%s\n", out, chosen[i]->folder);
    return 0;
}

int sg_cmd_fetch(int argc, char **argv) {
    const char *tasks = "all", *out = NULL, *revision = "main", *cache_dir = NULL, *endpoint = NULL;
    int attempts = 3;
    sg_flag flags[] = {
        {"tasks", SG_FLAG_STRING, &tasks, "glue: comma-separated tasks, or all", 0},
        {"out", SG_FLAG_STRING, &out, "glue: directory that receives <Task>/ folders", 0},
        {"revision", SG_FLAG_STRING, &revision, "model: branch, tag or commit", 0},
        {"cache-dir", SG_FLAG_STRING, &cache_dir, "model: hub cache (else $HF_HUB_CACHE / $HF_HOME/hub)", 0},
        {"endpoint", SG_FLAG_STRING, &endpoint, "base URL (else $SG_GLUE_ENDPOINT / $HF_ENDPOINT)", 0},
        {"retries", SG_FLAG_INT, &attempts, "tries per file for an interrupted transfer", 0},
    };
    const int nflags = (int)(sizeof flags / sizeof flags[0]);
    char *pos[2];
    int npos = 0;
    int rc = sg_flags_parse("fetch", USAGE, flags, nflags, argc, argv, pos, 2, &npos);
    if (rc > 0) return fputs(NOTES, stdout), 0;
    if (rc < 0) return usage_error();
    if (npos == 0) return sg_fail("fetch: expected glue or model (see spikeglue fetch --help)"), usage_error();
    int is_glue = !strcmp(pos[0], "glue"), is_model = !strcmp(pos[0], "model");
    if (!is_glue && !is_model) return sg_fail("fetch: unknown source '%s' (expected glue or model)", pos[0]), usage_error();
    if (attempts < 1 || attempts > 100) return sg_fail("fetch: --retries %d: expected 1 to 100", attempts), usage_error();
    if (is_glue && npos > 1) return sg_fail("fetch glue: unexpected argument '%s'", pos[1]), usage_error();
    if (is_glue && (flags[2].seen || flags[3].seen))
        return sg_fail("fetch glue: --revision and --cache-dir are for fetch model"), usage_error();
    if (is_glue && !out) return sg_fail("fetch glue: --out DIR is required"), usage_error();
    if (is_model && (flags[0].seen || flags[1].seen))
        return sg_fail("fetch model: --tasks and --out are for fetch glue (models go to the HF cache; see --cache-dir)"),
               usage_error();
    if (is_model && npos != 2) return sg_fail("fetch model: expected ORG/NAME"), usage_error();

    int progress = isatty(STDERR_FILENO);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) return sg_fail("fetch: cannot initialise libcurl"), sg_print_error(), 1;
    if (is_glue) {
        rc = fetch_glue(tasks, out, endpoint, progress, attempts);
    } else {
        sg_hf_fetch_opts o = {.repo_id = pos[1], .revision = revision, .endpoint = endpoint, .cache_dir = cache_dir,
                              .progress = progress, .attempts = attempts, .warn = warn_line};
        char snapshot[4096];
        rc = sg_hf_fetch_model(&o, snapshot, sizeof snapshot) == 0 ? 0 : (sg_print_error(), 1);
        if (!rc) printf("%s\n", snapshot);
    }
    curl_global_cleanup();
    return rc;
}
