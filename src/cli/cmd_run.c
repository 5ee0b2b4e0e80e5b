/* spikeglue run: HuggingFace's run_glue.py workflow in C (issue: the five reference flows —
 * QAT fine-tuning with a transform config, evaluation after transform, evaluation of fine-tuned
 * QANN weights, conversion to a spiking network, a plain baseline — plus spiking evaluation). */
#include "cli/commands.h"
#include "cli/run_args.h"
#include "cli/run_head.h"
#include "blas/gemm.h"
#include "cli/run_snn.h"
#include "core/error.h"
#include "core/isa.h"
#include "core/fileio.h"
#include "data/glue.h"
#include "data/tokenizer.h"
#include "hub/fetch.h"
#include "io/checkpoint.h"
#include "parallel/dp.h"
#include "parallel/tp.h"
#include "quant/model_levels.h"
#include "train/calibrate.h"
#include "train/evaluate.h"
#include "train/progress.h"
#include "train/run_results.h"
#include "train/trainer.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- model and tokenizer ---- */

typedef struct {
    sg_model model;
    sg_tokenizer *tok;
    char model_dir[4096]; /* "" for builtin */
    char tokenizer_dir[4096]; /* "" for the built-in byte tokenizer */
    int levels[4097];     /* per quantizable module; enough for 1024 layers */
    int quantized, unfold_level;
    int max_seq_length; /* --max_seq_length, clamped to the model's positions */
    const sg_dp_group *dp; /* --dp: evaluation and prediction are sharded over the replicas; NULL: off */
} run_model;

/* vocab.json and merges.txt both there (half a tokenizer is loaded, so that it fails naming the
 * missing file instead of silently falling back to the byte tokenizer) */
static int has_tokenizer_files(const char *dir) { return sg_tokenizer_files_in(dir) != SG_TOKENIZER_FILES_NONE; }

static int setup_model(const sg_run_args *a, const sg_glue_task *task, run_model *rm) {
    memset(rm, 0, sizeof *rm);
    rm->max_seq_length = a->max_seq_length;
    const char *builtin = strncmp(a->model, "builtin:", 8) == 0 ? a->model + 8 : NULL;
    if (!builtin && a->cache_dir && setenv("HF_HUB_CACHE", a->cache_dir, 1)) /* HF's cache_dir is the hub cache */
        return sg_fail("--cache_dir %s: cannot set HF_HUB_CACHE", a->cache_dir);
    if (!builtin && sg_hf_resolve(a->model, NULL, rm->model_dir, sizeof rm->model_dir)) return -1;
    const char *tdir = a->tokenizer_name ? a->tokenizer_name : (!builtin && has_tokenizer_files(rm->model_dir) ? rm->model_dir : NULL);
    rm->tok = tdir ? sg_tokenizer_load(tdir) : sg_tokenizer_builtin();
    if (!rm->tok) return -1;
    if (tdir) snprintf(rm->tokenizer_dir, sizeof rm->tokenizer_dir, "%s", tdir);
    sg_model_config cfg;
    int num_labels = task->num_labels;
    if (builtin) {
        if (sg_model_config_preset(&cfg, builtin, num_labels, sg_tokenizer_vocab_size(rm->tok)))
            return sg_fail_context("--model_name_or_path %s", a->model);
    } else {
        char path[4200];
        snprintf(path, sizeof path, "%s/config.json", rm->model_dir);
        if (sg_model_config_load(&cfg, path)) return -1;
        if (sg_tokenizer_vocab_size(rm->tok) > cfg.vocab_size)
            return sg_fail("%s: the tokenizer has %d ids but the model only %d embeddings", tdir ? tdir : "builtin tokenizer",
                           (int)sg_tokenizer_vocab_size(rm->tok), cfg.vocab_size);
    }
    const int positions = cfg.max_positions - cfg.pad_id - 1; /* RoBERTa's positions start after the padding id */
    if (rm->max_seq_length > positions) { /* run_glue.py: min(max_seq_length, tokenizer.model_max_length), with a warning */
        printf("warning: --max_seq_length %d is longer than the model's %d positions; using %d\n", rm->max_seq_length, positions,
               positions);
        rm->max_seq_length = positions;
    }
    /* the task decides the head, as run_glue.py passes num_labels to from_pretrained (a masked LM's lm_head is dropped) */
    cfg.head = SG_HEAD_CLASSIFIER;
    cfg.num_labels = num_labels;
    cfg.problem = task->is_regression ? SG_PROBLEM_REGRESSION : SG_PROBLEM_SINGLE_LABEL;
    for (int i = 0; i < num_labels && i < SG_MAX_LABELS; i++) {
        if (task->label_names) snprintf(cfg.id2label[i], SG_LABEL_NAME_MAX, "%s", task->label_names[i]);
        else snprintf(cfg.id2label[i], SG_LABEL_NAME_MAX, "LABEL_%d", i);
    }
    if (a->transform_config) {
        if (cfg.layers * QM_PER_LAYER + 1 > (int)(sizeof rm->levels / sizeof rm->levels[0]))
            return sg_fail("too many layers (%d) for a transform", cfg.layers);
        if (sg_module_levels_from_file(a->transform_config, &cfg, a->convert_to_snn, rm->levels, &rm->unfold_level)) return -1;
        rm->quantized = 1;
    }
    if (sg_model_create_quantized(&rm->model, &cfg, rm->quantized ? rm->levels : NULL)) return -1;
    rm->model.label_smoothing = (float)a->label_smoothing_factor;
    if (builtin) {
        sg_model_init_random(&rm->model, (uint64_t)a->seed);
    } else {
        sg_load_report rep;
        if (sg_run_load_checkpoint(&rm->model, rm->model_dir, rm->quantized ? rm->levels : NULL, task, a->ignore_mismatched_sizes,
                                   (uint64_t)a->seed, &rep))
            return -1;
        if (rep.classifier_initialised) printf("%s has no classifier: initialised a new %d-label head (seed %d)\n", rm->model_dir, num_labels, a->seed);
    }
    if (a->weights_path) { /* flow 3: fine-tuned QANN weights, with their learned steps */
        sg_load_report rep;
        if (sg_run_load_checkpoint(&rm->model, a->weights_path, rm->quantized ? rm->levels : NULL, task, a->ignore_mismatched_sizes,
                                   (uint64_t)a->seed, &rep))
            return -1;
        printf("loaded %s/model.safetensors (%d quantizer steps restored, %d absent at 1.0)\n", a->weights_path, rep.steps_loaded, rep.steps_missing);
        if (rm->quantized) /* learned steps are final: no re-initialisation if training continues */
            for (int i = 0; i <= cfg.layers * Q_PER_LAYER; i++)
                if (rm->model.quant[i].s) rm->model.quant[i].init_calls = SG_LSQ_INIT_CALLS;
    }
    return 0;
}

static void free_model(run_model *rm) {
    sg_model_free(&rm->model);
    sg_tokenizer_free(rm->tok);
}

/* A usable model directory: weights, config and the tokenizer files beside them. */
static int copy_tokenizer(void *ctx, const char *dir) {
    const run_model *rm = ctx;
    return rm->tokenizer_dir[0] ? sg_tokenizer_copy_files(rm->tokenizer_dir, dir) : 0;
}

/* ---- data ---- */

typedef struct {
    sg_glue_data raw;
    sg_encoded enc;
    int loaded;
} split_data;

static int load_split(const sg_run_args *a, const sg_glue_task *task, sg_glue_split split, const char *file,
                      const sg_glue_data *label_space, int max_samples, run_model *rm, split_data *out) {
    memset(out, 0, sizeof *out);
    int rc = file ? sg_glue_load_custom(file, label_space, &out->raw) : sg_glue_load(a->data_dir, task, split, &out->raw);
    if (rc) return -1;
    if (out->raw.skipped)
        printf("%s: skipped %zu malformed row%s (first at line %zu: %s)\n", file ? file : sg_glue_split_name(split),
               out->raw.skipped, out->raw.skipped == 1 ? "" : "s", out->raw.first_skipped_line, out->raw.skip_reason);
    if (max_samples > 0 && (size_t)max_samples < out->raw.count) out->raw.count = (size_t)max_samples;
    if (out->raw.count == 0) return sg_fail("%s split of %s has no rows", sg_glue_split_name(split), task->name);
    if (sg_encode_dataset(rm->tok, &out->raw, rm->max_seq_length, &out->enc)) return -1;
    out->loaded = 1;
    return 0;
}

static void free_split(split_data *s) {
    if (!s->loaded) return;
    sg_encoded_free(&s->enc);
    sg_glue_data_free(&s->raw);
    s->loaded = 0;
}

/* ---- evaluation (also the trainer's callback) ---- */

typedef struct {
    const sg_run_args *a;
    const sg_glue_task *task;
    run_model *rm;
    split_data *dev, *dev_mm;
} eval_ctx;

static int evaluate_into(eval_ctx *ec, cJSON *obj) {
    sg_eval_result r;
    if (sg_evaluate_dp(&ec->rm->model, &ec->dev->enc, ec->task->metrics, ec->a->eval_bs, ec->rm->dp, &r)) return -1;
    sg_results_add_eval(obj, "eval", "", &r, ec->a->eval_bs);
    sg_eval_result_free(&r);
    if (ec->dev_mm && ec->dev_mm->loaded) { /* MNLI: mismatched, reported with the _mm suffix as HF */
        if (sg_evaluate_dp(&ec->rm->model, &ec->dev_mm->enc, ec->task->metrics, ec->a->eval_bs, ec->rm->dp, &r)) return -1;
        sg_results_add_eval(obj, "eval", "_mm", &r, ec->a->eval_bs);
        sg_eval_result_free(&r);
    }
    return 0;
}

static int eval_callback(void *ctx, sg_model *m, cJSON *entry) {
    (void)m;
    return evaluate_into(ctx, entry);
}

static int trainer_save_extra(void *ctx, const char *dir) { return copy_tokenizer(((eval_ctx *)ctx)->rm, dir); }

static int write_predictions(const sg_run_args *a, const sg_glue_task *task, run_model *rm, split_data *test) {
    sg_eval_result r;
    /* predictions need no labels: a labelled split is evaluated too, but only the predictions are written */
    if (sg_evaluate_dp(&rm->model, &test->enc, task->metrics, a->eval_bs, rm->dp, &r)) return -1;
    char path[4200];
    snprintf(path, sizeof path, "%s/predict_results_%s.txt", a->output_dir, task->name);
    /* a line: index (<= 11 chars), tab, a label name (< SG_LABEL_NAME_MAX) or a score, newline */
    size_t cap = 64 + (size_t)r.n * (16 + SG_LABEL_NAME_MAX + 32), len = 0;
    char *text = malloc(cap);
    if (!text) return sg_eval_result_free(&r), sg_fail("out of memory");
    len += (size_t)snprintf(text + len, cap - len, "index\tprediction\n");
    for (int i = 0; i < r.n; i++) {
        if (task->is_regression) len += (size_t)snprintf(text + len, cap - len, "%d\t%3.3f\n", i, (double)r.score[i]);
        else len += (size_t)snprintf(text + len, cap - len, "%d\t%s\n", i, rm->model.cfg.id2label[r.pred[i]]);
    }
    int rc = sg_write_file_atomic(path, text, len);
    free(text);
    sg_eval_result_free(&r);
    if (rc == 0) printf("wrote %s\n", path);
    return rc;
}

static void print_summary(const cJSON *all) {
    printf("\n%-34s %s\n", "metric", "value");
    const cJSON *item;
    cJSON_ArrayForEach(item, all) {
        if (cJSON_IsNumber(item) && !strstr(item->string, "per_second") && !strstr(item->string, "runtime"))
            printf("%-34s %.6g\n", item->string, item->valuedouble);
    }
}

int sg_cmd_run(int argc, char **argv) {
    sg_run_args a;
    int rc = sg_run_args_parse(&a, argc, argv);
    if (rc) return rc > 0 ? 0 : (sg_print_error(), 2);
    if (a.threads > 0) omp_set_num_threads(a.threads);

    /* the task: GLUE by name, or a custom one described by its files */
    const sg_glue_task *task = NULL;
    sg_glue_task custom;
    static char custom_names[SG_MAX_LABELS][SG_LABEL_NAME_MAX];
    static const char *custom_name_ptrs[SG_MAX_LABELS];
    split_data train = {0}, dev = {0}, dev_mm = {0}, test = {0};
    run_model rm;
    memset(&rm, 0, sizeof rm);
    sg_tp_group tpg;
    sg_dp_group dpg;
    int tp_on = 0, dp_on = 0, writer = 1;
    char tp_scratch[] = "/tmp/spikeglue-tp-XXXXXX";
    int status = 1;
    if (a.task) {
        task = sg_glue_task_find(a.task);
        if (!task) return sg_print_error(), 2;
    } else {
        /* custom: the label space comes from the training (or validation) file */
        const char *first = a.train_file ? a.train_file : a.validation_file;
        sg_glue_data probe;
        if (sg_glue_load_custom(first, NULL, &probe)) return sg_print_error(), 1;
        memset(&custom, 0, sizeof custom);
        custom.name = "custom";
        custom.num_labels = probe.is_regression ? 1 : probe.num_labels;
        custom.is_regression = probe.is_regression;
        custom.has_pairs = probe.text_b != NULL;
        custom.metrics = probe.is_regression ? (SG_METRIC_PEARSON | SG_METRIC_SPEARMAN) : SG_METRIC_ACCURACY;
        custom.label_names = NULL;
        if (!probe.is_regression) {
            if (probe.num_labels > SG_MAX_LABELS) {
                sg_fail("%s: %d distinct labels, at most %d are supported", first, probe.num_labels, SG_MAX_LABELS);
                sg_glue_data_free(&probe);
                return sg_print_error(), 1;
            }
            /* the file's own label names become id2label, as run_glue.py does for custom files */
            for (int i = 0; i < probe.num_labels; i++) {
                if (probe.label_names) snprintf(custom_names[i], SG_LABEL_NAME_MAX, "%s", probe.label_names[i]);
                else snprintf(custom_names[i], SG_LABEL_NAME_MAX, "LABEL_%d", i);
                custom_name_ptrs[i] = custom_names[i];
            }
            custom.label_names = custom_name_ptrs;
        }
        sg_glue_data_free(&probe);
        task = &custom;
        if (custom.is_regression && a.label_smoothing_factor > 0)
            return sg_fail("--label_smoothing_factor: %s holds a regression task (no classes to smooth)", first), sg_print_error(), 2;
    }
    /* a run that fails before writing anything leaves no empty output_dir behind */
    struct stat out_st;
    int made_output_dir = stat(a.output_dir, &out_st) != 0;
    if (sg_mkdirs(a.output_dir)) return sg_print_error(), 1;
    if (setup_model(&a, task, &rm)) goto fail;
    if (a.dp > 0) { /* data parallel: first, so that it owns MPI (tp's group is set up inside it) */
        if (sg_dp_init(a.dp, a.tp > 0 ? a.tp : 1, &dpg)) goto fail;
        dp_on = 1;
        sg_dp_attach_lsq(&rm.model, &dpg);
        rm.dp = &dpg;
        writer = dpg.rank == 0;
    }
    if (a.tp > 0) { /* tensor parallel: after loading, keep this rank's rows of every linear weight */
        if (sg_tp_init(a.tp, &tpg)) goto fail;
        tp_on = 1;
        if (sg_tp_model_attach(&rm.model, &tpg, NULL)) goto fail;
        writer = writer && tpg.rank == 0;
    }
    if (!writer) { /* one writer: the others write into a private scratch directory, quietly */
        if (!mkdtemp(tp_scratch)) {
            sg_fail("%s parallel: cannot create a scratch directory in /tmp", tp_on ? "tensor" : "data");
            goto fail;
        }
        a.output_dir = tp_scratch;
        if (!freopen("/dev/null", "w", stdout)) {
            sg_fail("%s parallel: cannot silence stdout", tp_on ? "tensor" : "data");
            goto fail;
        }
    }
    if (tp_on)
        printf("tensor parallel: group %d of %d, %d ranks on a 1 x %d BLACS grid\n", tpg.group, tpg.groups, tpg.size, tpg.size);
    if (dp_on)
        printf("data parallel: %d replicas, each %d of every %d training rows\n", dpg.size, a.train_bs, dpg.size * a.train_bs);
    printf("model: %s%s, %d layers x %d, %s; task %s; tokenizer %s; %d threads; BLAS OpenBLAS %s%s; kernels %s\n", a.model,
           rm.quantized ? " (quantized)" : "", rm.model.cfg.layers, rm.model.cfg.hidden,
           rm.model.cfg.act == SG_ACT_RELU ? "relu" : "gelu", task->name, rm.tokenizer_dir[0] ? rm.tokenizer_dir : "built-in bytes",
           omp_get_max_threads(), sg_blas_corename(), sg_blas_core_note(), sg_isa_describe());

    if (a.do_train || a.calibrate_batches > 0) {
        if (load_split(&a, task, SG_SPLIT_TRAIN, a.train_file, NULL, a.max_train_samples, &rm, &train)) goto fail;
    }
    const sg_glue_data *space = train.loaded ? &train.raw : NULL;
    if (a.do_eval || a.snn_eval || (a.do_train && a.eval_strategy_v != SG_STRATEGY_NO)) {
        if (load_split(&a, task, SG_SPLIT_DEV, a.validation_file, space, a.max_eval_samples, &rm, &dev)) goto fail;
        if (task->split_files[SG_SPLIT_DEV_MISMATCHED] && !a.validation_file &&
            load_split(&a, task, SG_SPLIT_DEV_MISMATCHED, NULL, NULL, a.max_eval_samples, &rm, &dev_mm))
            goto fail;
    }
    if (a.do_predict && load_split(&a, task, SG_SPLIT_TEST, a.test_file, space, a.max_predict_samples, &rm, &test)) goto fail;

    if (a.calibrate_batches > 0 && rm.quantized) {
        if (sg_calibrate_steps(&rm.model, &train.enc, a.calibrate_batches, a.train_bs, a.pad_to_max, rm.dp)) goto fail;
        printf("calibrated %s quantizer steps on %d training batches\n", "every", a.calibrate_batches);
        for (int i = 0; i <= rm.model.cfg.layers * Q_PER_LAYER; i++) /* calibrated steps are not re-initialised */
            if (rm.model.quant[i].s) rm.model.quant[i].init_calls = SG_LSQ_INIT_CALLS;
    }

    cJSON *all = cJSON_CreateObject();
    double trained_epoch = 0.0;
    eval_ctx ec = {&a, task, &rm, &dev, &dev_mm};
    if (a.do_train) {
        sg_train_config tc;
        sg_run_args_train_config(&a, &tc);
        tc.dp = dp_on ? &dpg : NULL;
        sg_trainer t;
        if (sg_trainer_init(&t, &tc, &rm.model, &train.enc)) goto fail_all;
        t.eval = a.eval_strategy_v != SG_STRATEGY_NO ? eval_callback : NULL;
        t.save_extra = trainer_save_extra;
        t.ctx = &ec;
        sg_trainer_install_signals();
        char batch[64];
        if (a.gradient_accumulation_steps > 1) snprintf(batch, sizeof batch, "%d x %d accumulated", a.train_bs, a.gradient_accumulation_steps);
        else snprintf(batch, sizeof batch, "%d", a.train_bs);
        printf("training: %d examples, %d epochs, %d steps (%d per epoch), batch %s, lr %g (%s schedule), warmup %d steps\n",
               train.enc.n, t.epochs, t.total_steps, t.steps_per_epoch, batch, a.lr, a.lr_scheduler_type, t.opt.warmup_steps);
        int trc = sg_trainer_train(&t);
        if (trc == 0) sg_trainer_restore_signals();
        if (trc != 0) {
            if (trc < 0) sg_print_error();
            else fprintf(stderr, "spikeglue: stopped by a signal at step %d; resume with --resume_from_checkpoint %s/checkpoint-%d\n",
                         t.global_step, a.output_dir, t.global_step);
            sg_trainer_free(&t);
            cJSON_Delete(all);
            status = trc < 0 ? 1 : 130;
            goto done;
        }
        cJSON *tr = cJSON_CreateObject();
        if (sg_trainer_save_final(&t, a.output_dir, tr)) {
            cJSON_Delete(tr);
            sg_trainer_free(&t);
            goto fail_all;
        }
        sg_results_merge(all, tr);
        trained_epoch = sg_trainer_epoch(&t);
        cJSON_Delete(tr);
        sg_trainer_free(&t);
    }
    if (a.do_eval) {
        cJSON *ev = cJSON_CreateObject();
        if (evaluate_into(&ec, ev)) {
            cJSON_Delete(ev);
            goto fail_all;
        }
        if (a.do_train) cJSON_AddNumberToObject(ev, "epoch", trained_epoch);
        if (sg_results_write(a.output_dir, "eval_results.json", ev)) {
            cJSON_Delete(ev);
            goto fail_all;
        }
        sg_results_merge(all, ev);
        cJSON_Delete(ev);
    }
    if (a.do_predict && write_predictions(&a, task, &rm, &test)) goto fail_all;
    if (a.convert_to_snn) {
        /* the simulation's rows are independent: every rank of the run (D x P under --dp, the
         * tensor-parallel group without it) simulates a share of the eval batches, each with the
         * whole network (tensor parallelism is gathered first) */
        sg_shard shard;
        sg_shard_of(&shard, dp_on ? MPI_COMM_WORLD : tp_on ? tpg.comm : MPI_COMM_NULL);
        if (tp_on && sg_tp_model_detach(&rm.model)) goto fail_all;
        if (shard.size > 1 && a.snn_eval)
            printf("spiking simulation sharded over %d ranks, each simulating whole eval batches with the whole network\n", shard.size);
        /* everything a run writes goes under output_dir; --model_weights_path is an input */
        if (sg_run_snn(&rm.model, rm.unfold_level, a.snn_eval ? &dev.enc : NULL, task->metrics, a.eval_bs, a.snn_max_steps,
                       &shard, writer, a.output_dir, all))
            goto fail_all;
    }
    if (sg_results_write(a.output_dir, "all_results.json", all)) goto fail_all;
    print_summary(all);
    cJSON_Delete(all);
    status = 0;
    goto done;
fail_all:
    cJSON_Delete(all);
fail:
    sg_print_error();
    status = 1;
done:
    free_split(&train);
    free_split(&dev);
    free_split(&dev_mm);
    free_split(&test);
    free_model(&rm);
    if (status != 0 && made_output_dir) rmdir(a.output_dir); /* fails, as it should, unless empty */
    if (a.output_dir == tp_scratch) sg_remove_tree(tp_scratch);
    if (tp_on) sg_tp_free(&tpg); /* after free_model: the model refers to the group */
    if (dp_on) sg_dp_free(&dpg); /* last: it may own MPI */
    return status;
}
