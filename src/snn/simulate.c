#include "snn/simulate.h"

#include "core/error.h"
#include "model/ops.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

enum { CNT_POS, CNT_NEG, CNT_SOPS, CNT_MACS, CNT_FIELDS };

/* Steps each operator runs before the next one does (layer-major window, see run_sample). */
#define SG_SNN_WINDOW 16

/* Event trains: SG_SNN_WINDOW step slots of a population's events, shared by the layers (the
 * layer outputs alternate, as the next layer's LayerNorm still reads them). */
enum { TR_QKV, TR_CTX, TR_AO, TR_H1, TR_F, TR_O2, TR_OUT0, TR_OUT1, TR_COUNT };
/* Spike counts kept by the LayerNorms for their inputs, per layer. */
enum { SH_AO, SH_H1, SH_O2, SH_OUT, SH_COUNT };
/* A layer's operators in order. */
enum { OP_QKV, OP_ATT, OP_AO, OP_H1, OP_F, OP_O2, OP_OUT, OPS_PER_LAYER };

/* One thread's state: the full network for one sample at a time. */
typedef struct {
    sg_snn_pop *qkv, *ao, *h1, *f, *o2, *out;
    sg_zip_attention *att;
    sg_snn_pop cls;
    int32_t *ev_prob;          /* attention probabilities: consumed inside the attention step */
    int32_t *train[TR_COUNT];
    int32_t *shadow;           /* [layers, SH_COUNT, shadow_len] */
    size_t shadow_len;         /* T * C */
    int C;
    uint8_t *pend_step;        /* [SG_SNN_WINDOW] some operator pending after the slot's step */
    sg_snn_scratch scratch;
    float *tmp;     /* [C] */
    float *acc_out; /* [L] */
    uint64_t *cnt;  /* [stats entries * CNT_FIELDS] */
} worker;

struct sg_snn_sim {
    const sg_snn_model *m;
    sg_snn_sim_options opt;
    int Bcap, Tcap, threads;
    sg_zip_attention_params *attn_prm; /* [layers] */
    float *emb, *emb_ln, *emb_mean, *emb_rstd;
    int32_t *pos_ids, *tokens, *order;
    float *logits, *step_logits;
    int *settle;
    uint8_t *settled;
    sg_snn_output out;
    worker *w;
    sg_snn_stats stats;
};

void sg_snn_sim_options_default(sg_snn_sim_options *o) {
    o->max_steps = SG_SNN_DEFAULT_MAX_STEPS;
    o->dense_fraction = 0.9f;
    o->threads = 0;
    o->prune_last_layer = 1;
}

static int32_t *alloc_ev(size_t rows, size_t width) { return malloc(sizeof(int32_t) * (rows * width + rows + 1)); }
static int32_t *alloc_train(size_t rows, size_t width) {
    return malloc(sizeof(int32_t) * SG_SNN_WINDOW * (rows * width + rows + 1));
}

static void worker_free(worker *w, int layers) {
    for (int l = 0; l < layers; l++) {
        if (w->qkv) sg_snn_pop_free(&w->qkv[l]);
        if (w->ao) sg_snn_pop_free(&w->ao[l]);
        if (w->h1) sg_snn_pop_free(&w->h1[l]);
        if (w->f) sg_snn_pop_free(&w->f[l]);
        if (w->o2) sg_snn_pop_free(&w->o2[l]);
        if (w->out) sg_snn_pop_free(&w->out[l]);
        if (w->att) sg_zip_attention_free(&w->att[l]);
    }
    free(w->qkv);
    free(w->ao);
    free(w->h1);
    free(w->f);
    free(w->o2);
    free(w->out);
    free(w->att);
    sg_snn_pop_free(&w->cls);
    free(w->ev_prob);
    for (int i = 0; i < TR_COUNT; i++) free(w->train[i]);
    free(w->shadow);
    free(w->pend_step);
    free(w->scratch.xd);
    free(w->scratch.yd);
    free(w->tmp);
    free(w->acc_out);
    free(w->cnt);
    memset(w, 0, sizeof *w);
}

static int worker_init(worker *w, const sg_snn_sim *sim) {
    const sg_snn_model *m = sim->m;
    const int layers = m->cfg.layers, C = m->cfg.hidden, F = m->cfg.ffn, H = m->cfg.heads, L = m->cfg.num_labels;
    const size_t T = (size_t)sim->Tcap;
    memset(w, 0, sizeof *w);
    w->qkv = calloc((size_t)layers, sizeof *w->qkv);
    w->ao = calloc((size_t)layers, sizeof *w->ao);
    w->h1 = calloc((size_t)layers, sizeof *w->h1);
    w->f = calloc((size_t)layers, sizeof *w->f);
    w->o2 = calloc((size_t)layers, sizeof *w->o2);
    w->out = calloc((size_t)layers, sizeof *w->out);
    w->att = calloc((size_t)layers, sizeof *w->att);
    w->ev_prob = alloc_ev((size_t)H * T, T);
    for (int i = 0; i < TR_COUNT; i++)
        w->train[i] = alloc_train(T, i == TR_QKV ? 3 * (size_t)C : i == TR_F ? (size_t)F : (size_t)C);
    w->C = C;
    w->shadow_len = T * (size_t)C;
    w->shadow = malloc(sizeof(int32_t) * (size_t)layers * SH_COUNT * w->shadow_len);
    w->pend_step = malloc(SG_SNN_WINDOW);
    size_t wide = (size_t)(3 * C > F ? 3 * C : F), in_max = (size_t)(C > F ? C : F);
    w->scratch.xd = malloc(sizeof(float) * T * in_max);
    w->scratch.yd = malloc(sizeof(float) * T * wide);
    w->tmp = malloc(sizeof(float) * (size_t)C);
    w->acc_out = malloc(sizeof(float) * (size_t)L);
    w->cnt = calloc((size_t)sim->stats.count * CNT_FIELDS, sizeof(uint64_t));
    for (int i = 0; i < TR_COUNT; i++)
        if (!w->train[i]) return sg_fail("snn simulator: out of memory");
    if (!w->qkv || !w->ao || !w->h1 || !w->f || !w->o2 || !w->out || !w->att || !w->ev_prob || !w->shadow ||
        !w->pend_step || !w->scratch.xd || !w->scratch.yd || !w->tmp || !w->acc_out || !w->cnt)
        return sg_fail("snn simulator: out of memory");
    for (int l = 0; l < layers; l++) {
        const sg_stbif_params *n = m->layer[l].neuron;
        if (sg_snn_pop_init(&w->qkv[l], (int)T, 3 * C, 3, n + Q_QUERY, w->train[TR_QKV]) ||
            sg_zip_attention_init(&w->att[l], (int)T, C, H, &sim->attn_prm[l], w->ev_prob, w->train[TR_CTX]) ||
            sg_snn_pop_init(&w->ao[l], (int)T, C, 1, n + Q_ATTN_OUT, w->train[TR_AO]) ||
            sg_snn_pop_init(&w->h1[l], (int)T, C, 1, n + Q_ATTN_OUT_LN, w->train[TR_H1]) ||
            sg_snn_pop_init(&w->f[l], (int)T, F, 1, n + Q_INTER, w->train[TR_F]) ||
            sg_snn_pop_init(&w->o2[l], (int)T, C, 1, n + Q_FFN_OUT, w->train[TR_O2]) ||
            sg_snn_pop_init(&w->out[l], (int)T, C, 1, n + Q_FFN_OUT_LN, w->train[TR_OUT0 + l % 2]))
            return -1;
    }
    return sg_snn_pop_init(&w->cls, 1, C, 1, &m->cls_neuron, NULL);
}

sg_snn_sim *sg_snn_sim_create(const sg_snn_model *snn, int max_batch, int max_seq, const sg_snn_sim_options *opt) {
    const sg_model_config *cfg = &snn->cfg;
    if (max_batch <= 0 || max_seq <= 0) {
        sg_fail("snn simulator: batch size %d and sequence length %d must be positive", max_batch, max_seq);
        return NULL;
    }
    if (max_seq > cfg->max_positions - cfg->pad_id - 1) {
        sg_fail("snn simulator: sequence length %d exceeds the model's %d positions", max_seq,
                cfg->max_positions - cfg->pad_id - 1);
        return NULL;
    }
    sg_snn_sim *sim = calloc(1, sizeof *sim);
    if (!sim) {
        sg_fail("snn simulator: out of memory");
        return NULL;
    }
    sim->m = snn;
    if (opt) sim->opt = *opt;
    else sg_snn_sim_options_default(&sim->opt);
    if (sim->opt.max_steps < 1) {
        sg_fail("snn simulator: max_steps %d must be at least 1", sim->opt.max_steps);
        free(sim);
        return NULL;
    }
    sim->Bcap = max_batch;
    sim->Tcap = max_seq;
    sim->threads = sim->opt.threads > 0 ? sim->opt.threads : omp_get_max_threads();
    const int layers = cfg->layers, C = cfg->hidden, L = cfg->num_labels;
    const size_t N = (size_t)max_batch * (size_t)max_seq;
    if (sg_snn_stats_init(&sim->stats, cfg)) {
        free(sim);
        return NULL;
    }
    sim->attn_prm = calloc((size_t)layers, sizeof *sim->attn_prm);
    sim->emb = malloc(sizeof(float) * N * C);
    sim->emb_ln = malloc(sizeof(float) * N * C);
    sim->emb_mean = malloc(sizeof(float) * N);
    sim->emb_rstd = malloc(sizeof(float) * N);
    sim->pos_ids = malloc(sizeof(int32_t) * N);
    sim->tokens = malloc(sizeof(int32_t) * (size_t)max_batch);
    sim->order = malloc(sizeof(int32_t) * (size_t)max_batch);
    sim->logits = malloc(sizeof(float) * (size_t)max_batch * L);
    sim->step_logits = malloc(sizeof(float) * (size_t)sim->opt.max_steps * max_batch * L);
    sim->settle = malloc(sizeof(int) * (size_t)max_batch);
    sim->settled = malloc((size_t)max_batch);
    sim->w = calloc((size_t)sim->threads, sizeof *sim->w);
    if (!sim->attn_prm || !sim->emb || !sim->emb_ln || !sim->emb_mean || !sim->emb_rstd || !sim->pos_ids ||
        !sim->tokens || !sim->order || !sim->logits || !sim->step_logits || !sim->settle || !sim->settled || !sim->w) {
        sg_fail("snn simulator: out of memory");
        sg_snn_sim_free(sim);
        return NULL;
    }
    for (int l = 0; l < layers; l++) {
        sg_zip_attention_params *p = &sim->attn_prm[l];
        p->scale = 1.0f / sqrtf((float)(C / cfg->heads)); /* as the ANN: 1/8 for head dim 64 */
        p->qkv = snn->layer[l].neuron + Q_QUERY;
        p->prob = snn->layer[l].neuron[Q_ATTN];
        p->out = snn->layer[l].neuron[Q_AFTER_ATTN];
    }
    for (int t = 0; t < sim->threads; t++)
        if (worker_init(&sim->w[t], sim)) {
            sg_snn_sim_free(sim);
            return NULL;
        }
    return sim;
}

void sg_snn_sim_free(sg_snn_sim *sim) {
    if (!sim) return;
    for (int t = 0; sim->w && t < sim->threads; t++) worker_free(&sim->w[t], sim->m->cfg.layers);
    free(sim->w);
    free(sim->attn_prm);
    free(sim->emb);
    free(sim->emb_ln);
    free(sim->emb_mean);
    free(sim->emb_rstd);
    free(sim->pos_ids);
    free(sim->tokens);
    free(sim->order);
    free(sim->logits);
    free(sim->step_logits);
    free(sim->settle);
    free(sim->settled);
    sg_snn_stats_free(&sim->stats);
    free(sim);
}

const sg_snn_output *sg_snn_sim_output(const sg_snn_sim *sim) { return &sim->out; }
const sg_snn_stats *sg_snn_sim_stats(const sg_snn_sim *sim) { return &sim->stats; }
void sg_snn_sim_clear_stats(sg_snn_sim *sim) { sg_snn_stats_clear(&sim->stats); }

int sg_snn_argmax(const float *z, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (z[i] > z[best]) best = i;
    return best;
}

int sg_snn_predict_at(const sg_snn_output *o, int b, int t) {
    if (t < 1) t = 1;
    if (t > o->max_steps) t = o->max_steps;
    return sg_snn_argmax(o->step_logits + ((size_t)(t - 1) * o->B + (size_t)b) * o->L, o->L);
}

static void count_neuron(worker *w, int entry, uint64_t pos, uint64_t neg) {
    w->cnt[(size_t)entry * CNT_FIELDS + CNT_POS] += pos;
    w->cnt[(size_t)entry * CNT_FIELDS + CNT_NEG] += neg;
}

static void count_synapse(worker *w, int entry, uint64_t sops, uint64_t macs) {
    w->cnt[(size_t)entry * CNT_FIELDS + CNT_SOPS] += sops;
    w->cnt[(size_t)entry * CNT_FIELDS + CNT_MACS] += macs;
}

static sg_snn_input spikes_of(const sg_snn_pop *p, float theta) {
    sg_snn_input in = {p->ev, p->nev, p->width, theta, NULL};
    return in;
}

/* ---- one sample, layer-major ---------------------------------------------------------------- */

/* Nothing flows backwards between operators (operator o at step t needs its inputs at step t and
 * its own state), so a window of steps runs operator by operator: each one for every step of the
 * window, its output events kept per step (a train), before the next. An operator's weights and
 * state then serve SG_SNN_WINDOW steps in a row instead of one step of the whole network. Every
 * kernel call is the time-major one with the same inputs, so all results are bit-identical. */
static void at_slot(sg_snn_pop *p, int32_t *train, int k) {
    const size_t n = (size_t)p->rows * (size_t)p->width;
    p->ev = train + (size_t)k * (n + (size_t)p->rows + 1);
    p->nev = p->ev + n;
}

/* Point every population that layer l's operators read or write at step slot k. */
static void layer_at_slot(worker *w, int l, int k) {
    at_slot(&w->qkv[l], w->train[TR_QKV], k);
    at_slot(&w->att[l].out, w->train[TR_CTX], k);
    at_slot(&w->ao[l], w->train[TR_AO], k);
    at_slot(&w->h1[l], w->train[TR_H1], k);
    at_slot(&w->f[l], w->train[TR_F], k);
    at_slot(&w->o2[l], w->train[TR_O2], k);
    at_slot(&w->out[l], w->train[TR_OUT0 + l % 2], k);
    if (l > 0) at_slot(&w->out[l - 1], w->train[TR_OUT0 + (l - 1) % 2], k);
}

/* Spike counts of a population as its consumer must see them at the current slot: the
 * producer's own counts are already at the window's end, so the consumer keeps a copy and adds
 * each step's events (the same integers the producer added). */
static int32_t *shadow(const worker *w, int which, int l) {
    return w->shadow + ((size_t)l * SH_COUNT + (size_t)which) * w->shadow_len;
}

static void shadow_add(int32_t *s, const sg_snn_pop *p, int rows) {
    const int W = p->width;
    for (int r = 0; r < rows; r++) {
        const int32_t *ev = p->ev + (size_t)r * W;
        int32_t *sr = s + (size_t)r * W;
        for (int k = 0; k < p->nev[r]; k++) sr[sg_event_col(ev[k])] += sg_event_sign(ev[k]);
    }
}

/* One step of one operator of layer l; returns 1 if a neuron is left pending. */
static int layer_op_step(const sg_snn_sim *sim, worker *w, int l, int op, int t, int rows, const int32_t *mask,
                         const float *emb_ln) {
    const sg_snn_model *m = sim->m;
    const sg_model_config *cfg = &m->cfg;
    const sg_snn_layer *ly = &m->layer[l];
    const sg_stbif_params *n = ly->neuron;
    const int layers = cfg->layers, first = t == 1, bias_on = t <= m->unfold_level;
    const int qr = l + 1 == layers && sim->opt.prune_last_layer ? 1 : rows;
    const float df = sim->opt.dense_fraction;
    int pending = 0;
    sg_snn_counts c;
    sg_snn_input in = {0};
    memset(&c, 0, sizeof c);
    switch (op) {
    case OP_QKV: /* query | key | value: the embeddings (real values, step 1) or the previous layer's spikes */
        if (l == 0) {
            if (first) in.dense = emb_ln;
        } else {
            in = spikes_of(&w->out[l - 1], m->layer[l - 1].neuron[Q_FFN_OUT_LN].theta);
        }
        pending = sg_snn_linear_fire(&ly->qkv, &in, bias_on, &w->qkv[l], rows, df, &w->scratch, &c);
        for (int p = 0; p < 3; p++) {
            count_synapse(w, sg_snn_entry_synapse(l, SG_SYN_QUERY + p), c.sops / 3, c.macs / 3);
            count_neuron(w, sg_snn_entry_neuron(l, Q_QUERY + p), c.pos[p], c.neg[p]);
        }
        break;
    case OP_ATT: { /* attention: scores, softmax, attn_quan, context, after_attn_quan */
        sg_zip_attention_counts ac;
        memset(&ac, 0, sizeof ac);
        pending = sg_zip_attention_step(&w->att[l], &sim->attn_prm[l], &w->qkv[l], mask, rows, qr, first, &ac);
        count_synapse(w, sg_snn_entry_synapse(l, SG_SYN_SCORES), ac.score_sops, 0);
        count_synapse(w, sg_snn_entry_synapse(l, SG_SYN_CONTEXT), ac.context_sops, 0);
        count_neuron(w, sg_snn_entry_neuron(l, Q_ATTN), ac.prob_pos, ac.prob_neg);
        count_neuron(w, sg_snn_entry_neuron(l, Q_AFTER_ATTN), ac.out_pos, ac.out_neg);
        break;
    }
    case OP_AO: /* attention.output: dense -> dense_quan */
        in = spikes_of(&w->att[l].out, n[Q_AFTER_ATTN].theta);
        pending = sg_snn_linear_fire(&ly->attn_out, &in, bias_on, &w->ao[l], qr, df, &w->scratch, &c);
        count_synapse(w, sg_snn_entry_synapse(l, SG_SYN_ATTN_OUT), c.sops, c.macs);
        count_neuron(w, sg_snn_entry_neuron(l, Q_ATTN_OUT), c.pos[0], c.neg[0]);
        break;
    case OP_H1: { /* LN-zip(. + input) -> dense_quan_after_ln */
        int32_t *a_s = shadow(w, SH_AO, l);
        shadow_add(a_s, &w->ao[l], qr);
        if (l == 0) {
            pending = sg_snn_layernorm_fire(&w->h1[l], qr, first, a_s, w->ao[l].nev, n[Q_ATTN_OUT].theta, NULL, NULL,
                                            0.0f, emb_ln, ly->ln1_w, ly->ln1_b, cfg->ln_eps, w->tmp, &c);
        } else {
            int32_t *r_s = shadow(w, SH_OUT, l - 1);
            shadow_add(r_s, &w->out[l - 1], rows);
            pending = sg_snn_layernorm_fire(&w->h1[l], qr, first, a_s, w->ao[l].nev, n[Q_ATTN_OUT].theta, r_s,
                                            w->out[l - 1].nev, m->layer[l - 1].neuron[Q_FFN_OUT_LN].theta, NULL,
                                            ly->ln1_w, ly->ln1_b, cfg->ln_eps, w->tmp, &c);
        }
        count_neuron(w, sg_snn_entry_neuron(l, Q_ATTN_OUT_LN), c.pos[0], c.neg[0]);
        break;
    }
    case OP_F: /* intermediate: dense -> dense_quan (unsigned) -> ReLU = identity */
        in = spikes_of(&w->h1[l], n[Q_ATTN_OUT_LN].theta);
        pending = sg_snn_linear_fire(&ly->inter, &in, bias_on, &w->f[l], qr, df, &w->scratch, &c);
        count_synapse(w, sg_snn_entry_synapse(l, SG_SYN_INTER), c.sops, c.macs);
        count_neuron(w, sg_snn_entry_neuron(l, Q_INTER), c.pos[0], c.neg[0]);
        break;
    case OP_O2: /* output: dense -> dense_quan */
        in = spikes_of(&w->f[l], n[Q_INTER].theta);
        pending = sg_snn_linear_fire(&ly->ffn_out, &in, bias_on, &w->o2[l], qr, df, &w->scratch, &c);
        count_synapse(w, sg_snn_entry_synapse(l, SG_SYN_FFN_OUT), c.sops, c.macs);
        count_neuron(w, sg_snn_entry_neuron(l, Q_FFN_OUT), c.pos[0], c.neg[0]);
        break;
    default: { /* OP_OUT: LN-zip(. + h1) -> dense_quan_after_ln */
        int32_t *a_s = shadow(w, SH_O2, l), *r_s = shadow(w, SH_H1, l);
        shadow_add(a_s, &w->o2[l], qr);
        shadow_add(r_s, &w->h1[l], qr);
        pending = sg_snn_layernorm_fire(&w->out[l], qr, first, a_s, w->o2[l].nev, n[Q_FFN_OUT].theta, r_s,
                                        w->h1[l].nev, n[Q_ATTN_OUT_LN].theta, NULL, ly->ln2_w, ly->ln2_b, cfg->ln_eps,
                                        w->tmp, &c);
        count_neuron(w, sg_snn_entry_neuron(l, Q_FFN_OUT_LN), c.pos[0], c.neg[0]);
        break;
    }
    }
    return pending;
}

/* One step of the classifier on <s> (the last layer's output at the current slot), adding to logits. */
static int classifier_step(const sg_snn_sim *sim, worker *w, int t, float *logits) {
    const sg_snn_model *m = sim->m;
    const int layers = m->cfg.layers, L = m->cfg.num_labels, bias_on = t <= m->unfold_level;
    /* classifier on <s>: dense -> dense_quan (unsigned) -> tanh-zip -> out_proj */
    sg_snn_input in = spikes_of(&w->out[layers - 1], m->layer[layers - 1].neuron[Q_FFN_OUT_LN].theta);
    sg_snn_counts c;
    memset(&c, 0, sizeof c);
    int pending = sg_snn_linear_fire(&m->cls_dense, &in, bias_on, &w->cls, 1, 2.0f, &w->scratch, &c);
    count_synapse(w, sg_snn_entry_classifier(layers, SG_SNN_CLS_DENSE), c.sops, c.macs);
    count_neuron(w, sg_snn_entry_classifier(layers, SG_SNN_CLS_NEURON), c.pos[0], c.neg[0]);
    /* tanh by the difference rule: only the spiking neurons' tanh moves; tanh(n·θ) as the ANN */
    float *acc = w->acc_out;
    memset(acc, 0, sizeof(float) * (size_t)L);
    const float theta = m->cls_neuron.theta;
    const float *wt = m->cls_out.wt;
    const size_t ld = (size_t)sg_snn_linear_ld(&m->cls_out);
    for (int k = 0; k < w->cls.nev[0]; k++) {
        const int32_t e = w->cls.ev[k];
        const int j = sg_event_col(e);
        const int32_t now = w->cls.s[j], before = now - sg_event_sign(e);
        const float dt = tanhf((float)now * theta) - tanhf((float)before * theta);
        for (int o = 0; o < L; o++) acc[o] += dt * wt[(size_t)j * ld + o];
    }
    count_synapse(w, sg_snn_entry_classifier(layers, SG_SNN_CLS_OUT), 0, (uint64_t)w->cls.nev[0] * (uint64_t)L);
    for (int o = 0; o < L; o++) logits[o] += bias_on ? acc[o] + m->cls_out.bias_step[o] : acc[o];
    return pending;
}

static void reset_sample(worker *w, int layers, int rows, int last_rows) {
    for (int l = 0; l < layers; l++) {
        const int qr = l + 1 == layers ? last_rows : rows;
        layer_at_slot(w, l, 0);
        sg_snn_pop_reset(&w->qkv[l], rows);
        sg_zip_attention_reset(&w->att[l], rows);
        sg_snn_pop_reset(&w->ao[l], qr);
        sg_snn_pop_reset(&w->h1[l], qr);
        sg_snn_pop_reset(&w->f[l], qr);
        sg_snn_pop_reset(&w->o2[l], qr);
        sg_snn_pop_reset(&w->out[l], qr);
        for (int sh = 0; sh < SH_COUNT; sh++) memset(shadow(w, sh, l), 0, sizeof(int32_t) * (size_t)rows * w->C);
    }
    sg_snn_pop_reset(&w->cls, 1);
}

static void run_sample(sg_snn_sim *sim, worker *w, const sg_batch *b, int bi) {
    const sg_snn_model *m = sim->m;
    const int layers = m->cfg.layers, L = m->cfg.num_labels, C = m->cfg.hidden, rows = sim->tokens[bi], B = b->B;
    const int last_rows = sim->opt.prune_last_layer ? 1 : rows, max_steps = sim->opt.max_steps;
    const int32_t *mask = b->mask + (size_t)bi * b->T;
    const float *emb_ln = sim->emb_ln + (size_t)bi * b->T * C;
    float *logits = sim->logits + (size_t)bi * L;
    reset_sample(w, layers, rows, last_rows);
    memset(logits, 0, sizeof(float) * (size_t)L);
    int settled = 0, steps = max_steps;
    for (int t0 = 1; t0 <= max_steps && !settled; t0 += SG_SNN_WINDOW) {
        const int n = max_steps - t0 + 1 < SG_SNN_WINDOW ? max_steps - t0 + 1 : SG_SNN_WINDOW;
        memset(w->pend_step, 0, (size_t)n);
        for (int l = 0; l < layers; l++)
            for (int op = 0; op < OPS_PER_LAYER; op++)
                for (int k = 0; k < n; k++) {
                    layer_at_slot(w, l, k);
                    w->pend_step[k] |= (uint8_t)layer_op_step(sim, w, l, op, t0 + k, rows, mask, emb_ln);
                }
        for (int k = 0; k < n; k++) {
            at_slot(&w->out[layers - 1], w->train[TR_OUT0 + (layers - 1) % 2], k);
            w->pend_step[k] |= (uint8_t)classifier_step(sim, w, t0 + k, logits);
            memcpy(sim->step_logits + ((size_t)(t0 + k - 1) * B + bi) * L, logits, sizeof(float) * (size_t)L);
        }
        /* the time-major settle step: the first at which no operator is pending (past the bias
         * unfolding); from there on nothing fires, so the window's later steps added nothing */
        for (int k = 0; k < n && !settled; k++)
            if (!w->pend_step[k] && t0 + k >= m->unfold_level) {
                settled = 1;
                steps = t0 + k;
            }
    }
    memcpy(logits, sim->step_logits + ((size_t)(steps - 1) * B + bi) * L, sizeof(float) * (size_t)L);
    for (int s = steps; s < max_steps; s++) /* quiet from here on */
        memcpy(sim->step_logits + ((size_t)s * B + bi) * L, logits, sizeof(float) * (size_t)L);
    sim->settle[bi] = steps;
    sim->settled[bi] = (uint8_t)settled;
}

/* Rows simulated per sample: up to the last real token (at least <s>). */
static int check_batch(sg_snn_sim *sim, const sg_batch *b) {
    const sg_model_config *cfg = &sim->m->cfg;
    if (b->B <= 0 || b->T <= 0 || b->B > sim->Bcap || b->T > sim->Tcap)
        return sg_fail("snn simulate: batch %d x %d outside the simulator's capacity %d x %d", b->B, b->T, sim->Bcap,
                       sim->Tcap);
    if (!b->ids || !b->mask) return sg_fail("snn simulate: the batch needs ids and an attention mask");
    for (int i = 0; i < b->B; i++) {
        int last = -1;
        for (int j = 0; j < b->T; j++) {
            int32_t id = b->ids[(size_t)i * b->T + j];
            if (id < 0 || id >= cfg->vocab_size)
                return sg_fail("snn simulate: batch row %d, position %d: token id %d outside the vocabulary (%d)", i, j,
                               id, cfg->vocab_size);
            if (b->mask[(size_t)i * b->T + j]) last = j;
        }
        if (last < 0) return sg_fail("snn simulate: batch row %d has no real token (attention mask all 0)", i);
        sim->tokens[i] = last + 1;
    }
    return 0;
}

int sg_snn_simulate(sg_snn_sim *sim, const sg_batch *b) {
    if (check_batch(sim, b)) return -1;
    const sg_snn_model *m = sim->m;
    const sg_model_config *cfg = &m->cfg;
    const int B = b->B, T = b->T, C = cfg->hidden, L = cfg->num_labels;
    const int N = B * T;

    /* the embeddings and their LayerNorm, computed as the ANN does; the LN-zip emits them at step 1 */
    sg_position_ids(sim->pos_ids, b->ids, B, T, cfg->pad_id);
    sg_zip_embedding_step(sim->emb, 1, b->ids, sim->pos_ids, m->word, m->pos, m->type, N, C);
    sg_layernorm_forward(sim->emb_ln, sim->emb_mean, sim->emb_rstd, sim->emb, m->emb_ln_w, m->emb_ln_b, N, C,
                         cfg->ln_eps);

    /* longest samples first, so that no thread is left with a long one at the end */
    for (int i = 0; i < B; i++) {
        int j = i;
        for (; j > 0 && sim->tokens[sim->order[j - 1]] < sim->tokens[i]; j--) sim->order[j] = sim->order[j - 1];
        sim->order[j] = i;
    }
#pragma omp parallel for num_threads(sim->threads) schedule(dynamic, 1)
    for (int k = 0; k < B; k++) run_sample(sim, &sim->w[omp_get_thread_num()], b, sim->order[k]);

    for (int t = 0; t < sim->threads; t++) {
        uint64_t *cnt = sim->w[t].cnt;
        for (int e = 0; e < sim->stats.count; e++) {
            sg_snn_stat *s = &sim->stats.entry[e];
            s->spikes_pos += cnt[(size_t)e * CNT_FIELDS + CNT_POS];
            s->spikes_neg += cnt[(size_t)e * CNT_FIELDS + CNT_NEG];
            s->sops += cnt[(size_t)e * CNT_FIELDS + CNT_SOPS];
            s->macs += cnt[(size_t)e * CNT_FIELDS + CNT_MACS];
        }
        memset(cnt, 0, sizeof(uint64_t) * (size_t)sim->stats.count * CNT_FIELDS);
    }
    int steps = 0;
    for (int i = 0; i < B; i++) {
        sg_snn_stats_add_sample(&sim->stats, cfg, sim->tokens[i], sim->opt.prune_last_layer ? 1 : sim->tokens[i],
                                sim->settle[i], sim->settled[i]);
        if (sim->settle[i] > steps) steps = sim->settle[i];
    }
    sim->out.B = B;
    sim->out.L = L;
    sim->out.max_steps = sim->opt.max_steps;
    sim->out.steps = steps;
    sim->out.logits = sim->logits;
    sim->out.settle_step = sim->settle;
    sim->out.settled = sim->settled;
    sim->out.step_logits = sim->step_logits;
    return 0;
}
