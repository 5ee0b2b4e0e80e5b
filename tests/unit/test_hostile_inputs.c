/* Hostile files are refused cleanly -- a one-line error naming the file -- with bounded memory
 * (issue #10, "Inputs"): a safetensors header claiming terabytes (length field, offsets and
 * shape products past the file or overflowing), YAML alias bombs in both YAML readers (transform
 * configs, job specs), a 100 MB single line in GLUE TSV / CSV / JSON-lines files, a vocabulary
 * with duplicate ids, zero-length dimensions in safetensors tensors and config.json.
 * Every file is generated in a temporary directory; the whole test runs in a few seconds. */
#include "testlib.h"

#include "core/error.h"
#include "data/glue.h"
#include "data/tokenizer.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "quant/transform_config.h"
#include "sched/jobspec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static char g_dir[1024];

static const char *tmp_path(const char *name) {
    static char path[4][1200];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", g_dir, name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(data, 1, len, f) == len);
    fclose(f);
}

/* A refusal: rc -1, one line, naming `name`, containing `fragment`. */
static void expect_refused(int rc, const char *name, const char *fragment, const char *what) {
    const char *msg = sg_last_error();
    CHECK_MSG(rc == -1, "%s: accepted", what);
    CHECK_MSG(strstr(msg, name) != NULL, "%s: message does not name '%s': %s", what, name, msg);
    CHECK_MSG(strchr(msg, '\n') == NULL, "%s: message is not one line: %s", what, msg);
    CHECK_MSG(!fragment || strstr(msg, fragment), "%s: no '%s' in: %s", what, fragment, msg);
}

static long rss_now_kb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static long rss_peak_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* ---- a 100 MB line: refused after reading at most SG_GLUE_MAX_LINE_BYTES of it ---- */

/* header, then one line of `mb` MB (no newline inside), then a normal row */
static void write_long_line_file(const char *path, const char *head, const char *pre, size_t mb, const char *tail) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    static char chunk[1 << 20];
    memset(chunk, 'x', sizeof chunk);
    fputs(head, f);
    fputs(pre, f);
    for (size_t i = 0; i < mb; i++) CHECK(fwrite(chunk, 1, sizeof chunk, f) == sizeof chunk);
    fputs(tail, f);
    fclose(f);
}

static void test_long_lines(void) {
    long before = rss_now_kb();
    const sg_glue_task *sst2 = sg_glue_task_find("sst2");
    const char *tsv = tmp_path("long.tsv");
    write_long_line_file(tsv, "sentence\tlabel\n", "", 100, "\t1\nshort\t0\n");
    sg_glue_data d;
    expect_refused(sg_glue_load_tsv(sst2, tsv, 1, &d), "long.tsv:2:", "line longer than", "100 MB TSV line");
    unlink(tsv);
    long peak = rss_peak_kb();
    /* the reader holds at most 1 MiB of the line; 100+ MB would be read by getline() */
    long grown_mb = (peak - before) / 1024; /* an upper bound: the peak includes what was there before */
    fprintf(stderr, "100 MB TSV line: peak RSS %ld MB, %ld MB before: growth <= %ld MB\n", peak / 1024,
            before / 1024, grown_mb);
    CHECK_MSG(grown_mb < 32, "peak RSS grew by %ld MB reading a 100 MB line", grown_mb);

    const char *csv = tmp_path("long.csv");
    write_long_line_file(csv, "sentence,label\n", "", 8, ",1\n");
    expect_refused(sg_glue_load_custom(csv, NULL, &d), "long.csv:2:", "line longer than", "8 MB CSV line");
    /* an unterminated quote swallowing many short lines is one record: bounded too */
    FILE *f = fopen(csv, "wb");
    if (f) {
        fputs("sentence,label\n\"open quote\n", f);
        for (int i = 0; i < 300000; i++) fputs("0123456789\n", f);
        fclose(f);
    }
    expect_refused(sg_glue_load_custom(csv, NULL, &d), "long.csv:2:", "record longer than", "3 MB CSV record");
    unlink(csv);
    const char *jsonl = tmp_path("long.jsonl");
    write_long_line_file(jsonl, "{\"sentence\": \"a\", \"label\": 1}\n", "{\"sentence\": \"", 8, "\", \"label\": 0}\n");
    expect_refused(sg_glue_load_custom(jsonl, NULL, &d), "long.jsonl:2:", "line longer than", "8 MB JSON line");
    unlink(jsonl);
}

/* ---- safetensors ---- */

static void write_st(const char *path, const char *header, uint64_t claimed_len, size_t data_bytes) {
    size_t hlen = strlen(header);
    size_t total = 8 + hlen + data_bytes;
    uint8_t *buf = calloc(1, total);
    if (!buf) return;
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)(claimed_len >> (8 * i));
    memcpy(buf + 8, header, hlen);
    write_bytes(path, buf, total);
    free(buf);
}

static void test_safetensors(void) {
    const char *p = tmp_path("hostile.safetensors");
    sg_safetensors st;
    const char *ok = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    /* header length claiming 1 TB, and 2^64 - 1 */
    write_st(p, ok, 1ull << 40, 8);
    expect_refused(sg_st_open(&st, p), "hostile.safetensors", "exceeds the limit", "1 TB header length");
    write_st(p, ok, UINT64_MAX, 8);
    expect_refused(sg_st_open(&st, p), "hostile.safetensors", "exceeds the limit", "2^64-1 header length");
    /* a plausible length that runs past the file */
    write_st(p, ok, 50000000, 8);
    expect_refused(sg_st_open(&st, p), "hostile.safetensors", "runs past the end", "header past the file");
    /* offsets claiming a terabyte of data */
    const char *tb = "{\"w\":{\"dtype\":\"F32\",\"shape\":[262144,1048576],\"data_offsets\":[0,1099511627776]}}";
    write_st(p, tb, strlen(tb), 8);
    expect_refused(sg_st_open(&st, p), "tensor 'w'", "run past the end", "1 TB of offsets");
    /* shape products that overflow 64 bits (and the byte count) */
    const char *ovf = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}";
    write_st(p, ovf, strlen(ovf), 8);
    expect_refused(sg_st_open(&st, p), "tensor 'w'", "overflows", "shape product overflow");
    const char *ovf2 = "{\"w\":{\"dtype\":\"F64\",\"shape\":[9007199254740992,4096],\"data_offsets\":[0,8]}}";
    write_st(p, ovf2, strlen(ovf2), 8);
    expect_refused(sg_st_open(&st, p), "tensor 'w'", "overflows", "byte count overflow");
    const char *neg = "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1,2],\"data_offsets\":[0,8]}}";
    write_st(p, neg, strlen(neg), 8);
    expect_refused(sg_st_open(&st, p), "tensor 'w'", "not an integer", "negative dimension");
    /* a header of 200k bogus entries is refused at the first one, without 200k descriptions */
    size_t cap = 200000 * 16 + 16, used = 0;
    char *many = malloc(cap);
    if (many) {
        used += (size_t)snprintf(many + used, cap - used, "{");
        for (int i = 0; i < 200000; i++) used += (size_t)snprintf(many + used, cap - used, "%s\"t%d\":0", i ? "," : "", i);
        snprintf(many + used, cap - used, "}");
        long before = rss_peak_kb();
        write_st(p, many, strlen(many), 0);
        expect_refused(sg_st_open(&st, p), "tensor 't0'", "not a JSON object", "200k bogus entries");
        fprintf(stderr, "200k-entry header: peak RSS grew by %ld MB\n", (rss_peak_kb() - before) / 1024);
        free(many);
    }
    /* zero-length dimension: valid in the format (numel 0, no bytes), read as nothing */
    const char *zero = "{\"e\":{\"dtype\":\"F32\",\"shape\":[0,768],\"data_offsets\":[0,0]},"
                       "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    write_st(p, zero, strlen(zero), 8);
    CHECK_MSG(sg_st_open(&st, p) == 0, "zero-length dim: %s", sg_last_error());
    const sg_st_tensor *e = sg_st_find(&st, "e");
    CHECK(e && e->numel == 0 && e->shape[0] == 0 && e->shape[1] == 768);
    CHECK(e && sg_st_read_f32(&st, e, NULL) == 0);
    sg_st_close(&st);
    /* ... but zero bytes claimed for a non-empty shape is refused */
    const char *zero_bytes = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,768],\"data_offsets\":[0,0]}}";
    write_st(p, zero_bytes, strlen(zero_bytes), 0);
    expect_refused(sg_st_open(&st, p), "tensor 'w'", "needs 3072", "zero bytes for [1, 768]");
    unlink(p);
}

/* ---- YAML alias bombs and other expensive documents ---- */

static char *billion_laughs(void) {
    size_t cap = 8192, used = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    used += (size_t)snprintf(s, cap, "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (int i = 1; i < 10; i++) {
        used += (size_t)snprintf(s + used, cap - used, "a%d: &a%d [", i, i);
        for (int k = 0; k < 10; k++) used += (size_t)snprintf(s + used, cap - used, "%s*a%d", k ? ", " : "", i - 1);
        used += (size_t)snprintf(s + used, cap - used, "]\n");
    }
    return s;
}

static void test_yaml_bombs(void) {
    char *bomb = billion_laughs();
    CHECK(bomb != NULL);
    if (!bomb) return;
    sg_transform_config cfg;
    expect_refused(sg_transform_parse(bomb, strlen(bomb), "bomb_transform.yaml", &cfg), "bomb_transform.yaml:1:",
                   "anchors and aliases are not supported", "alias bomb (transform config)");
    sg_transform_free(&cfg);
    sg_jobspec spec;
    expect_refused(sg_jobspec_parse(bomb, strlen(bomb), "bomb_job.yaml", &spec), "bomb_job.yaml:1:",
                   "anchors and aliases are not supported", "alias bomb (job spec)");
    sg_jobspec_free(&spec);
    /* the same from files */
    write_bytes(tmp_path("bomb.yaml"), bomb, strlen(bomb));
    expect_refused(sg_transform_load(tmp_path("bomb.yaml"), &cfg), "bomb.yaml:1:", "anchors", "alias bomb file (transform)");
    sg_transform_free(&cfg);
    expect_refused(sg_jobspec_load(tmp_path("bomb.yaml"), &spec), "bomb.yaml:1:", "anchors", "alias bomb file (job spec)");
    sg_jobspec_free(&spec);
    free(bomb);

    /* a bare alias (no anchor in the document) and a merge key */
    const char *alias = "quantization_config: *x\n";
    expect_refused(sg_transform_parse(alias, strlen(alias), "alias.yaml", &cfg), "alias.yaml:1:", "aliases", "bare alias");
    sg_transform_free(&cfg);
    /* 100k flat nodes, 100k-deep nesting: refused at the node / depth limits */
    size_t n = 100000;
    char *flat = malloc(4 * n + 8);
    char *deep = malloc(2 * n + 8);
    if (flat && deep) {
        size_t u = 0;
        flat[u++] = '[';
        for (size_t i = 0; i < n; i++) flat[u++] = '1', flat[u++] = ',';
        flat[u++] = ']';
        flat[u] = '\0';
        expect_refused(sg_jobspec_parse(flat, u, "flat.yaml", &spec), "flat.yaml:1:", "more than 20000 nodes", "100k nodes");
        sg_jobspec_free(&spec);
        for (size_t i = 0; i < n; i++) deep[i] = '[', deep[n + i] = ']';
        expect_refused(sg_transform_parse(deep, 2 * n, "deep.yaml", &cfg), "deep.yaml:1:", "nesting deeper", "100k deep");
        sg_transform_free(&cfg);
    }
    free(flat);
    free(deep);
}

/* ---- vocabularies ---- */

static const char *SPECIALS = "\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"<unk>\": 3";

static void write_tokenizer(const char *vocab_extra) {
    char vocab[512];
    snprintf(vocab, sizeof vocab, "{%s%s}", SPECIALS, vocab_extra);
    write_bytes(tmp_path("vocab.json"), vocab, strlen(vocab));
    write_bytes(tmp_path("merges.txt"), "#version: 0.2\na b\n", 18);
}

static void test_vocab(void) {
    write_tokenizer(", \"a\": 4, \"b\": 4");
    expect_refused(sg_tokenizer_load(g_dir) ? 0 : -1, "vocab.json", "id 4 is used by both", "duplicate ids");
    write_tokenizer(", \"a\": 4, \"a\": 5");
    expect_refused(sg_tokenizer_load(g_dir) ? 0 : -1, "vocab.json", "appears twice", "duplicate tokens");
    write_tokenizer(", \"a\": 2");
    expect_refused(sg_tokenizer_load(g_dir) ? 0 : -1, "vocab.json", "id 2 is used by both", "token sharing a special's id");
    write_tokenizer(", \"a\": 4294967296");
    expect_refused(sg_tokenizer_load(g_dir) ? 0 : -1, "vocab.json", "out of range", "id beyond 2^24");
    write_tokenizer(", \"a\": 4.5");
    expect_refused(sg_tokenizer_load(g_dir) ? 0 : -1, "vocab.json", "not an integer", "fractional id");
    /* a vocab.json claiming 65 MB (sparse) is refused from its size, before being read */
    const char *v = tmp_path("vocab.json");
    FILE *f = fopen(v, "wb");
    if (f) {
        CHECK(ftruncate(fileno(f), (off_t)SG_TOKENIZER_MAX_FILE_BYTES + 1) == 0);
        fclose(f);
    }
    expect_refused(sg_tokenizer_load(g_dir) ? 0 : -1, "vocab.json", "more than the", "oversized vocab.json");
    write_tokenizer("");
    sg_tokenizer *t = sg_tokenizer_load(g_dir);
    CHECK_MSG(t != NULL, "minimal tokenizer: %s", sg_last_error());
    sg_tokenizer_free(t);
    unlink(tmp_path("vocab.json"));
    unlink(tmp_path("merges.txt"));
}

/* ---- config.json with zero-length dimensions ---- */

static void test_config_zero_dims(void) {
    static const struct {
        const char *key, *fragment;
    } cases[] = {
        {"hidden_size", "hidden_size 0 out of range"},
        {"num_hidden_layers", "num_hidden_layers 0 out of range"},
        {"num_attention_heads", "num_attention_heads 0"},
        {"intermediate_size", "intermediate_size 0 out of range"},
        {"vocab_size", "vocab_size 0 out of range"},
        {"max_position_embeddings", "max_position_embeddings 0 out of range"},
        {"type_vocab_size", "type_vocab_size 0 out of range"},
        {"num_labels", "num_labels': 0 out of range"},
    };
    static const char *const keys[] = {"vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "max_position_embeddings", "type_vocab_size", "num_labels"};
    static const int values[] = {261, 64, 2, 2, 256, 514, 1, 2};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[1024];
        int n = snprintf(json, sizeof json, "{\"model_type\": \"roberta\", \"hidden_act\": \"relu\"");
        for (int k = 0; k < 8; k++) /* every size as in a tiny model, the one under test 0 */
            n += snprintf(json + n, sizeof json - (size_t)n, ", \"%s\": %d", keys[k],
                          strcmp(keys[k], cases[i].key) ? values[k] : 0);
        n += snprintf(json + n, sizeof json - (size_t)n, "}");
        write_bytes(tmp_path("config.json"), json, (size_t)n);
        sg_model_config c;
        expect_refused(sg_model_config_load(&c, tmp_path("config.json")), "config.json", cases[i].fragment, cases[i].key);
    }
    /* extreme ids must not overflow the checks */
    const char *big = "{\"model_type\": \"roberta\", \"hidden_act\": \"relu\", \"vocab_size\": 261, \"hidden_size\": 64,"
                      " \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 256,"
                      " \"pad_token_id\": 2147483647}";
    sg_model_config c;
    expect_refused(sg_model_config_parse(&c, big, strlen(big), "big.json"), "big.json", "max_position_embeddings",
                   "pad_token_id INT_MAX");
    /* duplicate keys: cJSON would take the first, Python the last: refused */
    const char *dup = "{\"model_type\": \"roberta\", \"hidden_size\": 64, \"hidden_size\": 0}";
    expect_refused(sg_model_config_parse(&c, dup, strlen(dup), "dup.json"), "dup.json", "'hidden_size' appears twice",
                   "duplicate key");
    unlink(tmp_path("config.json"));
}

int main(void) {
    const char *dir = sg_test_tmpdir();
    if (!dir) sg_test_skip("no temporary directory");
    snprintf(g_dir, sizeof g_dir, "%s", dir);
    test_long_lines(); /* first: its RSS bound is measured from a small process */
    test_safetensors();
    test_yaml_bombs();
    test_vocab();
    test_config_zero_dims();
    rmdir(g_dir);
    return sg_test_done();
}
