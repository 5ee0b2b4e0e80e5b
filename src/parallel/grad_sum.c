/* The data-parallel gradient sum of one optimizer step (parallel/grad_sum.h). */
#include "parallel/grad_sum.h"

#include <string.h>

/* The gradient arena's span [*lo, *hi) of parameter indices [first, first + n), to the next
 * tensor's start (alignment padding, whose gradient stays 0, included). */
static void grad_span(const sg_model *m, int first, int n, size_t *lo, size_t *hi) {
    const sg_param_table *tb = &m->table;
    *lo = first < tb->count ? tb->info[first].offset : tb->total;
    *hi = first + n < tb->count ? tb->info[first + n].offset : tb->total;
}

static void start_span(sg_dp_grad_sum *s, size_t lo, size_t hi) {
    if (hi > lo && sg_dp_sum_start(&s->sum, s->m->grads + lo, hi - lo)) s->failed = 1;
}

/* model grads_ready: the part just finished (the head, then each layer), summed while the
 * backward goes on below it. */
static void part_ready(void *ctx, int part) {
    sg_dp_grad_sum *s = ctx;
    const sg_model_config *c = &s->m->cfg;
    size_t lo, hi;
    if (part == c->layers) grad_span(s->m, sg_param_index_head(c, 0), sg_param_head_count(c), &lo, &hi);
    else grad_span(s->m, sg_param_index_layer(c, part, 0), L_COUNT, &lo, &hi);
    start_span(s, lo, hi);
}

/* model progress: let the sums in flight move (the OR of the touched rows among them). */
static void poke(void *ctx) {
    sg_dp_grad_sum *s = ctx;
    int done;
    if (s->sum.pending) MPI_Testall(s->sum.pending, s->sum.req, &done, MPI_STATUSES_IGNORE);
    if (s->words.any_req != MPI_REQUEST_NULL) MPI_Test(&s->words.any_req, &done, MPI_STATUS_IGNORE);
}

int sg_dp_grad_sum_init(sg_dp_grad_sum *s, const sg_dp_group *g, sg_model *m) {
    memset(s, 0, sizeof *s);
    s->m = m;
    /* the masked-LM decoder is tied to the word embeddings: its gradient fills every row */
    s->sparse_words = m->cfg.head != SG_HEAD_MLM;
    s->progress_pokes = 1;
    const sg_param_info *w = &m->table.info[P_WORD];
    if (sg_dp_sum_init(&s->sum, g) || sg_row_sum_init(&s->words, g, (size_t)w->shape[0], (size_t)w->shape[1])) {
        sg_dp_sum_free(&s->sum);
        return -1;
    }
    return 0;
}

void sg_dp_grad_sum_free(sg_dp_grad_sum *s) {
    sg_dp_sum_free(&s->sum);
    sg_row_sum_free(&s->words);
    memset(s, 0, sizeof *s);
}

void sg_dp_grad_sum_begin(sg_dp_grad_sum *s) { sg_row_sum_clear(&s->words); }

void sg_dp_grad_sum_batch(sg_dp_grad_sum *s, const sg_batch *b, int last) {
    sg_row_sum_touch(&s->words, b->ids, (size_t)b->B * (size_t)b->T);
    if (!last) return;
    if (s->sparse_words) sg_row_sum_share(&s->words); /* its 6 kB travel during the forward and backward */
    s->m->grads_ready = part_ready;
    s->m->grads_ready_ctx = s;
    s->m->progress = s->progress_pokes ? poke : NULL;
    s->m->progress_ctx = s;
}

int sg_dp_grad_sum_finish(sg_dp_grad_sum *s) {
    sg_model *m = s->m;
    const sg_model_config *c = &m->cfg;
    m->grads_ready = NULL;
    m->progress = NULL;
    size_t lo, hi;
    grad_span(m, 0, P_EMB_COUNT, &lo, &hi);
    if (s->sparse_words) {
        if (sg_row_sum_start(&s->words, &s->sum, sg_model_grad(m, P_WORD))) s->failed = 1;
        lo = m->table.info[P_POS].offset; /* the other embeddings, densely */
    }
    start_span(s, lo, hi);
    int steps = sg_param_index_head(c, 0) + sg_param_head_count(c); /* the quantizer steps follow the head */
    grad_span(m, steps, m->table.count - steps, &lo, &hi);
    start_span(s, lo, hi);
    sg_dp_sum_wait(&s->sum);
    if (s->sparse_words) sg_row_sum_finish(&s->words, sg_model_grad(m, P_WORD));
    int rc = s->failed ? -1 : 0;
    s->failed = 0;
    return rc;
}
