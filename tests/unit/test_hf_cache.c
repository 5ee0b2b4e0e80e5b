/* HuggingFace cache layout and `--model_name_or_path` resolution (src/hub/hf_cache.c), the SHA-256
 * used to verify downloads (src/hub/sha256.c, known vectors), ETag clean-up and the GLUE task table.
 * Network paths are covered by tests/scripts/test_fetch.sh. */
#include "core/error.h"
#include "core/fileio.h"
#include "hub/fetch.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* snprintf into an array, counted as a check that the path fit */
#define FMT(buf, ...) CHECK(snprintf(buf, sizeof buf, __VA_ARGS__) < (int)sizeof buf)

static const char *sha_of(const void *data, size_t len) {
    static char hex[65];
    sg_sha256 s;
    uint8_t d[32];
    sg_sha256_init(&s);
    sg_sha256_update(&s, data, len);
    sg_sha256_final(&s, d);
    sg_sha256_hex(d, hex);
    return hex;
}

static void test_sha256(const char *tmp) {
    CHECK(!strcmp(sha_of("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    CHECK(!strcmp(sha_of("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes */
    CHECK(!strcmp(sha_of(two_blocks, strlen(two_blocks)),
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    /* one million 'a', fed in uneven pieces to exercise the block buffering */
    static char a[1000000];
    memset(a, 'a', sizeof a);
    sg_sha256 s;
    uint8_t d[32];
    char hex[65];
    sg_sha256_init(&s);
    for (size_t off = 0, step = 1; off < sizeof a; off += step, step = step * 7 % 1000 + 1)
        sg_sha256_update(&s, a + off, off + step > sizeof a ? sizeof a - off : step);
    sg_sha256_final(&s, d);
    sg_sha256_hex(d, hex);
    CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
    /* every length around the padding boundary agrees between one call and byte-by-byte */
    for (size_t len = 50; len <= 130; len++) {
        char one[65];
        snprintf(one, sizeof one, "%s", sha_of(a, len));
        sg_sha256_init(&s);
        for (size_t i = 0; i < len; i++) sg_sha256_update(&s, a + i, 1);
        sg_sha256_final(&s, d);
        sg_sha256_hex(d, hex);
        CHECK_MSG(!strcmp(one, hex), "length %zu", len);
    }
    char path[4096];
    FMT(path, "%s/abc.txt", tmp);
    FILE *f = fopen(path, "wb");
    fputs("abc", f);
    fclose(f);
    CHECK(sg_sha256_file(path, hex) == 0 && !strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    FMT(path, "%s/absent", tmp);
    CHECK(sg_sha256_file(path, hex) == -1 && strstr(sg_last_error(), "absent"));

    CHECK(sg_is_sha256_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    CHECK(!sg_is_sha256_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"));
    CHECK(!sg_is_sha256_hex("0123456789abcdef0123456789abcdef01234567")); /* a git sha1 */
    CHECK(!sg_is_sha256_hex(NULL));
}

static void test_etag(void) {
    char a[] = "W/\"abc123\"", b[] = "\"0123\"", c[] = "plain";
    CHECK(!strcmp(sg_etag_normalize(a), "abc123"));
    CHECK(!strcmp(sg_etag_normalize(b), "0123"));
    CHECK(!strcmp(sg_etag_normalize(c), "plain"));
}

static void test_repo_ids(void) {
    CHECK(sg_hf_valid_repo_id("FacebookAI/roberta-base"));
    CHECK(sg_hf_valid_repo_id("roberta-base"));
    CHECK(sg_hf_valid_repo_id("org_1/model.v2"));
    CHECK(!sg_hf_valid_repo_id(""));
    CHECK(!sg_hf_valid_repo_id("a/b/c"));
    CHECK(!sg_hf_valid_repo_id("../etc"));
    CHECK(!sg_hf_valid_repo_id("org/.."));
    CHECK(!sg_hf_valid_repo_id("org/a..b"));
    CHECK(!sg_hf_valid_repo_id("/abs/path"));
    CHECK(!sg_hf_valid_repo_id("./local"));
    CHECK(!sg_hf_valid_repo_id("org/"));
    CHECK(!sg_hf_valid_repo_id("org/na me"));
    char dir[4096];
    CHECK(sg_hf_repo_dir("/c", "FacebookAI/roberta-base", dir, sizeof dir) == 0 &&
          !strcmp(dir, "/c/models--FacebookAI--roberta-base"));
    CHECK(sg_hf_repo_dir("/c", "gpt2", dir, sizeof dir) == 0 && !strcmp(dir, "/c/models--gpt2"));
    CHECK(sg_hf_repo_dir("/c", "a/../b", dir, sizeof dir) == -1 && strstr(sg_last_error(), "a/../b"));
}

static void test_cache_dir(void) {
    char dir[4096];
    unsetenv("HF_HUB_CACHE");
    unsetenv("HUGGINGFACE_HUB_CACHE");
    unsetenv("HF_HOME");
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/home/u", 1);
    CHECK(sg_hf_cache_dir(dir, sizeof dir) == 0 && !strcmp(dir, "/home/u/.cache/huggingface/hub"));
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    CHECK(sg_hf_cache_dir(dir, sizeof dir) == 0 && !strcmp(dir, "/xdg/huggingface/hub"));
    setenv("HF_HOME", "/hfhome", 1);
    CHECK(sg_hf_cache_dir(dir, sizeof dir) == 0 && !strcmp(dir, "/hfhome/hub"));
    setenv("HUGGINGFACE_HUB_CACHE", "/legacy", 1);
    CHECK(sg_hf_cache_dir(dir, sizeof dir) == 0 && !strcmp(dir, "/legacy"));
    setenv("HF_HUB_CACHE", "/hubcache", 1);
    CHECK(sg_hf_cache_dir(dir, sizeof dir) == 0 && !strcmp(dir, "/hubcache"));
    unsetenv("HF_HUB_CACHE");
    unsetenv("HUGGINGFACE_HUB_CACHE");
    unsetenv("HF_HOME");
    unsetenv("XDG_CACHE_HOME");
    unsetenv("HOME");
    CHECK(sg_hf_cache_dir(dir, sizeof dir) == -1 && strstr(sg_last_error(), "HF_HOME"));
}

static int read_text(const char *path, char *out, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t got = fread(out, 1, n - 1, f);
    fclose(f);
    out[got] = '\0';
    return 0;
}

static void test_layout_and_resolve(const char *tmp) {
    const char *commit = "0123456789abcdef0123456789abcdef01234567";
    char cache[4096], repo[4096], path[4096], text[256], out[4096];
    FMT(cache, "%s/hub", tmp);
    setenv("HF_HUB_CACHE", cache, 1);
    CHECK(sg_hf_repo_dir(cache, "test-org/tiny", repo, sizeof repo) == 0);

    /* not fetched yet: the error lists what was tried and how to fix it */
    CHECK(sg_hf_resolve("test-org/tiny", NULL, out, sizeof out) == -1);
    const char *e = sg_last_error();
    FMT(path, "%s/refs/main", repo);
    CHECK_MSG(strstr(e, path) != NULL, "error should name %s: %s", path, e);
    FMT(path, "%s/snapshots/main", repo);
    CHECK_MSG(strstr(e, path) != NULL, "error should name %s: %s", path, e);
    CHECK_MSG(strstr(e, "./test-org/tiny") != NULL, "error should name the directory tried: %s", e);
    CHECK_MSG(strstr(e, "spikeglue fetch model test-org/tiny") != NULL, "error should suggest fetch: %s", e);
    CHECK(strchr(e, '\n') == NULL);
    CHECK(sg_hf_resolve("test-org/tiny", "v2", out, sizeof out) == -1 &&
          strstr(sg_last_error(), "spikeglue fetch model test-org/tiny --revision v2"));

    /* the layout the fetcher writes */
    FMT(path, "%s/blobs", repo);
    CHECK(sg_mkdirs(path) == 0);
    FMT(path, "%s/blobs/deadbeef", repo);
    FILE *f = fopen(path, "wb");
    fputs("{\"hidden_size\": 8}", f);
    fclose(f);
    CHECK(sg_hf_link_snapshot(repo, commit, "config.json", "deadbeef") == 0);
    CHECK(sg_hf_link_snapshot(repo, commit, "config.json", "deadbeef") == 0); /* replacing is fine */
    CHECK(sg_hf_link_snapshot(repo, commit, "sub/dir/x.json", "deadbeef") == 0);
    FMT(path, "%s/snapshots/%s/config.json", repo, commit);
    ssize_t len = readlink(path, text, sizeof text - 1);
    text[len > 0 ? len : 0] = '\0';
    CHECK_MSG(!strcmp(text, "../../blobs/deadbeef"), "link target %s", text);
    CHECK(read_text(path, text, sizeof text) == 0 && !strcmp(text, "{\"hidden_size\": 8}"));
    FMT(path, "%s/snapshots/%s/sub/dir/x.json", repo, commit);
    len = readlink(path, text, sizeof text - 1);
    text[len > 0 ? len : 0] = '\0';
    CHECK_MSG(!strcmp(text, "../../../../blobs/deadbeef"), "nested link target %s", text);
    CHECK(read_text(path, text, sizeof text) == 0 && !strcmp(text, "{\"hidden_size\": 8}"));
    CHECK(sg_hf_link_snapshot(repo, "../x", "config.json", "deadbeef") == -1);
    CHECK(sg_hf_link_snapshot(repo, commit, "../config.json", "deadbeef") == -1);
    CHECK(sg_hf_link_snapshot(repo, commit, "config.json", "a/b") == -1);

    CHECK(sg_hf_write_ref(repo, "main", commit) == 0);
    FMT(path, "%s/refs/main", repo);
    CHECK(read_text(path, text, sizeof text) == 0 && !strcmp(text, commit)); /* no newline */
    CHECK(sg_hf_write_ref(repo, "refs/pr/1", commit) == 0);
    CHECK(sg_hf_write_ref(repo, "../main", commit) == -1);
    CHECK(sg_hf_write_ref(repo, "main", "not/a/commit") == -1);

    /* resolved through refs/main, refs/<revision>, and a commit given as the revision */
    char want[4096];
    FMT(want, "%s/snapshots/%s", repo, commit);
    CHECK(sg_hf_resolve("test-org/tiny", NULL, out, sizeof out) == 0 && !strcmp(out, want));
    CHECK(sg_hf_resolve("test-org/tiny", "main", out, sizeof out) == 0 && !strcmp(out, want));
    CHECK(sg_hf_resolve("test-org/tiny", "refs/pr/1", out, sizeof out) == 0 && !strcmp(out, want));
    CHECK(sg_hf_resolve("test-org/tiny", commit, out, sizeof out) == 0 && !strcmp(out, want));
    /* a ref with a trailing newline (written by hand) still works */
    FMT(path, "%s/refs/v1", repo);
    f = fopen(path, "wb");
    fprintf(f, "%s\n", commit);
    fclose(f);
    CHECK(sg_hf_resolve("test-org/tiny", "v1", out, sizeof out) == 0 && !strcmp(out, want));

    /* a ref pointing at a snapshot that is gone */
    const char *gone = "fedcba9876543210fedcba9876543210fedcba98";
    CHECK(sg_hf_write_ref(repo, "stale", gone) == 0);
    CHECK(sg_hf_resolve("test-org/tiny", "stale", out, sizeof out) == -1);
    e = sg_last_error();
    CHECK_MSG(strstr(e, gone) && strstr(e, "refs/stale") && strstr(e, "spikeglue fetch model test-org/tiny --revision stale"),
              "stale ref error: %s", e);
    /* a garbage ref */
    FMT(path, "%s/refs/junk", repo);
    f = fopen(path, "wb");
    fputs("../../etc", f);
    fclose(f);
    CHECK(sg_hf_resolve("test-org/tiny", "junk", out, sizeof out) == -1 && strstr(sg_last_error(), "refs/junk"));

    /* an existing directory is returned as is, whatever the cache holds */
    CHECK(sg_hf_resolve(tmp, NULL, out, sizeof out) == 0 && !strcmp(out, tmp));
    CHECK(sg_hf_resolve(want, "ignored", out, sizeof out) == 0 && !strcmp(out, want));
    /* a file is not a model directory; a missing path that is no repo id says so */
    FMT(path, "%s/blobs/deadbeef", repo);
    CHECK(sg_hf_resolve(path, NULL, out, sizeof out) == -1 && strstr(sg_last_error(), "not a directory"));
    CHECK(sg_hf_resolve("/no/such/model/dir", NULL, out, sizeof out) == -1 &&
          strstr(sg_last_error(), "/no/such/model/dir: no such directory"));
    CHECK(sg_hf_resolve("", NULL, out, sizeof out) == -1);
    /* the output buffer too small is an error, not a truncated path */
    CHECK(sg_hf_resolve("test-org/tiny", NULL, out, 8) == -1);
    unsetenv("HF_HUB_CACHE");
}

static void test_glue_tasks(void) {
    int n = 0;
    const sg_glue_zip *all = sg_glue_zips(&n);
    CHECK(n == 9 && !strcmp(all[0].folder, "CoLA") && !strcmp(all[8].folder, "WNLI"));
    CHECK(sg_glue_zip_find("cola") == &all[0]);
    CHECK(sg_glue_zip_find("SST-2") == &all[1] && sg_glue_zip_find("sst2") == &all[1] && sg_glue_zip_find("sst") == &all[1]);
    CHECK(sg_glue_zip_find("STS-B") == &all[3] && sg_glue_zip_find("stsb") == &all[3]);
    CHECK(sg_glue_zip_find("qqp") && !strcmp(sg_glue_zip_find("qqp")->zip, "QQP-clean.zip"));
    CHECK(sg_glue_zip_find("QNLI") && !strcmp(sg_glue_zip_find("QNLI")->zip, "QNLIv2.zip"));
    CHECK(sg_glue_zip_find("mnli-mm") == NULL && sg_glue_zip_find("") == NULL);
}

int main(void) {
    const char *tmp = sg_test_tmpdir();
    if (!tmp) sg_test_skip("cannot create a temporary directory");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", tmp);
    test_sha256(dir);
    test_etag();
    test_repo_ids();
    test_cache_dir();
    test_layout_and_resolve(dir);
    test_glue_tasks();
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return sg_test_done();
}
