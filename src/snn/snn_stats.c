#include "snn/snn_stats.h"

#include "core/error.h"
#include "io/run_outputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const SYNAPSE_NAMES[SG_SYN_PER_LAYER] = {
    "attention.self.query", "attention.self.key", "attention.self.value", "attention.self.scores",
    "attention.self.context", "attention.output.dense", "intermediate.dense", "output.dense",
};

int sg_snn_stats_init(sg_snn_stats *s, const sg_model_config *cfg) {
    memset(s, 0, sizeof *s);
    s->layers = cfg->layers;
    s->count = cfg->layers * SG_SNN_ENTRIES_PER_LAYER + SG_SNN_CLS_ENTRIES;
    s->entry = calloc((size_t)s->count, sizeof *s->entry);
    if (!s->entry) return sg_fail("snn stats: out of memory");
    for (int l = 0; l < cfg->layers; l++) {
        for (int q = 0; q < Q_PER_LAYER; q++) {
            sg_snn_stat *e = &s->entry[sg_snn_entry_neuron(l, q)];
            snprintf(e->name, sizeof e->name, "roberta.encoder.layer.%d.%s", l, sg_quantizer_name(q));
            e->kind = SG_SNN_NEURONS;
            e->layer = l;
        }
        for (int k = 0; k < SG_SYN_PER_LAYER; k++) {
            sg_snn_stat *e = &s->entry[sg_snn_entry_synapse(l, k)];
            snprintf(e->name, sizeof e->name, "roberta.encoder.layer.%d.%s", l, SYNAPSE_NAMES[k]);
            e->kind = SG_SNN_SYNAPSES;
            e->layer = l;
        }
    }
    static const char *const cls[SG_SNN_CLS_ENTRIES] = {"classifier.dense_quan", "classifier.dense",
                                                        "classifier.out_proj"};
    for (int k = 0; k < SG_SNN_CLS_ENTRIES; k++) {
        sg_snn_stat *e = &s->entry[sg_snn_entry_classifier(cfg->layers, k)];
        snprintf(e->name, sizeof e->name, "%s", cls[k]);
        e->kind = k == SG_SNN_CLS_NEURON ? SG_SNN_NEURONS : SG_SNN_SYNAPSES;
        e->layer = -1;
    }
    return 0;
}

void sg_snn_stats_free(sg_snn_stats *s) {
    free(s->entry);
    memset(s, 0, sizeof *s);
}

void sg_snn_stats_clear(sg_snn_stats *s) {
    for (int i = 0; i < s->count; i++) {
        sg_snn_stat *e = &s->entry[i];
        e->neurons = e->neuron_steps = e->spikes_pos = e->spikes_neg = e->sops = e->macs = e->ann_macs = 0;
    }
    s->samples = s->settled = s->steps_sum = 0;
    s->steps_max = 0;
}

#define WORDS_PER_ENTRY 7

size_t sg_snn_stats_words(const sg_snn_stats *s) { return (size_t)s->count * WORDS_PER_ENTRY + 3; }

void sg_snn_stats_pack(const sg_snn_stats *s, uint64_t *w) {
    for (int i = 0; i < s->count; i++, w += WORDS_PER_ENTRY) {
        const sg_snn_stat *e = &s->entry[i];
        const uint64_t v[WORDS_PER_ENTRY] = {e->neurons, e->neuron_steps, e->spikes_pos, e->spikes_neg, e->sops, e->macs, e->ann_macs};
        memcpy(w, v, sizeof v);
    }
    w[0] = s->samples;
    w[1] = s->settled;
    w[2] = s->steps_sum;
}

void sg_snn_stats_unpack(sg_snn_stats *s, const uint64_t *w) {
    for (int i = 0; i < s->count; i++, w += WORDS_PER_ENTRY) {
        sg_snn_stat *e = &s->entry[i];
        e->neurons = w[0];
        e->neuron_steps = w[1];
        e->spikes_pos = w[2];
        e->spikes_neg = w[3];
        e->sops = w[4];
        e->macs = w[5];
        e->ann_macs = w[6];
    }
    s->samples = w[0];
    s->settled = w[1];
    s->steps_sum = w[2];
}

static void add_neurons(sg_snn_stat *e, uint64_t n, int steps) {
    e->neurons += n;
    e->neuron_steps += n * (uint64_t)steps;
}

void sg_snn_stats_add_sample(sg_snn_stats *s, const sg_model_config *cfg, int tokens, int last_rows, int steps,
                             int settled) {
    const uint64_t C = (uint64_t)cfg->hidden, F = (uint64_t)cfg->ffn, H = (uint64_t)cfg->heads,
                   L = (uint64_t)cfg->num_labels, N = (uint64_t)tokens;
    for (int l = 0; l < cfg->layers; l++) {
        const uint64_t R = l + 1 == cfg->layers ? (uint64_t)last_rows : N; /* query-side rows */
        for (int q = 0; q < Q_PER_LAYER; q++) {
            uint64_t n = q <= Q_VALUE ? N * C : q == Q_ATTN ? H * R * N : q == Q_INTER ? R * F : R * C;
            add_neurons(&s->entry[sg_snn_entry_neuron(l, q)], n, steps);
        }
        uint64_t ann[SG_SYN_PER_LAYER] = {N * C * C, N * C * C, N * C * C, N * N * C, N * N * C,
                                          N * C * C, N * C * F, N * F * C};
        for (int k = 0; k < SG_SYN_PER_LAYER; k++) s->entry[sg_snn_entry_synapse(l, k)].ann_macs += ann[k];
    }
    add_neurons(&s->entry[sg_snn_entry_classifier(cfg->layers, SG_SNN_CLS_NEURON)], C, steps);
    s->entry[sg_snn_entry_classifier(cfg->layers, SG_SNN_CLS_DENSE)].ann_macs += C * C;
    s->entry[sg_snn_entry_classifier(cfg->layers, SG_SNN_CLS_OUT)].ann_macs += C * L;
    s->samples++;
    s->settled += settled ? 1 : 0;
    s->steps_sum += (uint64_t)steps;
    if (steps > s->steps_max) s->steps_max = steps;
}

double sg_snn_firing_rate(const sg_snn_stat *e) {
    return e->neuron_steps ? (double)(e->spikes_pos + e->spikes_neg) / (double)e->neuron_steps : 0.0;
}

double sg_snn_energy_pj(const sg_snn_stat *e) { return SG_SNN_E_MAC_PJ * (double)e->macs + SG_SNN_E_AC_PJ * (double)e->sops; }

double sg_snn_ann_energy_pj(const sg_snn_stat *e) { return SG_SNN_E_MAC_PJ * (double)e->ann_macs; }

static void accumulate(sg_snn_stat *t, const sg_snn_stat *e) {
    t->neurons += e->neurons;
    t->neuron_steps += e->neuron_steps;
    t->spikes_pos += e->spikes_pos;
    t->spikes_neg += e->spikes_neg;
    t->sops += e->sops;
    t->macs += e->macs;
    t->ann_macs += e->ann_macs;
}

sg_snn_stat sg_snn_stats_total(const sg_snn_stats *s) {
    sg_snn_stat t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "total");
    t.layer = -2;
    for (int i = 0; i < s->count; i++) accumulate(&t, &s->entry[i]);
    return t;
}

sg_snn_stat sg_snn_stats_layer(const sg_snn_stats *s, int layer) {
    sg_snn_stat t;
    memset(&t, 0, sizeof t);
    if (layer < 0) snprintf(t.name, sizeof t.name, "classifier");
    else snprintf(t.name, sizeof t.name, "roberta.encoder.layer.%d", layer);
    t.layer = layer;
    for (int i = 0; i < s->count; i++)
        if (s->entry[i].layer == layer) accumulate(&t, &s->entry[i]);
    return t;
}

static cJSON *stat_json(const sg_snn_stat *e, int with_kind) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = cJSON_AddStringToObject(o, SG_OUT_NAME, e->name) != NULL;
    if (with_kind) ok &= cJSON_AddStringToObject(o, SG_OUT_KIND, e->kind == SG_SNN_NEURONS ? SG_OUT_KIND_NEURONS : SG_OUT_KIND_SYNAPSES) != NULL;
    ok &= cJSON_AddNumberToObject(o, SG_OUT_NEURONS, (double)e->neurons) != NULL;
    ok &= cJSON_AddNumberToObject(o, SG_OUT_SPIKES, (double)(e->spikes_pos + e->spikes_neg)) != NULL;
    ok &= cJSON_AddNumberToObject(o, SG_OUT_SPIKES_POS, (double)e->spikes_pos) != NULL;
    ok &= cJSON_AddNumberToObject(o, SG_OUT_SPIKES_NEG, (double)e->spikes_neg) != NULL;
    ok &= cJSON_AddNumberToObject(o, SG_OUT_FIRING_RATE, sg_snn_firing_rate(e)) != NULL;
    ok &= cJSON_AddNumberToObject(o, SG_OUT_SOPS, (double)e->sops) != NULL;
    ok &= cJSON_AddNumberToObject(o, SG_OUT_MACS, (double)e->macs) != NULL;
    ok &= cJSON_AddNumberToObject(o, SG_OUT_ANN_MACS, (double)e->ann_macs) != NULL;
    ok &= cJSON_AddNumberToObject(o, SG_OUT_ENERGY_MJ, sg_snn_energy_pj(e) * 1e-9) != NULL;
    ok &= cJSON_AddNumberToObject(o, SG_OUT_ANN_ENERGY_MJ, sg_snn_ann_energy_pj(e) * 1e-9) != NULL;
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Attach item to an object (key) or array (key NULL); on failure the item is freed. */
static int add_owned(cJSON *parent, const char *key, cJSON *item) {
    if (!item) return 0;
    if (key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item)) return 1;
    cJSON_Delete(item);
    return 0;
}

cJSON *sg_snn_stats_to_json(const sg_snn_stats *s) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    int ok = cJSON_AddNumberToObject(root, SG_OUT_SAMPLES, (double)s->samples) != NULL;
    ok &= cJSON_AddNumberToObject(root, SG_OUT_SETTLED, (double)s->settled) != NULL;
    ok &= cJSON_AddNumberToObject(root, SG_OUT_MEAN_SETTLE, s->samples ? (double)s->steps_sum / (double)s->samples : 0.0) != NULL;
    ok &= cJSON_AddNumberToObject(root, SG_OUT_MAX_SETTLE, s->steps_max) != NULL;
    ok &= cJSON_AddNumberToObject(root, SG_OUT_E_MAC_PJ, SG_SNN_E_MAC_PJ) != NULL;
    ok &= cJSON_AddNumberToObject(root, SG_OUT_E_AC_PJ, SG_SNN_E_AC_PJ) != NULL;
    sg_snn_stat t = sg_snn_stats_total(s);
    ok &= add_owned(root, SG_OUT_TOTAL, stat_json(&t, 0));
    cJSON *layers = cJSON_AddArrayToObject(root, SG_OUT_LAYERS), *entries = cJSON_AddArrayToObject(root, SG_OUT_ENTRIES);
    ok &= layers != NULL && entries != NULL;
    for (int l = 0; ok && l <= s->layers; l++) {
        sg_snn_stat g = sg_snn_stats_layer(s, l == s->layers ? -1 : l);
        ok &= add_owned(layers, NULL, stat_json(&g, 0));
    }
    for (int i = 0; ok && i < s->count; i++) ok &= add_owned(entries, NULL, stat_json(&s->entry[i], 1));
    if (!ok) {
        cJSON_Delete(root);
        sg_fail("snn stats: out of memory");
        return NULL;
    }
    return root;
}
