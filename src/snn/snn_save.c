/* Saving the spiking network: HF config.json plus a "spikeglue_snn" object, and one
 * model.safetensors with the weights under their HF names (linear weights back in [out, in])
 * and each neuron population's threshold and spike-count bounds as scalars. */
#include "snn/snn_model.h"

#include "core/error.h"
#include "core/fileio.h"
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const MODULE_NAMES[QM_PER_LAYER] = {"attention.self", "attention.output", "intermediate", "output"};

static int write_config(const sg_snn_model *snn, const char *dir) {
    char path[4096];
    if (sg_path_join(path, sizeof path, dir, "config.json") || sg_model_config_save(&snn->cfg, path)) return -1;
    size_t len;
    char *text = sg_read_file(path, 1 << 20, &len);
    if (!text) return -1;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root) return sg_fail("%s: cannot re-read the written config", path);
    cJSON *o = cJSON_AddObjectToObject(root, "spikeglue_snn");
    cJSON *levels = o ? cJSON_AddObjectToObject(o, "levels") : NULL;
    int ok = levels && cJSON_AddStringToObject(o, "neuron_type", "ST-BIF") &&
             cJSON_AddNumberToObject(o, "unfold_level", snn->unfold_level) &&
             cJSON_AddStringToObject(o, "threshold_tensors", "<module>.<quantizer>.{threshold,s_max,s_min}");
    for (int l = 0; ok && l < snn->cfg.layers; l++)
        for (int k = 0; ok && k < QM_PER_LAYER; k++) {
            char name[SG_PARAM_NAME_MAX];
            snprintf(name, sizeof name, "roberta.encoder.layer.%d.%s", l, MODULE_NAMES[k]);
            ok = cJSON_AddNumberToObject(levels, name, snn->module_levels[l * QM_PER_LAYER + k]) != NULL;
        }
    ok = ok && cJSON_AddNumberToObject(levels, "classifier", snn->module_levels[snn->cfg.layers * QM_PER_LAYER]);
    text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) return sg_fail("%s: out of memory formatting JSON", path);
    int rc = sg_write_file_atomic(path, text, strlen(text));
    free(text);
    return rc;
}

/* The converted tensor of parameter k of layer l (l == -1: embeddings, l == layers: classifier).
 * Linear weights are written back to [out, in] into `tmp`; part selects q/k/v of the fused one. */
static const float *untranspose(const sg_snn_linear *lin, int part, int out_p, float *tmp) {
    for (int o = 0; o < out_p; o++)
        for (int j = 0; j < lin->in; j++) tmp[(size_t)o * lin->in + j] = lin->wt[(size_t)j * sg_snn_linear_ld(lin) + (size_t)part * out_p + o];
    return tmp;
}

static const float *layer_tensor(const sg_snn_model *snn, int l, int k, float *tmp) {
    const sg_snn_layer *ly = &snn->layer[l];
    const int C = snn->cfg.hidden;
    switch (k) {
    case L_QW: case L_KW: case L_VW: return untranspose(&ly->qkv, k - L_QW, C, tmp);
    case L_QB: case L_KB: case L_VB: return ly->qkv.bias + (size_t)(k - L_QB) * C;
    case L_AOW: return untranspose(&ly->attn_out, 0, ly->attn_out.out, tmp);
    case L_AOB: return ly->attn_out.bias;
    case L_LN1W: return ly->ln1_w;
    case L_LN1B: return ly->ln1_b;
    case L_IW: return untranspose(&ly->inter, 0, ly->inter.out, tmp);
    case L_IB: return ly->inter.bias;
    case L_OW: return untranspose(&ly->ffn_out, 0, ly->ffn_out.out, tmp);
    case L_OB: return ly->ffn_out.bias;
    case L_LN2W: return ly->ln2_w;
    default: return ly->ln2_b;
    }
}

int sg_snn_save(const sg_snn_model *snn, const char *dir) {
    const sg_model_config *cfg = &snn->cfg;
    const int layers = cfg->layers;
    if (sg_mkdirs(dir) || write_config(snn, dir)) return -1;
    /* names and shapes as the quantized model's table, whose steps `.s` become the neuron tensors */
    sg_param_table table;
    if (sg_param_table_build(&table, cfg, snn->module_levels)) return -1;
    const int nq = layers * Q_PER_LAYER + 1;
    size_t wfloats = 0;
    for (int i = 0; i < table.count; i++)
        if (table.info[i].ndim == 2 && i >= P_EMB_COUNT) wfloats += table.info[i].numel;
    sg_st_entry *e = calloc((size_t)table.count + 3 * (size_t)nq, sizeof *e);
    char (*names)[SG_PARAM_NAME_MAX + 16] = calloc(3 * (size_t)nq, sizeof *names);
    float *scalars = calloc(3 * (size_t)nq, sizeof(float));
    float *wbuf = malloc(sizeof(float) * (wfloats ? wfloats : 1));
    int rc = -1, n = 0;
    if (!e || !names || !scalars || !wbuf) {
        sg_fail("%s: out of memory", dir);
        goto done;
    }
    size_t woff = 0;
    for (int i = 0; i < table.count; i++) {
        const sg_param_info *p = &table.info[i];
        if (p->quantizer >= 0) continue;
        const float *data;
        if (i < P_EMB_COUNT) {
            const float *emb[P_EMB_COUNT] = {snn->word, snn->pos, snn->type, snn->emb_ln_w, snn->emb_ln_b};
            data = emb[i];
        } else if (i < P_EMB_COUNT + layers * L_COUNT) {
            int l = (i - P_EMB_COUNT) / L_COUNT, k = (i - P_EMB_COUNT) % L_COUNT;
            data = layer_tensor(snn, l, k, wbuf + woff);
        } else {
            int k = i - P_EMB_COUNT - layers * L_COUNT;
            const sg_snn_linear *lin = k <= C_DB ? &snn->cls_dense : &snn->cls_out;
            data = (k == C_DW || k == C_OW) ? untranspose(lin, 0, lin->out, wbuf + woff) : lin->bias;
        }
        if (p->ndim == 2 && i >= P_EMB_COUNT) woff += p->numel;
        e[n].name = p->name;
        e[n].ndim = p->ndim;
        e[n].shape[0] = p->shape[0];
        e[n].shape[1] = p->shape[1];
        e[n].data = data;
        n++;
    }
    static const char *const suffix[3] = {"threshold", "s_max", "s_min"};
    for (int qi = 0; qi < nq; qi++) {
        const int l = qi / Q_PER_LAYER, q = qi % Q_PER_LAYER;
        if (l == layers && q > 0) break;
        const sg_stbif_params *np = l == layers ? &snn->cls_neuron : &snn->layer[l].neuron[q];
        const float v[3] = {np->theta, (float)np->smax, (float)np->smin};
        char base[SG_PARAM_NAME_MAX];
        sg_snn_neuron_name(snn, l, q, base, sizeof base);
        for (int k = 0; k < 3; k++) {
            snprintf(names[3 * qi + k], sizeof names[0], "%s.%s", base, suffix[k]);
            scalars[3 * qi + k] = v[k];
            e[n].name = names[3 * qi + k];
            e[n].ndim = 0;
            e[n].data = &scalars[3 * qi + k];
            n++;
        }
    }
    char path[4096];
    static const char *const meta[] = {"format", "pt", "spikeglue", "snn", NULL};
    rc = sg_path_join(path, sizeof path, dir, "model.safetensors") ? -1 : sg_st_write(path, e, n, meta);
done:
    free(e);
    free(names);
    free(scalars);
    free(wbuf);
    sg_param_table_free(&table);
    return rc;
}
