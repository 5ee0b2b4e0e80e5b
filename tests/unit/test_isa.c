/* The ISA dispatch of the simulator's kernels (core/isa.h, issue #19): every version the CPU can
 * run computes the same bits, and SG_ISA is honoured or refused with a clear error.
 * The test re-runs itself with SG_ISA=each ISA and `--dump FILE`: the child drives a converted
 * attention block (tiny geometry) for 40 steps from random spikes — event linear into the fused
 * Q/K/V neurons, attention, the output linear, LN-zip — plus the event gather on a width that
 * leaves every strip size and a scalar tail, and writes every state it produced; the parent
 * compares the dumps byte for byte with the generic one. */
#include "core/isa.h"
#include "core/rng.h"
#include "snn/snn_model.h"
#include "snn/zip_ops.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { T = 24, STEPS = 40, LEVEL = 32 };

static void dump(FILE *f, const void *p, size_t bytes) { fwrite(p, 1, bytes, f); }

static void dump_pop(FILE *f, const sg_snn_pop *p) {
    const size_t n = (size_t)p->rows * (size_t)p->width;
    dump(f, p->x, n * sizeof(float));
    dump(f, p->s, n * sizeof(int32_t));
    dump(f, p->pend, (size_t)p->rows);
    dump(f, p->nev, (size_t)p->rows * sizeof(int32_t));
    for (int r = 0; r < p->rows; r++) dump(f, p->ev + (size_t)r * p->width, (size_t)p->nev[r] * sizeof(int32_t));
}

/* Random ±1 events over `width` inputs per row, column order, fewer as t grows. */
static void random_spikes(sg_rng *g, int32_t *ev, int32_t *nev, int rows, int width, int t) {
    for (int r = 0; r < rows; r++) {
        nev[r] = 0;
        for (int c = 0; c < width; c++)
            if (sg_rng_below(g, 100) < (uint64_t)(40 / t + 2))
                ev[(size_t)r * width + nev[r]++] = sg_spike_event(c, sg_rng_below(g, 3) ? 1 : -1);
    }
}

static int child(const char *path) {
    printf("child: kernels %s\n", sg_isa_describe());
    sg_model_config cfg;
    if (sg_model_config_preset(&cfg, "tiny", 2, 261)) return 3;
    const int C = cfg.hidden, H = cfg.heads;
    int levels[2 * QM_PER_LAYER + 1];
    for (int i = 0; i < 2 * QM_PER_LAYER + 1; i++) levels[i] = LEVEL;
    sg_model m;
    sg_snn_model snn;
    if (sg_model_create_quantized(&m, &cfg, levels)) return 3;
    sg_model_init_random(&m, 7);
    if (sg_snn_convert(&snn, &m, LEVEL)) return 3;
    const sg_snn_layer *ly = &snn.layer[0];
    sg_zip_attention_params prm = {1.0f / sqrtf((float)(C / H)), ly->neuron + Q_QUERY, ly->neuron[Q_ATTN],
                                   ly->neuron[Q_AFTER_ATTN]};
    sg_snn_pop qkv, ao, ln;
    sg_zip_attention a;
    if (sg_snn_pop_init(&qkv, T, 3 * C, 3, ly->neuron + Q_QUERY, NULL) ||
        sg_snn_pop_init(&ao, T, C, 1, ly->neuron + Q_ATTN_OUT, NULL) ||
        sg_snn_pop_init(&ln, T, C, 1, ly->neuron + Q_ATTN_OUT_LN, NULL) ||
        sg_zip_attention_init(&a, T, C, H, &prm, NULL, NULL))
        return 3;
    sg_snn_scratch sc = {malloc(sizeof(float) * T * 3 * C), malloc(sizeof(float) * T * 3 * C)};
    int32_t *ev = malloc(sizeof(int32_t) * T * C), nev[T], mask[T];
    float *res = malloc(sizeof(float) * T * C), tmp[256];
    for (int i = 0; i < T; i++) mask[i] = i < T - 4; /* four padding keys */
    sg_rng g;
    sg_rng_seed(&g, 11);
    for (int i = 0; i < T * C; i++) res[i] = (float)(sg_rng_below(&g, 2001)) / 500.0f - 2.0f;
    FILE *f = fopen(path, "wb");
    if (!f) return 3;
    for (int t = 1; t <= STEPS; t++) {
        sg_snn_counts c;
        sg_zip_attention_counts ac;
        memset(&c, 0, sizeof c);
        memset(&ac, 0, sizeof ac);
        random_spikes(&g, ev, nev, T, C, t);
        sg_snn_input in = {ev, nev, C, 0.25f, NULL};
        sg_snn_linear_fire(&ly->qkv, &in, t <= LEVEL, &qkv, T, 2.0f, &sc, &c); /* never dense: the gather */
        sg_zip_attention_step(&a, &prm, &qkv, mask, T, T, t == 1, &ac);
        sg_snn_input ctx = {a.out.ev, a.out.nev, C, prm.out.theta, NULL};
        sg_snn_linear_fire(&ly->attn_out, &ctx, t <= LEVEL, &ao, T, 2.0f, &sc, &c);
        sg_snn_layernorm_fire(&ln, T, t == 1, ao.s, ao.nev, ly->neuron[Q_ATTN_OUT].theta, NULL, NULL, 0.0f, res,
                              ly->ln1_w, ly->ln1_b, 1e-5f, tmp, &c);
        dump_pop(f, &qkv);
        dump_pop(f, &a.prob);
        dump_pop(f, &a.out);
        dump_pop(f, &ao);
        dump_pop(f, &ln);
        dump(f, a.score, sizeof(int32_t) * (size_t)H * T * T);
        dump(f, a.ctx, sizeof(int32_t) * (size_t)T * C);
        dump(f, &c, sizeof c);
        dump(f, &ac, sizeof ac);
    }
    /* the gather alone on 3C - 5 columns: 8-, 4- and 1-register strips and a scalar tail on every ISA */
    const int O = 3 * C - 5;
    float acc[3 * 64];
    random_spikes(&g, ev, nev, 1, C, 1);
    sg_snn_gather(acc, ly->qkv.wt, O, ev, nev[0]);
    dump(f, acc, sizeof(float) * (size_t)O);
    fclose(f);
    free(sc.xd);
    free(sc.yd);
    free(ev);
    free(res);
    sg_zip_attention_free(&a);
    sg_snn_pop_free(&qkv);
    sg_snn_pop_free(&ao);
    sg_snn_pop_free(&ln);
    sg_snn_model_free(&snn);
    sg_model_free(&m);
    return 0;
}

/* Runs this program with SG_ISA=isa and the given argument; returns its exit status, stderr in err. */
static int run_self(const char *self, const char *dir, const char *isa, const char *arg, char *err, size_t errn) {
    char errpath[512];
    snprintf(errpath, sizeof errpath, "%s/stderr-%s", dir, isa);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("SG_ISA", isa, 1);
        if (!freopen(errpath, "w", stderr)) _exit(4);
        execl(self, self, "--dump", arg, (char *)NULL);
        _exit(4);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    err[0] = 0;
    FILE *f = fopen(errpath, "r");
    if (f) {
        size_t n = fread(err, 1, errn - 1, f);
        err[n] = 0;
        fclose(f);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    char *b = malloc(*n ? *n : 1);
    if (b && fread(b, 1, *n, f) != *n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--dump")) return child(argv[2]);
    const char *dir = sg_test_tmpdir();
    if (!dir) sg_test_skip("no temporary directory");
    char path[SG_ISA_COUNT][512], err[1024];
    size_t n0 = 0;
    char *base = NULL;
    int ran = 0;
    for (int i = 0; i < SG_ISA_COUNT; i++) {
        const char *name = sg_isa_name((sg_isa)i);
        snprintf(path[i], sizeof path[i], "%s/dump-%s", dir, name);
        int rc = run_self(argv[0], dir, name, path[i], err, sizeof err);
        if (!sg_isa_supported((sg_isa)i)) {
            /* refused, in one line that names the variable and the ISA */
            CHECK_MSG(rc == 2 && strstr(err, "SG_ISA=") && strstr(err, name) && strstr(err, "lacks"),
                      "SG_ISA=%s on a CPU without it: exit %d, stderr '%s'", name, rc, err);
            printf("%-8s refused: %s", name, err);
            continue;
        }
        CHECK_MSG(rc == 0, "SG_ISA=%s: child exited %d: %s", name, rc, err);
        size_t n = 0;
        char *d = slurp(path[i], &n);
        CHECK(d != NULL && n > 0);
        if (!d) continue;
        ran++;
        if (!base) {
            base = d;
            n0 = n;
            printf("%-8s %zu bytes of kernel state\n", name, n);
            continue;
        }
        CHECK_MSG(n == n0 && !memcmp(d, base, n), "SG_ISA=%s computes different bits from generic", name);
        printf("%-8s %zu bytes, identical to generic: %s\n", name, n, n == n0 && !memcmp(d, base, n) ? "yes" : "NO");
        free(d);
    }
    CHECK(ran >= 1);
    free(base);
    /* a name that is no ISA */
    int rc = run_self(argv[0], dir, "sse9", path[0], err, sizeof err);
    CHECK_MSG(rc == 2 && strstr(err, "SG_ISA=sse9") && strstr(err, "generic, avx2 or avx512"),
              "SG_ISA=sse9: exit %d, stderr '%s'", rc, err);
    /* the default is the best the CPU has */
    if (!getenv("SG_ISA")) CHECK(sg_isa_active() == sg_isa_best());
    printf("default: %s\n", sg_isa_describe());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return sg_test_done();
}
