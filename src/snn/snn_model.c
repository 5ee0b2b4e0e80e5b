#include "snn/snn_model.h"

#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void sg_snn_neuron_name(const sg_snn_model *snn, int layer, int q, char *buf, size_t n) {
    if (layer >= snn->cfg.layers) snprintf(buf, n, "%s", sg_quantizer_name(Q_PER_LAYER));
    else snprintf(buf, n, "roberta.encoder.layer.%d.%s", layer, sg_quantizer_name(q));
}

/* The neuron replacing quantizer q of layer l, or an error naming the module that makes the
 * conversion inexact. */
static int neuron_of(const sg_model *m, int l, int q, sg_stbif_params *out) {
    const int layers = m->cfg.layers;
    char name[SG_PARAM_NAME_MAX], module[SG_PARAM_NAME_MAX];
    if (l == layers) snprintf(name, sizeof name, "%s", sg_quantizer_name(Q_PER_LAYER));
    else snprintf(name, sizeof name, "roberta.encoder.layer.%d.%s", l, sg_quantizer_name(q));
    snprintf(module, sizeof module, "%s", name);
    *strrchr(module, '.') = '\0'; /* the quantizer's module */
    const sg_lsq *z = sg_model_quant(m, l, q);
    if (!z)
        return sg_fail("snn conversion: module '%s' is not quantized; an exact spiking network needs every module "
                       "quantized (as configs/transform_cfg.yaml does)",
                       module);
    if (z->full)
        return sg_fail("snn conversion: module '%s' has level %d (>= %d means not quantized); an exact spiking "
                       "network needs every module quantized",
                       module, z->level, SG_LSQ_FULL_LEVEL);
    if (sg_stbif_params_from_lsq(out, z)) return sg_fail_context("snn conversion: %s", name);
    return 0;
}

typedef struct {
    float *base;
    size_t used, cap;
} carver;

static size_t rounded(size_t n) { return (n + 15) & ~(size_t)15; } /* 64-byte starts */

static float *carve(carver *c, size_t n) {
    float *p = c->base + c->used;
    c->used += rounded(n);
    return p;
}

/* The row stride of a stored linear: out rounded to a cache line, plus one line when out is wide.
 * Rows a power of two apart (768 or 1024 floats) map a column strip of every input row onto the
 * same few cache sets, and the event gather, which reads one strip of many rows, thrashed L1/L2
 * (measured: 1.6 adds per cycle, not 8); a line of padding spreads the rows over every set. */
static int linear_ld(int out) { return out >= 64 ? (out + 15) / 16 * 16 + 16 : out; }

/* Columns of a linear in full strips of SG_SNN_STRIP: those the strip-major copy holds. */
static size_t strip_columns(int out) { return (size_t)(out / SG_SNN_STRIP) * SG_SNN_STRIP; }

static size_t linear_floats(int in, int out) {
    return rounded((size_t)in * (size_t)linear_ld(out)) + rounded((size_t)in * strip_columns(out)) + 2 * rounded((size_t)out);
}

/* W: `parts` consecutive [out_p, in] blocks (HF layout), biases likewise; stored as one [in, Σ out_p]. */
static void make_linear(sg_snn_linear *lin, carver *c, const float *const *W, const float *const *b, int parts,
                        int in, int out_p, int level) {
    const int out = parts * out_p, ld = linear_ld(out);
    float *wt = carve(c, (size_t)in * ld), *bias = carve(c, (size_t)out), *bstep = carve(c, (size_t)out);
    memset(wt, 0, sizeof(float) * (size_t)in * (size_t)ld); /* the padding too */
    for (int p = 0; p < parts; p++)
        for (int o = 0; o < out_p; o++) {
            const float *row = W[p] + (size_t)o * in;
            for (int j = 0; j < in; j++) wt[(size_t)j * ld + (size_t)p * out_p + o] = row[j];
            bias[p * out_p + o] = b[p][o];
            bstep[p * out_p + o] = b[p][o] / (float)level;
        }
    /* The event gather's copy, strip-major: an event reads one contiguous block of its strip
     * instead of a piece of a row ~ld floats from the previous event's (fewer pages, no set clash) */
    float *strips = NULL;
    if (strip_columns(out) > 0) {
        strips = carve(c, (size_t)in * strip_columns(out));
        for (int s = 0; s < out / SG_SNN_STRIP; s++)
            for (int j = 0; j < in; j++)
                memcpy(strips + ((size_t)s * in + j) * SG_SNN_STRIP, wt + (size_t)j * ld + (size_t)s * SG_SNN_STRIP,
                       sizeof(float) * SG_SNN_STRIP);
    }
    lin->wt_strips = strips;
    lin->wt = wt;
    lin->bias = bias;
    lin->bias_step = bstep;
    lin->in = in;
    lin->out = out;
    lin->ld = ld;
}

static float *copy(carver *c, const float *src, size_t n) {
    float *p = carve(c, n);
    memcpy(p, src, n * sizeof(float));
    return p;
}

int sg_snn_convert(sg_snn_model *snn, const sg_model *m, int unfold_level) {
    memset(snn, 0, sizeof *snn);
    const sg_model_config *cfg = &m->cfg;
    if (!sg_model_is_quantized(m))
        return sg_fail("snn conversion: the model is not quantized; convert a quantized model (--transform_config)");
    if (cfg->act != SG_ACT_RELU)
        return sg_fail("snn conversion: hidden_act gelu has no exact spiking equivalent (ReLU only)");
    if (unfold_level < 1) return sg_fail("snn conversion: unfold_bias level %d must be at least 1", unfold_level);
    const int layers = cfg->layers, C = cfg->hidden, F = cfg->ffn, L = cfg->num_labels;
    snn->cfg = *cfg;
    snn->unfold_level = unfold_level;
    size_t nmod = (size_t)layers * QM_PER_LAYER + 1;
    snn->module_levels = malloc(nmod * sizeof(int));
    snn->layer = calloc((size_t)layers, sizeof *snn->layer);
    if (!snn->module_levels || !snn->layer) {
        sg_snn_model_free(snn);
        return sg_fail("snn conversion: out of memory");
    }
    memcpy(snn->module_levels, m->module_levels, nmod * sizeof(int));
    for (int l = 0; l <= layers; l++)
        for (int q = 0; q < (l == layers ? 1 : Q_PER_LAYER); q++)
            if (neuron_of(m, l, q, l == layers ? &snn->cls_neuron : &snn->layer[l].neuron[q])) {
                sg_snn_model_free(snn);
                return -1;
            }

    size_t total = rounded((size_t)cfg->vocab_size * C) + rounded((size_t)cfg->max_positions * C) +
                   rounded((size_t)cfg->type_vocab * C) + 2 * rounded((size_t)C);
    total += (size_t)layers * (linear_floats(C, 3 * C) + linear_floats(C, C) + linear_floats(C, F) +
                               linear_floats(F, C) + 4 * rounded((size_t)C));
    total += linear_floats(C, C) + linear_floats(C, L);
    /* In 2 MB pages where the kernel grants them: the gather reads weight rows a few KB apart
     * (each event another page), over MBs of weights per step, more pages than the TLB holds. */
    const size_t huge = (size_t)2 << 20, bytes = (total * sizeof(float) + huge - 1) / huge * huge;
    snn->block = aligned_alloc(huge, bytes);
#ifdef MADV_HUGEPAGE
    if (snn->block) (void)madvise(snn->block, bytes, MADV_HUGEPAGE); /* advice only: 4 KB pages otherwise */
#endif
    if (!snn->block) {
        sg_snn_model_free(snn);
        return sg_fail("snn conversion: out of memory for %zu parameters", total);
    }
    snn->block_floats = total;
    carver c = {snn->block, 0, total};
#define P(idx) sg_model_param(m, (idx))
#define PL(l, k) sg_model_param(m, sg_param_index_layer(cfg, (l), (k)))
#define PC(k) sg_model_param(m, sg_param_index_classifier(cfg, (k)))
    snn->word = copy(&c, P(P_WORD), (size_t)cfg->vocab_size * C);
    snn->pos = copy(&c, P(P_POS), (size_t)cfg->max_positions * C);
    snn->type = copy(&c, P(P_TYPE), (size_t)cfg->type_vocab * C);
    snn->emb_ln_w = copy(&c, P(P_EMB_LN_W), (size_t)C);
    snn->emb_ln_b = copy(&c, P(P_EMB_LN_B), (size_t)C);
    for (int l = 0; l < layers; l++) {
        sg_snn_layer *ly = &snn->layer[l];
        const float *qkv_w[3] = {PL(l, L_QW), PL(l, L_KW), PL(l, L_VW)}, *qkv_b[3] = {PL(l, L_QB), PL(l, L_KB), PL(l, L_VB)};
        make_linear(&ly->qkv, &c, qkv_w, qkv_b, 3, C, C, unfold_level);
        const float *w1[1] = {PL(l, L_AOW)}, *b1[1] = {PL(l, L_AOB)};
        make_linear(&ly->attn_out, &c, w1, b1, 1, C, C, unfold_level);
        const float *w2[1] = {PL(l, L_IW)}, *b2[1] = {PL(l, L_IB)};
        make_linear(&ly->inter, &c, w2, b2, 1, C, F, unfold_level);
        const float *w3[1] = {PL(l, L_OW)}, *b3[1] = {PL(l, L_OB)};
        make_linear(&ly->ffn_out, &c, w3, b3, 1, F, C, unfold_level);
        ly->ln1_w = copy(&c, PL(l, L_LN1W), (size_t)C);
        ly->ln1_b = copy(&c, PL(l, L_LN1B), (size_t)C);
        ly->ln2_w = copy(&c, PL(l, L_LN2W), (size_t)C);
        ly->ln2_b = copy(&c, PL(l, L_LN2B), (size_t)C);
    }
    const float *cw[1] = {PC(C_DW)}, *cb[1] = {PC(C_DB)};
    make_linear(&snn->cls_dense, &c, cw, cb, 1, C, C, unfold_level);
    const float *ow[1] = {PC(C_OW)}, *ob[1] = {PC(C_OB)};
    make_linear(&snn->cls_out, &c, ow, ob, 1, C, L, unfold_level);
#undef P
#undef PL
#undef PC
    return 0;
}

void sg_snn_model_free(sg_snn_model *snn) {
    free(snn->block);
    free(snn->layer);
    free(snn->module_levels);
    memset(snn, 0, sizeof *snn);
}
