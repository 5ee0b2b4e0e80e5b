/* spikeglue pretrain: HF run_mlm.py in C — continued masked-LM pretraining of a RoBERTa checkpoint
 * (or builtin:*) on plain text or GLUE sentences, with the trainer `run` uses (its flags, its
 * checkpoints, its outputs) and the masked-LM head (model/mlm_head.h). --hidden_act relu swaps a
 * GELU checkpoint's activation first: the ReLU-fication the spiking conversion needs. */
#include "cli/commands.h"
#include "cli/run_args.h"
#include "core/error.h"
#include "core/fileio.h"
#include "data/mlm_mask.h"
#include "data/mlm_text.h"
#include "data/tokenizer.h"
#include "hub/fetch.h"
#include "io/checkpoint.h"
#include "model/mlm_head.h"
#include "parallel/dp.h"
#include "train/mlm_evaluate.h"
#include "train/run_results.h"
#include "train/trainer.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    const sg_run_args *a;
    sg_model model;
    sg_tokenizer *tok;
    char tokenizer_dir[4096]; /* "" for the built-in byte tokenizer */
    sg_mlm_masking train_mask, eval_mask;
    int32_t *masked, *labels; /* the collator's output, one global micro-batch */
    sg_encoded train, eval;
    const sg_dp_group *dp; /* --dp: data parallel replicas (NULL: off) */
} pretrain;

/* The model with its lm_head: builtin (random), or a checkpoint whose config may name either head. */
static int setup_model(pretrain *p) {
    const sg_run_args *a = p->a;
    const char *builtin = strncmp(a->model, "builtin:", 8) == 0 ? a->model + 8 : NULL;
    char dir[4096] = "";
    if (!builtin && a->cache_dir && setenv("HF_HUB_CACHE", a->cache_dir, 1))
        return sg_fail("--cache_dir %s: cannot set HF_HUB_CACHE", a->cache_dir);
    if (!builtin && sg_hf_resolve(a->model, NULL, dir, sizeof dir)) return -1;
    const char *tdir = a->tokenizer_name ? a->tokenizer_name : (!builtin && sg_tokenizer_files_in(dir) != SG_TOKENIZER_FILES_NONE ? dir : NULL);
    p->tok = tdir ? sg_tokenizer_load(tdir) : sg_tokenizer_builtin();
    if (!p->tok) return -1;
    if (tdir) snprintf(p->tokenizer_dir, sizeof p->tokenizer_dir, "%s", tdir);
    sg_model_config cfg;
    char path[4200];
    if (builtin) {
        if (sg_model_config_preset(&cfg, builtin, 2, sg_tokenizer_vocab_size(p->tok))) return sg_fail_context("--model_name_or_path %s", a->model);
    } else {
        snprintf(path, sizeof path, "%s/config.json", dir);
        if (sg_model_config_load(&cfg, path)) return -1;
    }
    if (sg_tokenizer_check_fits(p->tok, cfg.vocab_size, tdir ? tdir : "built-in byte tokenizer")) return -1;
    cfg.head = SG_HEAD_MLM; /* RobertaForMaskedLM, whatever the checkpoint was trained as */
    if (a->hidden_act) {
        sg_activation act = strcmp(a->hidden_act, "relu") == 0 ? SG_ACT_RELU : SG_ACT_GELU;
        if (act != cfg.act) printf("--hidden_act %s: the encoder's %s becomes %s\n", a->hidden_act, cfg.act == SG_ACT_RELU ? "relu" : "gelu", a->hidden_act);
        cfg.act = act;
    }
    if (sg_model_create(&p->model, &cfg)) return -1;
    if (builtin) {
        sg_model_init_random(&p->model, (uint64_t)a->seed);
        return 0;
    }
    sg_load_report rep;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (sg_checkpoint_load_weights(&p->model, path, (uint64_t)a->seed, &rep)) return -1;
    if (rep.classifier_initialised) printf("%s has no lm_head: initialised a new one (seed %d)\n", dir, a->seed);
    return 0;
}

static int copy_tokenizer(const pretrain *p, const char *dir) {
    return p->tokenizer_dir[0] ? sg_tokenizer_copy_files(p->tokenizer_dir, dir) : 0;
}

/* Token rows as the trainer's dataset (no sequence labels: the collator makes token labels). */
static int encode(pretrain *p, const sg_text_lines *lines, size_t first, size_t count, int T, int max_rows, sg_encoded *out,
                  const char *what) {
    sg_token_rows rows;
    memset(out, 0, sizeof *out);
    if (sg_mlm_encode(p->tok, lines, first, count, T, p->a->line_by_line, max_rows, &rows)) return -1;
    if (rows.n == 0) return sg_token_rows_free(&rows), sg_fail("%s: no text to learn from (%zu lines)", what, count);
    out->n = rows.n;
    out->T = rows.T;
    out->ids = rows.ids;
    out->mask = rows.mask;
    out->lengths = rows.lengths;
    out->labels = calloc((size_t)rows.n, sizeof(int32_t));
    out->targets = calloc((size_t)rows.n, sizeof(float));
    if (!out->labels || !out->targets) return sg_encoded_free(out), sg_fail("out of memory");
    return 0;
}

/* Training text, and the held-out text eval_loss is measured on (run_mlm.py: --validation_file,
 * else the first validation_split_percentage % of the training lines). */
static int load_data(pretrain *p, int T) {
    const sg_run_args *a = p->a;
    sg_text_lines lines = {0}, held = {0};
    int rc = -1, tasks = 0;
    if (a->glue_dir ? sg_text_lines_read_glue(&lines, a->glue_dir, &tasks) : sg_text_lines_read_file(&lines, a->train_file)) goto done;
    size_t first = 0;
    if (a->validation_file) {
        if (sg_text_lines_read_file(&held, a->validation_file)) goto done;
    } else {
        first = (lines.count * (size_t)a->validation_split_percentage + 50) / 100; /* train[:p%], rounded as datasets does */
    }
    printf("text: %zu lines from %s%s", lines.count, a->glue_dir ? a->glue_dir : a->train_file, a->glue_dir ? "" : "\n");
    if (a->glue_dir) printf(" (train splits of %d GLUE tasks)\n", tasks);
    const int need_eval = a->do_eval || a->eval_strategy_v != SG_STRATEGY_NO;
    if (a->do_train && encode(p, &lines, first, lines.count - first, T, a->max_train_samples, &p->train, "training text")) goto done;
    if (need_eval) {
        const sg_text_lines *src = a->validation_file ? &held : &lines;
        size_t count = a->validation_file ? held.count : first;
        if (encode(p, src, 0, count, T, a->max_eval_samples, &p->eval, "validation text")) goto done;
    }
    printf("%s%d training sequences, %d validation sequences of up to %d tokens (%s)\n", "", p->train.n, p->eval.n, T,
           a->line_by_line ? "line by line" : "text concatenated and cut into blocks");
    rc = 0;
done:
    sg_text_lines_free(&lines);
    sg_text_lines_free(&held);
    return rc;
}

/* The trainer's collate hook: HF's DataCollatorForLanguageModeling on each micro-batch. */
static sg_batch collate(void *ctx, sg_batch b, uint64_t draw) {
    pretrain *p = ctx;
    sg_mlm_mask(&p->train_mask, draw, b.ids, p->masked, p->labels, (size_t)b.B * b.T);
    b.ids = p->masked;
    b.token_labels = p->labels;
    return b;
}

static int evaluate_into(pretrain *p, cJSON *obj) {
    sg_mlm_eval_result r;
    if (sg_mlm_evaluate(&p->model, &p->eval, &p->eval_mask, p->a->eval_bs, p->dp, &r)) return -1;
    double secs = r.seconds > 0 ? r.seconds : 1e-9;
    cJSON_AddNumberToObject(obj, "eval_loss", r.loss);
    cJSON_AddNumberToObject(obj, "eval_accuracy", r.accuracy);
    cJSON_AddNumberToObject(obj, "eval_runtime", r.seconds);
    cJSON_AddNumberToObject(obj, "eval_samples_per_second", r.n / secs);
    cJSON_AddNumberToObject(obj, "eval_steps_per_second", ceil((double)r.n / p->a->eval_bs) / secs);
    return 0;
}

static int eval_callback(void *ctx, sg_model *m, cJSON *entry) {
    (void)m;
    return evaluate_into(ctx, entry);
}

static int save_extra(void *ctx, const char *dir) { return copy_tokenizer(ctx, dir); }

static int train(pretrain *p, cJSON *all, double *epoch) {
    const sg_run_args *a = p->a;
    sg_train_config tc;
    sg_run_args_train_config(a, &tc);
    tc.collate = collate;
    tc.collate_ctx = p;
    tc.dp = p->dp;
    /* the collator masks the global micro-batch, before the trainer hands each replica its rows */
    size_t cells = (size_t)a->train_bs * (size_t)(p->dp ? p->dp->size : 1) * (size_t)p->train.T;
    p->masked = malloc(sizeof(int32_t) * cells);
    p->labels = malloc(sizeof(int32_t) * cells);
    if (!p->masked || !p->labels) return sg_fail("out of memory");
    sg_trainer t;
    if (sg_trainer_init(&t, &tc, &p->model, &p->train)) return -1;
    t.eval = a->eval_strategy_v != SG_STRATEGY_NO ? eval_callback : NULL;
    t.save_extra = save_extra;
    t.ctx = p;
    printf("training: %d sequences, %d epochs, %d steps (%d per epoch), batch %d x %d accumulated, lr %g (%s schedule), warmup %d steps, mlm_probability %g\n",
           p->train.n, t.epochs, t.total_steps, t.steps_per_epoch, a->train_bs, a->gradient_accumulation_steps, a->lr,
           a->lr_scheduler_type, t.opt.warmup_steps, a->mlm_probability);
    sg_trainer_install_signals();
    int rc = sg_trainer_train(&t);
    if (rc == 0) sg_trainer_restore_signals();
    if (rc != 0) {
        if (rc > 0)
            fprintf(stderr, "spikeglue: stopped by a signal at step %d; resume with --resume_from_checkpoint %s/checkpoint-%d\n",
                    t.global_step, a->output_dir, t.global_step);
        sg_trainer_free(&t);
        return rc < 0 ? -1 : 130;
    }
    cJSON *tr = cJSON_CreateObject();
    rc = sg_trainer_save_final(&t, a->output_dir, tr);
    sg_results_merge(all, tr);
    *epoch = sg_trainer_epoch(&t);
    cJSON_Delete(tr);
    sg_trainer_free(&t);
    return rc;
}

int sg_cmd_pretrain(int argc, char **argv) {
    sg_run_args a;
    int rc = sg_run_args_parse_for(&a, SG_ARGS_PRETRAIN, argc, argv);
    if (rc) return rc > 0 ? 0 : (sg_print_error(), 2);
    if (a.tp > 1) return sg_fail("pretrain: --tp is not supported yet (use --dp D under mpirun)"), sg_print_error(), 2;
    if (a.threads > 0) omp_set_num_threads(a.threads);
    pretrain p;
    memset(&p, 0, sizeof p);
    p.a = &a;
    struct stat st;
    int made_output_dir = stat(a.output_dir, &st) != 0, status = 1, dp_on = 0;
    sg_dp_group dpg;
    char scratch[] = "/tmp/spikeglue-dp-XXXXXX";
    cJSON *all = cJSON_CreateObject();
    if (sg_mkdirs(a.output_dir) || setup_model(&p)) goto done;
    if (a.dp > 0) { /* every replica loads the same model; rank 0 alone writes, the others into a scratch directory */
        if (sg_dp_init(a.dp, 1, &dpg)) goto done;
        dp_on = 1;
        p.dp = &dpg;
        if (dpg.rank != 0) {
            if (!mkdtemp(scratch) || !freopen("/dev/null", "w", stdout)) {
                sg_fail("data parallel: cannot create a scratch directory in /tmp or silence stdout");
                goto done;
            }
            a.output_dir = scratch;
        }
        printf("data parallel: %d replicas, each %d of every %d training rows\n", dpg.size, a.train_bs, dpg.size * a.train_bs);
    }
    const sg_model_config *c = &p.model.cfg;
    sg_special_ids sp = sg_tokenizer_specials(p.tok);
    if (sp.mask < 0 || sp.mask >= c->vocab_size) {
        sg_fail("%s: the tokenizer has no <mask> token inside the model's %d embeddings", p.tokenizer_dir[0] ? p.tokenizer_dir : "builtin", c->vocab_size);
        goto done;
    }
    p.train_mask = (sg_mlm_masking){(float)a.mlm_probability, sg_tokenizer_vocab_size(p.tok), sp, (uint64_t)a.seed};
    p.eval_mask = p.train_mask;
    p.eval_mask.seed = (uint64_t)a.seed ^ 0x5eed0e7a1ULL; /* the same masks at every evaluation, not the training draws */
    int T = a.max_seq_length;
    const int positions = c->max_positions - c->pad_id - 1;
    if (T > positions) {
        printf("warning: --max_seq_length %d is longer than the model's %d positions; using %d\n", T, positions, positions);
        T = positions;
    }
    printf("model: %s, %d layers x %d, %s, masked-LM head; tokenizer %s; %d threads\n", a.model, c->layers, c->hidden,
           c->act == SG_ACT_RELU ? "relu" : "gelu", p.tokenizer_dir[0] ? p.tokenizer_dir : "built-in bytes", omp_get_max_threads());
    if (load_data(&p, T)) goto done;
    double epoch = 0.0;
    if (a.do_train && a.do_eval) { /* ours, beside HF's keys: the held-out figures before training, for the sweep's record */
        cJSON *init = cJSON_CreateObject();
        int erc = evaluate_into(&p, init);
        if (erc == 0) {
            double loss = cJSON_GetObjectItem(init, "eval_loss")->valuedouble;
            cJSON_AddNumberToObject(all, "init_eval_loss", loss);
            cJSON_AddNumberToObject(all, "init_eval_accuracy", cJSON_GetObjectItem(init, "eval_accuracy")->valuedouble);
            cJSON_AddNumberToObject(all, "init_perplexity", loss < 709.0 ? exp(loss) : INFINITY);
            printf("before training: eval_loss %.4f perplexity %.4g on %d sequences\n", loss, exp(loss), p.eval.n);
        }
        cJSON_Delete(init);
        if (erc) goto done;
    }
    if (a.do_train && (rc = train(&p, all, &epoch)) != 0) {
        status = rc == 130 ? 130 : 1;
        if (rc < 0) sg_print_error();
        goto quiet;
    }
    if (a.do_eval) {
        cJSON *ev = cJSON_CreateObject();
        int erc = evaluate_into(&p, ev);
        if (erc == 0) {
            if (a.do_train) cJSON_AddNumberToObject(ev, "epoch", epoch);
            cJSON_AddNumberToObject(ev, "eval_samples", p.eval.n);
            double loss = cJSON_GetObjectItem(ev, "eval_loss")->valuedouble;
            cJSON_AddNumberToObject(ev, "perplexity", loss < 709.0 ? exp(loss) : INFINITY); /* run_mlm: inf on overflow */
            erc = sg_results_write(a.output_dir, "eval_results.json", ev);
            sg_results_merge(all, ev);
            printf("eval_loss %.4f perplexity %.4g on %d sequences\n", loss, exp(loss), p.eval.n);
        }
        cJSON_Delete(ev);
        if (erc) goto done;
    }
    if (sg_results_write(a.output_dir, "all_results.json", all)) goto done;
    status = 0;
    goto quiet;
done:
    sg_print_error();
quiet:
    cJSON_Delete(all);
    free(p.masked);
    free(p.labels);
    sg_encoded_free(&p.train);
    sg_encoded_free(&p.eval);
    sg_model_free(&p.model);
    sg_tokenizer_free(p.tok);
    if (status != 0 && made_output_dir) rmdir(a.output_dir);
    if (a.output_dir == scratch) sg_remove_tree(scratch);
    if (dp_on) sg_dp_free(&dpg); /* last: it may own MPI */
    return status;
}
