/* The masking of HF's DataCollatorForLanguageModeling (torch_mask_tokens), drawn afresh for every
 * batch: each token that is not special is selected with probability mlm_probability; its label
 * is the original id (-100 everywhere else); a selected token becomes <mask> (80%), a random id
 * (10% — uniform over the tokenizer's ids, as HF's randint(len(tokenizer))) or stays (10%).
 * Counter-based: the draw of element i is a function of (seed, draw, i) only, so a resumed run
 * and a data-parallel one (which masks the global batch before splitting it) mask the same. */
#ifndef SG_MLM_MASK_H
#define SG_MLM_MASK_H

#include "data/token_ids.h"

#include <stddef.h>
#include <stdint.h>

#define SG_MLM_IGNORE (-100) /* HF's ignore_index (also in model/roberta.h) */

typedef struct {
    float probability;       /* --mlm_probability (HF: 0.15) */
    int32_t vocab;           /* random replacements come from [0, vocab) */
    sg_special_ids specials; /* never selected: <s> <pad> </s> <unk> <mask> */
    uint64_t seed;
} sg_mlm_masking;

/* ids [n] -> masked [n] (may be ids) and labels [n]. Returns the number of labelled tokens. */
int sg_mlm_mask(const sg_mlm_masking *mk, uint64_t draw, const int32_t *ids, int32_t *masked, int32_t *labels, size_t n);

#endif
