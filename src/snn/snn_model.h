/* The spiking network converted from a quantized RoBERTa (spec §3-§4): every LSQ quantizer
 * becomes a population of ST-BIF neurons (θ = s, S_max = Qp, S_min = Qn, copied at conversion),
 * every linear an unfold_bias linear, LayerNorm / softmax / tanh difference-rule (zip_tf)
 * operators, the embedding emits at step 1, ReLU becomes the identity.
 *
 * Only an exactly convertible model is accepted: every module quantized (attention.self,
 * attention.output, intermediate, output, classifier: the default configs/transform_cfg.yaml),
 * no level ≥ 256 (that means "not quantized"), ReLU activation. Anything else is refused with
 * the reason, naming the module.
 *
 * The network owns a copy of the parameters it needs, linear weights stored transposed
 * ([in, out]: one spike adds one contiguous row), so the source model may be freed. */
#ifndef SG_SNN_MODEL_H
#define SG_SNN_MODEL_H

#include "model/roberta.h"
#include "snn/stbif.h"
#include "snn/zip_ops.h"

typedef struct {
    sg_snn_linear qkv; /* query | key | value fused: [C, 3C] */
    sg_snn_linear attn_out, inter, ffn_out;
    const float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
    sg_stbif_params neuron[Q_PER_LAYER]; /* in quantizer order: Q_QUERY ... Q_FFN_OUT_LN */
} sg_snn_layer;

typedef struct {
    sg_model_config cfg;
    int unfold_level;   /* bias unfolding steps of every linear */
    int *module_levels; /* [layers * QM_PER_LAYER + 1] quantization levels, as the source model */
    sg_snn_layer *layer;
    const float *word, *pos, *type, *emb_ln_w, *emb_ln_b;
    sg_snn_linear cls_dense, cls_out;
    sg_stbif_params cls_neuron;
    float *block; /* owns every array above */
    size_t block_floats;
} sg_snn_model;

/* Build the spiking network of the quantized model m with bias unfolding over unfold_level steps
 * (the transform config's unfold_bias level; sg_module_levels_from_file reports it). 0 or -1. */
int sg_snn_convert(sg_snn_model *snn, const sg_model *m, int unfold_level);
void sg_snn_model_free(sg_snn_model *snn);

/* Name of a neuron population: its quantizer's HF module path, e.g.
 * "roberta.encoder.layer.3.attention.self.query_quan" (layer == layers: the classifier's). */
void sg_snn_neuron_name(const sg_snn_model *snn, int layer, int q, char *buf, size_t n);

/* Save to DIR (created): config.json (the model's, plus a "spikeglue_snn" object: neuron type,
 * unfold level, per-module levels) and model.safetensors with every weight under its HF name and,
 * per neuron population, `<module>.<quantizer>.threshold`, `.s_max`, `.s_min` as scalars. */
int sg_snn_save(const sg_snn_model *snn, const char *dir);

#endif
