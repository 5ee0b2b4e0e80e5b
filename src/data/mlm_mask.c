#include "data/mlm_mask.h"

#include "core/rng.h"

static int is_special(const sg_special_ids *s, int32_t id) {
    return id == s->bos || id == s->pad || id == s->eos || id == s->unk || (s->mask >= 0 && id == s->mask);
}

int sg_mlm_mask(const sg_mlm_masking *mk, uint64_t draw, const int32_t *ids, int32_t *masked, int32_t *labels, size_t n) {
    /* four independent streams per draw, as HF's four Bernoulli / randint tensors */
    const uint64_t select = sg_stream_key(mk->seed, draw * 4 + 0), replace = sg_stream_key(mk->seed, draw * 4 + 1),
                   random = sg_stream_key(mk->seed, draw * 4 + 2), word = sg_stream_key(mk->seed, draw * 4 + 3);
    int labelled = 0;
    for (size_t i = 0; i < n; i++) {
        const int32_t id = ids[i];
        if (is_special(&mk->specials, id) || !(sg_uniform_at(select, i) < mk->probability)) {
            labels[i] = SG_MLM_IGNORE;
            masked[i] = id;
            continue;
        }
        labels[i] = id;
        labelled++;
        if (sg_uniform_at(replace, i) < 0.8f) masked[i] = mk->specials.mask;
        else if (sg_uniform_at(random, i) < 0.5f) {
            int32_t r = (int32_t)(sg_uniform_at(word, i) * (float)mk->vocab);
            masked[i] = r < mk->vocab ? r : mk->vocab - 1;
        } else masked[i] = id;
    }
    return labelled;
}
