/* spikeglue run: HuggingFace's run_glue.py workflow in C (issue: the five reference flows —
 * QAT fine-tuning with a transform config, evaluation after transform, evaluation of fine-tuned
 * QANN weights, conversion to a spiking network, a plain baseline — plus spiking evaluation). */
#include "cli/commands.h"
#include "cli/flags.h"
#include "blas/gemm.h"
#include "cli/run_snn.h"
#include "core/error.h"
#include "core/fileio.h"
#include "data/glue.h"
#include "data/tokenizer.h"
#include "hub/fetch.h"
#include "io/checkpoint.h"
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

typedef struct {
    const char *model, *task, *data_dir, *train_file, *validation_file, *test_file, *output_dir, *transform_config,
        *weights_path, *resume, *tokenizer_name, *eval_strategy, *save_strategy, *ignored;
    int do_train, do_eval, do_predict, max_seq_length, pad_to_max, train_bs, eval_bs, max_steps, warmup_steps, eval_steps,
        save_steps, save_total_limit, logging_steps, seed, max_train_samples, max_eval_samples, max_predict_samples,
        overwrite, convert_to_snn, snn_eval, snn_max_steps, calibrate_batches, threads, ignored_bool, tp;
    double lr, weight_decay, warmup_ratio, epochs, max_grad_norm;
} run_args;

static sg_strategy parse_strategy(const char *s, const char *flag, int *bad) {
    if (!strcmp(s, "no")) return SG_STRATEGY_NO;
    if (!strcmp(s, "steps")) return SG_STRATEGY_STEPS;
    if (!strcmp(s, "epoch")) return SG_STRATEGY_EPOCH;
    *bad = sg_fail("--%s: expected no, steps or epoch, not '%s'", flag, s);
    return SG_STRATEGY_NO;
}

/* ---- model and tokenizer ---- */

typedef struct {
    sg_model model;
    sg_tokenizer *tok;
    char model_dir[4096]; /* "" for builtin */
    char tokenizer_dir[4096]; /* "" for the built-in byte tokenizer */
    int levels[4097];     /* per quantizable module; enough for 1024 layers */
    int quantized, unfold_level;
} run_model;

static int has_tokenizer_files(const char *dir) {
    char v[4200], m[4200];
    snprintf(v, sizeof v, "%s/vocab.json", dir);
    snprintf(m, sizeof m, "%s/merges.txt", dir);
    return sg_is_file(v) && sg_is_file(m);
}

static int setup_model(const run_args *a, const sg_glue_task *task, run_model *rm) {
    memset(rm, 0, sizeof *rm);
    const char *builtin = strncmp(a->model, "builtin:", 8) == 0 ? a->model + 8 : NULL;
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
    /* the task decides the head, as run_glue.py passes num_labels to from_pretrained */
    cfg.num_labels = num_labels;
    cfg.problem = task->is_regression ? SG_PROBLEM_REGRESSION : SG_PROBLEM_SINGLE_LABEL;
    for (int i = 0; i < num_labels && i < SG_MAX_LABELS; i++)
        {
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
    if (builtin) {
        sg_model_init_random(&rm->model, (uint64_t)a->seed);
    } else {
        char path[4200];
        sg_load_report rep;
        snprintf(path, sizeof path, "%s/model.safetensors", rm->model_dir);
        if (sg_checkpoint_load_weights(&rm->model, path, (uint64_t)a->seed, &rep)) return -1;
        if (rep.classifier_initialised) printf("%s has no classifier: initialised a new %d-label head (seed %d)\n", rm->model_dir, num_labels, a->seed);
    }
    if (a->weights_path) { /* flow 3: fine-tuned QANN weights, with their learned steps */
        char path[4200];
        sg_load_report rep;
        snprintf(path, sizeof path, "%s/model.safetensors", a->weights_path);
        if (sg_checkpoint_load_weights(&rm->model, path, (uint64_t)a->seed, &rep)) return -1;
        printf("loaded %s (%d quantizer steps restored, %d absent at 1.0)\n", path, rep.steps_loaded, rep.steps_missing);
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
    if (!rm->tokenizer_dir[0]) return 0;
    const char *files[] = {"vocab.json", "merges.txt"};
    for (int i = 0; i < 2; i++) {
        char from[4200], to[4200];
        snprintf(from, sizeof from, "%s/%s", rm->tokenizer_dir, files[i]);
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        if (sg_copy_file(from, to)) return -1;
    }
    return 0;
}

/* ---- data ---- */

typedef struct {
    sg_glue_data raw;
    sg_encoded enc;
    int loaded;
} split_data;

static int load_split(const run_args *a, const sg_glue_task *task, sg_glue_split split, const char *file,
                      const sg_glue_data *label_space, int max_samples, run_model *rm, split_data *out) {
    memset(out, 0, sizeof *out);
    int rc = file ? sg_glue_load_custom(file, label_space, &out->raw) : sg_glue_load(a->data_dir, task, split, &out->raw);
    if (rc) return -1;
    if (out->raw.skipped)
        printf("%s: skipped %zu malformed row%s (first at line %zu: %s)\n", file ? file : sg_glue_split_name(split),
               out->raw.skipped, out->raw.skipped == 1 ? "" : "s", out->raw.first_skipped_line, out->raw.skip_reason);
    if (max_samples > 0 && (size_t)max_samples < out->raw.count) out->raw.count = (size_t)max_samples;
    if (out->raw.count == 0) return sg_fail("%s split of %s has no rows", sg_glue_split_name(split), task->name);
    if (sg_encode_dataset(rm->tok, &out->raw, a->max_seq_length, &out->enc)) return -1;
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
    const run_args *a;
    const sg_glue_task *task;
    run_model *rm;
    split_data *dev, *dev_mm;
} eval_ctx;

static int evaluate_into(eval_ctx *ec, cJSON *obj) {
    sg_eval_result r;
    if (sg_evaluate(&ec->rm->model, &ec->dev->enc, ec->task->metrics, ec->a->eval_bs, &r)) return -1;
    sg_results_add_eval(obj, "eval", "", &r, ec->a->eval_bs);
    sg_eval_result_free(&r);
    if (ec->dev_mm && ec->dev_mm->loaded) { /* MNLI: mismatched, reported with the _mm suffix as HF */
        if (sg_evaluate(&ec->rm->model, &ec->dev_mm->enc, ec->task->metrics, ec->a->eval_bs, &r)) return -1;
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

static int write_predictions(const run_args *a, const sg_glue_task *task, run_model *rm, split_data *test) {
    sg_eval_result r;
    /* predictions need no labels: a labelled split is evaluated too, but only the predictions are written */
    if (sg_evaluate(&rm->model, &test->enc, task->metrics, a->eval_bs, &r)) return -1;
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
    run_args a = {0};
    a.data_dir = "data/glue";
    a.max_seq_length = 128;
    a.pad_to_max = 1;
    a.train_bs = 8;
    a.eval_bs = 8;
    a.lr = 5e-5;
    a.epochs = 3.0;
    a.max_steps = -1;
    a.max_grad_norm = 1.0;
    a.eval_strategy = "no";
    a.save_strategy = "steps";
    a.save_steps = 500;
    a.logging_steps = 500;
    a.seed = 42;
    a.snn_max_steps = 256;
    const char *eval_strategy_alias = NULL;
    sg_flag flags[] = {
        {"model_name_or_path", SG_FLAG_STRING, &a.model, "a checkpoint directory, an HF cache name (ORG/NAME) or builtin:tiny|small|base", 0},
        {"task_name", SG_FLAG_STRING, &a.task, "GLUE task: cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, wnli", 0},
        {"data_dir", SG_FLAG_STRING, &a.data_dir, "folder holding CoLA/, SST-2/, ... (GLUE's names)", 0},
        {"train_file", SG_FLAG_STRING, &a.train_file, "custom task: training CSV / JSON-lines (sentence1, sentence2, label)", 0},
        {"validation_file", SG_FLAG_STRING, &a.validation_file, "custom task: validation file", 0},
        {"test_file", SG_FLAG_STRING, &a.test_file, "custom task: test file", 0},
        {"do_train", SG_FLAG_BOOL, &a.do_train, "fine-tune", 0},
        {"do_eval", SG_FLAG_BOOL, &a.do_eval, "evaluate on the dev split(s)", 0},
        {"do_predict", SG_FLAG_BOOL, &a.do_predict, "write predictions for the test split", 0},
        {"max_seq_length", SG_FLAG_INT, &a.max_seq_length, "tokens per sequence after truncation", 0},
        {"pad_to_max_length", SG_FLAG_BOOL, &a.pad_to_max, "pad every training batch to max_seq_length (else to its longest row); evaluation batches rows by length, which gives the same results", 0},
        {"per_device_train_batch_size", SG_FLAG_INT, &a.train_bs, "training batch size", 0},
        {"per_device_eval_batch_size", SG_FLAG_INT, &a.eval_bs, "evaluation batch size", 0},
        {"learning_rate", SG_FLAG_FLOAT, &a.lr, "AdamW learning rate", 0},
        {"weight_decay", SG_FLAG_FLOAT, &a.weight_decay, "AdamW weight decay (not on biases and LayerNorm)", 0},
        {"warmup_ratio", SG_FLAG_FLOAT, &a.warmup_ratio, "linear warmup over this fraction of the steps", 0},
        {"warmup_steps", SG_FLAG_INT, &a.warmup_steps, "linear warmup steps (overrides warmup_ratio)", 0},
        {"num_train_epochs", SG_FLAG_FLOAT, &a.epochs, "epochs", 0},
        {"max_steps", SG_FLAG_INT, &a.max_steps, "stop after this many steps (overrides epochs when > 0)", 0},
        {"max_grad_norm", SG_FLAG_FLOAT, &a.max_grad_norm, "gradient clipping norm", 0},
        {"output_dir", SG_FLAG_STRING, &a.output_dir, "where results and checkpoints go", 0},
        {"overwrite_output_dir", SG_FLAG_BOOL, &a.overwrite, "allow a non-empty output_dir", 0},
        {"evaluation_strategy", SG_FLAG_STRING, &eval_strategy_alias, "no | steps | epoch (alias of eval_strategy)", 0},
        {"eval_strategy", SG_FLAG_STRING, &a.eval_strategy, "no | steps | epoch", 0},
        {"eval_steps", SG_FLAG_INT, &a.eval_steps, "evaluate every N steps (strategy steps; default logging_steps)", 0},
        {"save_strategy", SG_FLAG_STRING, &a.save_strategy, "no | steps | epoch", 0},
        {"save_steps", SG_FLAG_INT, &a.save_steps, "checkpoint every N steps (strategy steps)", 0},
        {"save_total_limit", SG_FLAG_INT, &a.save_total_limit, "keep at most N checkpoints (0: all)", 0},
        {"logging_steps", SG_FLAG_INT, &a.logging_steps, "log the mean loss every N steps", 0},
        {"seed", SG_FLAG_INT, &a.seed, "seed of data order, dropout and initialisation", 0},
        {"max_train_samples", SG_FLAG_INT, &a.max_train_samples, "use only the first N training rows", 0},
        {"max_eval_samples", SG_FLAG_INT, &a.max_eval_samples, "use only the first N dev rows", 0},
        {"max_predict_samples", SG_FLAG_INT, &a.max_predict_samples, "use only the first N test rows", 0},
        {"resume_from_checkpoint", SG_FLAG_STRING, &a.resume, "continue from output_dir/checkpoint-N", 0},
        {"tokenizer_name", SG_FLAG_STRING, &a.tokenizer_name, "directory with vocab.json + merges.txt (default: the model's, else built-in bytes)", 0},
        {"transform_config", SG_FLAG_STRING, &a.transform_config, "transform YAML: quantize (and convert) the model", 0},
        {"model_weights_path", SG_FLAG_STRING, &a.weights_path, "fine-tuned (QANN) weights to load after the transform", 0},
        {"convert_to_snn", SG_FLAG_BOOL, &a.convert_to_snn, "convert to a spiking network and save it to <weights or output dir>/snn_model", 0},
        {"snn_eval", SG_FLAG_BOOL, &a.snn_eval, "simulate the spiking network on the dev split and report its metrics", 0},
        {"snn_max_steps", SG_FLAG_INT, &a.snn_max_steps, "time steps cap of the simulation", 0},
        {"lsq_calibrate_batches", SG_FLAG_INT, &a.calibrate_batches, "initialise LSQ steps from N training batches (0: s = 1.0)", 0},
        {"threads", SG_FLAG_INT, &a.threads, "OpenMP/BLAS threads (0: OMP_NUM_THREADS or all cores)", 0},
        {"tp", SG_FLAG_INT, &a.tp, "tensor parallel: share every linear layer among groups of P MPI ranks (run under mpirun -n P)", 0},
        /* accepted for command-line compatibility with run_glue.py; they change nothing here */
        {"report_to", SG_FLAG_STRING, &a.ignored, "accepted and ignored (run_glue.py compatibility)", 0},
        {"logging_dir", SG_FLAG_STRING, &a.ignored, "accepted and ignored", 0},
        {"run_name", SG_FLAG_STRING, &a.ignored, "accepted and ignored", 0},
        {"overwrite_cache", SG_FLAG_BOOL, &a.ignored_bool, "accepted and ignored (nothing is cached)", 0},
        {"disable_tqdm", SG_FLAG_BOOL, &a.ignored_bool, "accepted and ignored (progress is drawn on a terminal only)", 0},
    };
    char *pos[1];
    int npos = 0, nflags = (int)(sizeof flags / sizeof flags[0]);
    int rc = sg_flags_parse("run", "--model_name_or_path M --task_name T --output_dir D [--do_train] [--do_eval] ...", flags,
                            nflags, argc, argv, pos, 0, &npos);
    if (rc) return rc > 0 ? 0 : (sg_print_error(), 2);
    if (eval_strategy_alias) a.eval_strategy = eval_strategy_alias;
    int bad = 0;
    sg_strategy es = parse_strategy(a.eval_strategy, "eval_strategy", &bad), ss = parse_strategy(a.save_strategy, "save_strategy", &bad);
#define USAGE_ERROR(...) do { sg_fail(__VA_ARGS__); sg_print_error(); return 2; } while (0)
    if (bad) return sg_print_error(), 2;
    if (!a.model) USAGE_ERROR("run: --model_name_or_path is required");
    if (!a.output_dir) USAGE_ERROR("run: --output_dir is required");
    if (!a.task && !a.train_file && !a.validation_file) USAGE_ERROR("run: give --task_name (GLUE) or --train_file/--validation_file");
    if (a.max_seq_length < 4 || a.max_seq_length > 4096) USAGE_ERROR("--max_seq_length %d out of range (4..4096)", a.max_seq_length);
    if (a.train_bs <= 0 || a.eval_bs <= 0) USAGE_ERROR("batch sizes must be positive");
    if (a.snn_eval && !a.convert_to_snn) USAGE_ERROR("--snn_eval needs --convert_to_snn");
    if (a.convert_to_snn && !a.transform_config) USAGE_ERROR("--convert_to_snn needs --transform_config (the spiking network is built from the quantized one)");
    if (!a.do_train && !a.do_eval && !a.do_predict && !a.convert_to_snn) USAGE_ERROR("run: nothing to do (give --do_train, --do_eval, --do_predict or --convert_to_snn)");
    if (a.eval_steps <= 0) a.eval_steps = a.logging_steps;
    if (a.threads > 0) omp_set_num_threads(a.threads);
    if (a.do_train && !a.resume && !a.overwrite && sg_dir_nonempty(a.output_dir))
        USAGE_ERROR("%s: output directory exists and is not empty (use --overwrite_output_dir to overwrite it, or --resume_from_checkpoint)", a.output_dir);

    /* the task: GLUE by name, or a custom one described by its files */
    const sg_glue_task *task = NULL;
    sg_glue_task custom;
    static char custom_names[SG_MAX_LABELS][SG_LABEL_NAME_MAX];
    static const char *custom_name_ptrs[SG_MAX_LABELS];
    split_data train = {0}, dev = {0}, dev_mm = {0}, test = {0};
    run_model rm;
    memset(&rm, 0, sizeof rm);
    sg_tp_group tpg;
    int tp_on = 0;
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
    }
    /* a run that fails before writing anything leaves no empty output_dir behind */
    struct stat out_st;
    int made_output_dir = stat(a.output_dir, &out_st) != 0;
    if (sg_mkdirs(a.output_dir)) return sg_print_error(), 1;
    if (setup_model(&a, task, &rm)) goto fail;
    if (a.tp > 0) { /* tensor parallel: after loading, keep this rank's rows of every linear weight */
        if (sg_tp_init(a.tp, &tpg)) goto fail;
        tp_on = 1;
        if (sg_tp_model_attach(&rm.model, &tpg, NULL)) goto fail;
        if (tpg.rank != 0) { /* one writer per group: the others write into a private scratch directory, quietly */
            if (!mkdtemp(tp_scratch)) {
                sg_fail("tensor parallel: cannot create a scratch directory in /tmp");
                goto fail;
            }
            a.output_dir = tp_scratch;
            if (!freopen("/dev/null", "w", stdout)) {
                sg_fail("tensor parallel: cannot silence stdout");
                goto fail;
            }
        }
        printf("tensor parallel: group %d of %d, %d ranks on a 1 x %d BLACS grid\n", tpg.group, tpg.groups, tpg.size, tpg.size);
    }
    printf("model: %s%s, %d layers x %d, %s; task %s; tokenizer %s; %d threads; BLAS OpenBLAS %s%s\n", a.model,
           rm.quantized ? " (quantized)" : "", rm.model.cfg.layers, rm.model.cfg.hidden,
           rm.model.cfg.act == SG_ACT_RELU ? "relu" : "gelu", task->name, rm.tokenizer_dir[0] ? rm.tokenizer_dir : "built-in bytes",
           omp_get_max_threads(), sg_blas_corename(), sg_blas_core_note());

    if (a.do_train || a.calibrate_batches > 0) {
        if (load_split(&a, task, SG_SPLIT_TRAIN, a.train_file, NULL, a.max_train_samples, &rm, &train)) goto fail;
    }
    const sg_glue_data *space = train.loaded ? &train.raw : NULL;
    if (a.do_eval || a.snn_eval || (a.do_train && es != SG_STRATEGY_NO)) {
        if (load_split(&a, task, SG_SPLIT_DEV, a.validation_file, space, a.max_eval_samples, &rm, &dev)) goto fail;
        if (task->split_files[SG_SPLIT_DEV_MISMATCHED] && !a.validation_file &&
            load_split(&a, task, SG_SPLIT_DEV_MISMATCHED, NULL, NULL, a.max_eval_samples, &rm, &dev_mm))
            goto fail;
    }
    if (a.do_predict && load_split(&a, task, SG_SPLIT_TEST, a.test_file, space, a.max_predict_samples, &rm, &test)) goto fail;

    if (a.calibrate_batches > 0 && rm.quantized) {
        if (sg_calibrate_steps(&rm.model, &train.enc, a.calibrate_batches, a.train_bs, a.pad_to_max)) goto fail;
        printf("calibrated %s quantizer steps on %d training batches\n", "every", a.calibrate_batches);
        for (int i = 0; i <= rm.model.cfg.layers * Q_PER_LAYER; i++) /* calibrated steps are not re-initialised */
            if (rm.model.quant[i].s) rm.model.quant[i].init_calls = SG_LSQ_INIT_CALLS;
    }

    cJSON *all = cJSON_CreateObject();
    double trained_epoch = 0.0;
    eval_ctx ec = {&a, task, &rm, &dev, &dev_mm};
    if (a.do_train) {
        sg_train_config tc = {0};
        tc.learning_rate = a.lr;
        tc.weight_decay = a.weight_decay;
        tc.warmup_ratio = a.warmup_ratio;
        tc.num_train_epochs = a.epochs;
        tc.max_grad_norm = a.max_grad_norm;
        tc.warmup_steps = a.warmup_steps;
        tc.max_steps = a.max_steps;
        tc.batch_size = a.train_bs;
        tc.logging_steps = a.logging_steps;
        tc.eval_steps = a.eval_steps;
        tc.save_steps = a.save_steps;
        tc.save_total_limit = a.save_total_limit;
        tc.seed = a.seed;
        tc.pad_to_max = a.pad_to_max;
        tc.eval_strategy = es;
        tc.save_strategy = ss;
        tc.output_dir = a.output_dir;
        tc.resume_from = a.resume;
        tc.greater_is_better = -1;
        sg_trainer t;
        if (sg_trainer_init(&t, &tc, &rm.model, &train.enc)) goto fail_all;
        t.eval = es != SG_STRATEGY_NO ? eval_callback : NULL;
        t.save_extra = trainer_save_extra;
        t.ctx = &ec;
        sg_trainer_install_signals();
        printf("training: %d examples, %d epochs, %d steps (%d per epoch), batch %d, lr %g, warmup %d steps\n", train.enc.n,
               t.epochs, t.total_steps, t.steps_per_epoch, a.train_bs, a.lr, t.opt.warmup_steps);
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
        sg_trainer_results(&t, tr);
        cJSON *final_entry = cJSON_Duplicate(tr, 1);
        cJSON_AddNumberToObject(final_entry, "step", t.global_step);
        cJSON_AddItemToArray(t.log_history, final_entry);
        char state_path[4200];
        snprintf(state_path, sizeof state_path, "%s/trainer_state.json", a.output_dir);
        if (sg_checkpoint_save(&rm.model, a.output_dir) || copy_tokenizer(&rm, a.output_dir) ||
            sg_trainer_write_state(&t, state_path) || sg_results_write(a.output_dir, "train_results.json", tr)) {
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
        if (tp_on) { /* the spiking simulation is not distributed: gather the model, simulate on rank 0 */
            if (sg_tp_model_detach(&rm.model)) goto fail_all;
            printf("tensor parallel: the spiking simulation is not distributed; running it at tp=1 on group rank 0\n");
        }
        const char *base = a.weights_path ? a.weights_path : a.output_dir;
        if ((!tp_on || tpg.rank == 0) &&
            sg_run_snn(&rm.model, rm.unfold_level, base, a.snn_eval ? &dev.enc : NULL, task->metrics, a.eval_bs,
                       a.snn_max_steps, a.output_dir, all))
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
    if (tp_on) { /* after free_model: the model refers to the group */
        if (a.output_dir == tp_scratch) sg_remove_tree(tp_scratch);
        sg_tp_free(&tpg);
    }
    return status;
}
