/* Distributing a model over its group and back: the parameter table of a distributed model keeps
 * every tensor under its HF name and shape, but a linear weight stores (and counts in numel) only
 * the rows this rank owns; gradients and AdamW moments follow the same offsets. */
#include "parallel/tp_internal.h"

#include "core/arena.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static int rows_of(const sg_param_info *p) { return (int)p->shape[0]; }
static int cols_of(const sg_param_info *p) { return (int)p->shape[1]; }

void sg_tp_take_local(const sg_model *m, int idx, const float *full, float *local) {
    const sg_tp_model *t = sg_tp_of(m);
    const sg_param_info *p = &m->table.info[idx];
    const int P = t->g->size, me = t->g->rank, nb = t->layout.nb_features, I = cols_of(p);
    const int local_rows = sg_tp_owned(rows_of(p), nb, me, P);
    for (int j = 0; j < local_rows; j++)
        memcpy(local + (size_t)j * I, full + (size_t)sg_tp_local_to_global(j, nb, me, P) * I, sizeof(float) * (size_t)I);
}

int sg_tp_gather(const sg_model *m, int idx, const float *local, float *full, int to_all) {
    const sg_tp_model *t = sg_tp_of(m);
    const sg_param_info *p = &m->table.info[idx];
    const sg_tp_group *g = t->g;
    const int P = g->size, nb = t->layout.nb_features, O = rows_of(p), I = cols_of(p);
    int *counts = t->counts, *displs = t->displs, at = 0;
    for (int r = 0; r < P; r++) {
        counts[r] = I * sg_tp_owned(O, nb, r, P);
        displs[r] = at;
        at += counts[r];
    }
    const int receives = to_all || g->rank == 0;
    float *packed = receives ? malloc(sizeof(float) * ((size_t)O * I + 1)) : NULL;
    int ok = !receives || packed;
    int all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, g->comm); /* every rank takes part in the gather, or none */
    if (!all_ok) {
        free(packed);
        return sg_fail("%s: out of memory gathering the tensor", p->name);
    }
    if (to_all)
        MPI_Allgatherv(local, counts[g->rank], MPI_FLOAT, packed, counts, displs, MPI_FLOAT, g->comm);
    else
        MPI_Gatherv(local, counts[g->rank], MPI_FLOAT, packed, counts, displs, MPI_FLOAT, 0, g->comm);
    if (receives)
        for (int o = 0; o < O; o++)
            memcpy(full + (size_t)o * I, packed + displs[sg_tp_owner(o, nb, P)] + (size_t)sg_tp_global_to_local(o, nb, P) * I,
                   sizeof(float) * (size_t)I);
    free(packed);
    return 0;
}

double sg_tp_allreduce_sum(const sg_model *m, double x) {
    const sg_tp_model *t = sg_tp_of(m);
    if (!t) return x;
    double sum = 0.0;
    MPI_Allreduce(&x, &sum, 1, MPI_DOUBLE, MPI_SUM, t->g->comm);
    return sum;
}

int sg_tp_agree_status(const sg_model *m, int rc) {
    const sg_tp_model *t = sg_tp_of(m);
    if (!t) return rc;
    int root_rc = rc;
    MPI_Bcast(&root_rc, 1, MPI_INT, 0, t->g->comm);
    if (root_rc != 0 && t->g->rank != 0) return sg_fail("tensor parallel: group rank 0 failed (its error is on its output)");
    return root_rc;
}

int sg_tp_is_writer(const sg_model *m) { return !sg_tp_of(m) || sg_tp_of(m)->g->rank == 0; }
const sg_tp_group *sg_tp_model_group(const sg_model *m) { return sg_tp_of(m) ? sg_tp_of(m)->g : NULL; }
sg_tp_layout sg_tp_model_layout(const sg_model *m) {
    sg_tp_layout l;
    sg_tp_layout_defaults(&l);
    return sg_tp_of(m) ? sg_tp_of(m)->layout : l;
}
sg_tp_stats sg_tp_model_stats(const sg_model *m) {
    sg_tp_stats s;
    memset(&s, 0, sizeof s);
    return sg_tp_of(m) ? sg_tp_of(m)->stats : s;
}
void sg_tp_model_reset_stats(sg_model *m) {
    sg_tp_model *t = sg_tp_of(m);
    if (t) memset(&t->stats, 0, sizeof t->stats);
}

/* The backend's entry points (model/linear_backend.h). */
static int tp_reserve(sg_linear_backend *b, size_t need) {
    sg_tp_model *t = (sg_tp_model *)b;
    if (need <= t->floats) return 0;
    float *x = malloc(sizeof(float) * need), *y = malloc(sizeof(float) * need);
    if (!x || !y) {
        free(x);
        free(y);
        return sg_fail("out of memory for the tensor-parallel scratch (2 x %zu floats)", need);
    }
    free(t->operand);
    free(t->gathered);
    t->operand = x;
    t->gathered = y;
    t->floats = need;
    return 0;
}

static void tp_release(sg_linear_backend *b) {
    sg_tp_model *t = (sg_tp_model *)b;
    if (!t) return;
    free(t->operand);
    free(t->gathered);
    free(t->counts);
    free(t->displs);
    free(t);
}

static int tp_global_row(const sg_linear_backend *b, int local_row) {
    const sg_tp_model *t = (const sg_tp_model *)b;
    return sg_tp_local_to_global(local_row, t->layout.nb_features, t->g->rank, t->g->size);
}

static void tp_forward(sg_linear_backend *b, float *out, const float *inp, const float *W, const float *bias, int rows,
                       int in_dim, int out_dim) {
    sg_tp_linear_forward((sg_tp_model *)b, out, inp, W, bias, rows, in_dim, out_dim);
}

static void tp_backward(sg_linear_backend *b, float *dinp, float dinp_beta, float *dW, float *dbias, const float *dout,
                        const float *inp, const float *W, int rows, int in_dim, int out_dim) {
    sg_tp_linear_backward((sg_tp_model *)b, dinp, dinp_beta, dW, dbias, dout, inp, W, rows, in_dim, out_dim);
}

sg_tp_model *sg_tp_of(const sg_model *m) {
    return m->linear && m->linear->release == tp_release ? (sg_tp_model *)m->linear : NULL;
}

/* Quantizer steps point into the parameter block: re-aim them after it moved. */
static void reaim_quantizers(sg_model *m) {
    for (int i = 0; m->quant && i < m->table.count; i++)
        if (m->table.info[i].quantizer >= 0) m->quant[m->table.info[i].quantizer].s = sg_model_param(m, i);
}

typedef int (*move_fn)(const sg_model *m, int idx, const float *from, float *to);

static int move_local(const sg_model *m, int idx, const float *from, float *to) {
    sg_tp_take_local(m, idx, from, to);
    return 0;
}

/* Copy every tensor of block `from` (laid out by table `ft`) into `to` (table `tt`), distributed
 * tensors through `move`; replicated ones are copied as they are. */
static int copy_block(const sg_model *m, const sg_param_table *ft, const float *from, const sg_param_table *tt, float *to,
                      move_fn move) {
    int rc = 0;
    for (int i = 0; i < tt->count; i++) { /* on after a failure: every rank makes the same collective calls */
        const sg_param_info *a = &ft->info[i], *b = &tt->info[i];
        if (a->dist || b->dist) rc |= move(m, i, from + a->offset, to + b->offset);
        else memcpy(to + b->offset, from + a->offset, sizeof(float) * b->numel);
    }
    return rc;
}

/* Swap in a new table with its parameter block and (when training state exists) a new
 * grads | m | v block, filled by copy_block. The old ones are freed. */
static int relayout(sg_model *m, sg_param_table *nt, move_fn move) {
    sg_arena weights, state;
    memset(&state, 0, sizeof state);
    if (sg_arena_init(&weights, nt->total)) return -1;
    float *params = sg_arena_take(&weights, nt->total), *grads = NULL, *mm = NULL, *vv = NULL;
    if (m->grads) {
        if (sg_arena_init(&state, 3 * sg_arena_round(nt->total))) {
            sg_arena_free(&weights);
            return -1;
        }
        grads = sg_arena_take(&state, nt->total);
        mm = sg_arena_take(&state, nt->total);
        vv = sg_arena_take(&state, nt->total);
    }
    /* the moves may be collective (gathers): same order on every rank */
    int rc = copy_block(m, &m->table, m->params, nt, params, move);
    if (m->grads) {
        rc |= copy_block(m, &m->table, m->grads, nt, grads, move);
        rc |= copy_block(m, &m->table, m->m, nt, mm, move);
        rc |= copy_block(m, &m->table, m->v, nt, vv, move);
    }
    if (rc) {
        sg_arena_free(&weights);
        sg_arena_free(&state);
        return -1;
    }
    sg_arena_free(&m->weights);
    sg_arena_free(&m->train_state);
    sg_param_table_free(&m->table);
    m->table = *nt;
    m->weights = weights;
    m->train_state = state;
    m->params = params;
    m->grads = grads;
    m->m = mm;
    m->v = vv;
    reaim_quantizers(m);
    return 0;
}

int sg_tp_model_attach(sg_model *m, const sg_tp_group *g, const sg_tp_layout *layout) {
    if (m->linear) return sg_fail("tensor parallel: the model is already distributed");
    sg_tp_model *t = calloc(1, sizeof *t);
    if (!t) return sg_fail("out of memory");
    t->base = (sg_linear_backend){tp_forward, tp_backward, tp_reserve, tp_global_row, tp_release};
    t->g = g;
    if (layout) t->layout = *layout;
    else sg_tp_layout_defaults(&t->layout);
    if (t->layout.nb_features < 1 || t->layout.nb_tokens < 1) {
        int rc = sg_fail("tensor parallel: block sizes must be positive (features %d, tokens %d)", t->layout.nb_features,
                         t->layout.nb_tokens);
        free(t);
        return rc;
    }
    t->counts = calloc((size_t)g->size, sizeof(int));
    t->displs = calloc((size_t)g->size, sizeof(int));
    sg_param_table nt = {malloc(sizeof(sg_param_info) * (size_t)m->table.count), m->table.count, 0};
    if (!t->counts || !t->displs || !nt.info) {
        free(nt.info);
        tp_release(&t->base);
        return sg_fail("out of memory");
    }
    size_t off = 0;
    for (int i = 0; i < nt.count; i++) {
        sg_param_info *p = &nt.info[i];
        *p = m->table.info[i];
        p->dist = sg_param_is_linear_weight(&m->cfg, i);
        if (p->dist) p->numel = (size_t)cols_of(p) * (size_t)sg_tp_owned(rows_of(p), t->layout.nb_features, g->rank, g->size);
        p->offset = off;
        off += sg_arena_round(p->numel);
    }
    nt.total = off;
    m->linear = &t->base; /* take_local reads the layout through sg_tp_of */
    if (sg_model_linear_reserve(m, m->acts.B * m->acts.T) || relayout(m, &nt, move_local)) {
        free(nt.info);
        m->linear = NULL;
        tp_release(&t->base);
        return -1;
    }
    return 0;
}

static int move_gather(const sg_model *m, int idx, const float *from, float *to) { return sg_tp_gather(m, idx, from, to, 1); }

int sg_tp_model_detach(sg_model *m) {
    if (!sg_tp_of(m)) return 0;
    sg_param_table nt;
    if (sg_param_table_build(&nt, &m->cfg, m->quant ? m->module_levels : NULL)) return -1;
    if (nt.count != m->table.count) {
        sg_param_table_free(&nt);
        return sg_fail("tensor parallel: the parameter table changed shape");
    }
    if (relayout(m, &nt, move_gather)) {
        sg_param_table_free(&nt);
        return -1;
    }
    m->linear->release(m->linear);
    m->linear = NULL;
    return 0;
}
