/* Synthetic tasks in GLUE layouts. Sentences come from small word lists and templates; every
 * choice is drawn from sg_rng (splitmix64) with integer draws and plain double arithmetic only,
 * so the files are byte-identical for a given seed on any machine. Each (task, split) has its
 * own stream, so changing one task's size does not change another task's rows. */
#include "data/synth.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/rng.h"

void sg_synth_defaults(sg_synth_options *opt) {
    opt->seed = 1234;
    opt->train_rows = 4000;
    opt->dev_rows = 500;
    opt->label_noise = 0.05;
}

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static double uniform(sg_rng *r) { return (double)(sg_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }
static int below(sg_rng *r, int n) { return (int)sg_rng_below(r, (uint64_t)n); }
static const char *pick(sg_rng *r, const char *const *list, int n) { return list[below(r, n)]; }

/* ---- sentiment (SST-2 layout) ----
 * A byte-level model from scratch learns whole-word cues, not composition: one sentiment word
 * per sentence decides the label; a rare negation ("was not") flips it (the hard cases). */

static const char *const k_nouns[] = {"movie", "film", "plot", "cast", "script", "acting", "ending", "story", "music", "humor"};
static const char *const k_pos_adj[] = {"great", "superb", "lovely", "brilliant", "wonderful", "delightful"};
static const char *const k_neg_adj[] = {"awful", "boring", "dull", "terrible", "stupid", "lousy"};
static const char *const k_intens[] = {"very ", "really "};
#define SENTIMENT_INTENSIFIER 0.25 /* share of sentences with an intensifier */
#define SENTIMENT_NEGATION 0.05    /* share of negated sentences */

/* One sentence and its rule label (1 = positive). */
static int sentiment_sentence(sg_rng *r, char *s, size_t cap) {
    int pol = below(r, 2);
    const char *noun = pick(r, k_nouns, COUNT(k_nouns));
    const char *adj = pol ? pick(r, k_pos_adj, COUNT(k_pos_adj)) : pick(r, k_neg_adj, COUNT(k_neg_adj));
    const char *in = uniform(r) < SENTIMENT_INTENSIFIER ? pick(r, k_intens, COUNT(k_intens)) : "";
    if (uniform(r) < SENTIMENT_NEGATION) {
        snprintf(s, cap, "the %s was not %s%s", noun, in, adj);
        return !pol;
    }
    const char *first = *in ? in : adj; /* "a" or "an" before it */
    switch (below(r, 3)) {
    case 0: snprintf(s, cap, "the %s was %s%s", noun, in, adj); break;
    case 1: snprintf(s, cap, "a%s %s%s %s", strchr("aeiou", first[0]) ? "n" : "", in, adj, noun); break;
    default: snprintf(s, cap, "%s%s %s", in, adj, noun); break;
    }
    return pol;
}

/* ---- events (paraphrase and similarity) ----
 * An event is (subject, verb, object), rendered active ("the chef baked the pie") or passive
 * ("the pie was baked by the chef"). A slot of the second sentence either keeps the first's
 * word, takes another word of the same list (a hard change: only a comparison of the two
 * sentences shows it), or an "odd" word from a separate list whose letters (z, x, j, q, y) are
 * rare in the main lists (an easy change: a bag of bytes shows it). */

typedef struct {
    const char *past, *participle;
} verb_forms;

static const char *const k_subjects[] = {"chef", "cook", "aunt", "coach", "pilot", "farmer", "nurse", "baker", "uncle", "clerk"};
static const verb_forms k_verbs[] = {{"cooked", "cooked"}, {"baked", "baked"}, {"kicked", "kicked"}, {"threw", "thrown"},
                                     {"sold", "sold"},     {"fed", "fed"},     {"washed", "washed"}, {"painted", "painted"},
                                     {"found", "found"},   {"lost", "lost"}};
static const char *const k_objects[] = {"soup", "bread", "pie", "ball", "cow", "horse", "boat", "car", "fence", "kite"};
static const char *const k_odd_subjects[] = {"wizard", "zombie", "robot", "ninja", "pirate"};
static const verb_forms k_odd_verbs[] = {{"zapped", "zapped"}, {"hexed", "hexed"}, {"jinxed", "jinxed"}, {"vexed", "vexed"}, {"buzzed", "buzzed"}};
static const char *const k_odd_objects[] = {"zebra", "quiz", "jazz", "yak", "oyster"};

enum { SLOT_SUBJECT, SLOT_VERB, SLOT_OBJECT, SLOTS };
static const int k_main_counts[SLOTS] = {COUNT(k_subjects), COUNT(k_verbs), COUNT(k_objects)};
static const int k_odd_counts[SLOTS] = {COUNT(k_odd_subjects), COUNT(k_odd_verbs), COUNT(k_odd_objects)};

/* word[k] indexes the main list of slot k, or the odd list when odd[k] is set */
typedef struct {
    int word[SLOTS], odd[SLOTS];
} event;

typedef enum { KEEP, SAME_LIST, ODD_WORD } slot_change;

static event random_event(sg_rng *r) {
    event e = {{0}, {0}};
    for (int k = 0; k < SLOTS; k++) e.word[k] = below(r, k_main_counts[k]);
    return e;
}

static void change_slot(sg_rng *r, event *e, int k, slot_change how) {
    if (how == SAME_LIST) e->word[k] = (e->word[k] + 1 + below(r, k_main_counts[k] - 1)) % k_main_counts[k];
    if (how == ODD_WORD) e->word[k] = below(r, k_odd_counts[k]), e->odd[k] = 1;
}

static void render_event(sg_rng *r, const event *e, char *s, size_t cap) {
    const char *subject = e->odd[0] ? k_odd_subjects[e->word[0]] : k_subjects[e->word[0]];
    const verb_forms *verb = e->odd[1] ? &k_odd_verbs[e->word[1]] : &k_verbs[e->word[1]];
    const char *object = e->odd[2] ? k_odd_objects[e->word[2]] : k_objects[e->word[2]];
    if (below(r, 2)) snprintf(s, cap, "the %s %s the %s", subject, verb->past, object);
    else snprintf(s, cap, "the %s was %s by the %s", object, verb->participle, subject);
}

/* Both sentences, voices redrawn until the pair fits SG_SYNTH_MAX_PAIR_CHARS (two active
 * sentences always fit). */
static void render_pair(sg_rng *r, const event *a, const event *b, char *s1, char *s2, size_t cap) {
    do {
        render_event(r, a, s1, cap);
        render_event(r, b, s2, cap);
    } while (strlen(s1) + strlen(s2) > SG_SYNTH_MAX_PAIR_CHARS);
}

/* ---- paraphrase (MRPC layout) ---- */

#define PARAPHRASE_POSITIVE 0.5
#define PARAPHRASE_HARD 0.25 /* share of negatives that differ by one same-list word */

/* A pair and its rule label (1 = paraphrase): the same event (possibly in another voice), or
 * one with a same-list word changed (hard negative) or with one or two odd words (easy one). */
static int paraphrase_pair(sg_rng *r, char *s1, char *s2, size_t cap) {
    event a = random_event(r), b = a;
    int positive = uniform(r) < PARAPHRASE_POSITIVE;
    if (!positive) {
        if (uniform(r) < PARAPHRASE_HARD) {
            change_slot(r, &b, below(r, SLOTS), SAME_LIST);
        } else {
            int first = below(r, SLOTS);
            change_slot(r, &b, first, ODD_WORD);
            if (below(r, 2)) change_slot(r, &b, (first + 1 + below(r, SLOTS - 1)) % SLOTS, ODD_WORD);
        }
    }
    render_pair(r, &a, &b, s1, s2, cap);
    return positive;
}

/* ---- similarity (STS-B layout) ---- */

static const double k_slot_weight[SLOTS] = {1.5, 1.5, 2.0}; /* sums to 5 */
#define SIMILARITY_ODD 0.35       /* a slot takes an odd word: adds nothing */
#define SIMILARITY_SAME_LIST 0.15 /* another main-list word: a third of the slot's weight */

/* A pair and its score: the kept share of the first sentence's meaning, plus noise (Irwin-Hall,
 * sd ~0.29), clipped to [0, 5]. */
static double similarity_pair(sg_rng *r, char *s1, char *s2, size_t cap) {
    event a = random_event(r), b = a;
    double score = 0;
    for (int k = 0; k < SLOTS; k++) {
        double u = uniform(r);
        if (u < SIMILARITY_ODD) {
            change_slot(r, &b, k, ODD_WORD);
        } else if (u < SIMILARITY_ODD + SIMILARITY_SAME_LIST) {
            change_slot(r, &b, k, SAME_LIST);
            score += k_slot_weight[k] / 3.0;
        } else {
            score += k_slot_weight[k];
        }
    }
    double noise = uniform(r) + uniform(r) + uniform(r) + uniform(r) - 2.0;
    score += 0.5 * noise;
    render_pair(r, &a, &b, s1, s2, cap);
    return score < 0 ? 0 : score > 5 ? 5 : score;
}

/* ---- files ---- */

static int make_dirs(const char *path) {
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) return sg_fail("%s: bad output directory", path);
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return sg_fail("%s: cannot create directory: %s", buf, strerror(errno));
        struct stat st;
        if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) return sg_fail("%s: exists and is not a directory", buf);
        buf[i] = c;
    }
    return 0;
}

typedef enum { TASK_SENTIMENT, TASK_PARAPHRASE, TASK_SIMILARITY } synth_task;

static const char *const k_folders[] = {"SST-2", "MRPC", "STS-B"};

static int write_split(const char *dir, synth_task task, int split, int rows, const sg_synth_options *opt) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s/%s", dir, k_folders[task], split ? "dev.tsv" : "train.tsv");
    FILE *f = fopen(path, "wb");
    if (!f) return sg_fail("%s: cannot write: %s", path, strerror(errno));
    sg_rng r;
    sg_rng_seed(&r, sg_hash64(opt->seed) ^ sg_hash64(0x5e17ULL + 16u * (uint64_t)task + (uint64_t)split));
    char s1[256], s2[256];
    switch (task) {
    case TASK_SENTIMENT:
        fputs("sentence\tlabel\n", f);
        for (int i = 0; i < rows; i++) {
            int label;
            do label = sentiment_sentence(&r, s1, sizeof s1);
            while (strlen(s1) > SG_SYNTH_MAX_CHARS);
            if (uniform(&r) < opt->label_noise) label = !label;
            fprintf(f, "%s\t%d\n", s1, label);
        }
        break;
    case TASK_PARAPHRASE:
        fputs("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n", f);
        for (int i = 0; i < rows; i++) {
            int label = paraphrase_pair(&r, s1, s2, sizeof s1);
            if (uniform(&r) < opt->label_noise) label = !label;
            long id = 1000000L * (split + 1) + 2L * i;
            fprintf(f, "%d\t%ld\t%ld\t%s\t%s\n", label, id, id + 1, s1, s2);
        }
        break;
    case TASK_SIMILARITY:
        fputs("index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n", f);
        for (int i = 0; i < rows; i++) {
            double score = similarity_pair(&r, s1, s2, sizeof s1);
            fprintf(f, "%d\tmain-synth\tsynth\tsynth\t%04d\tnone\tnone\t%s\t%s\t%.3f\n", i, i, s1, s2, score);
        }
        break;
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return sg_fail("%s: write failed", path);
    return 0;
}

static int write_readme(const char *dir, const sg_synth_options *opt) {
    char path[4200];
    snprintf(path, sizeof path, "%s/README.md", dir);
    FILE *f = fopen(path, "wb");
    if (!f) return sg_fail("%s: cannot write: %s", path, strerror(errno));
    double noise = opt->label_noise * 100.0;
    fprintf(f,
            "# Synthetic tasks in GLUE layouts (NOT GLUE data)\n\n"
            "Written by `spikeglue synth --seed %llu`. Every sentence here is synthetic: built by templates\n"
            "from small word lists, with no content from GLUE or any other corpus. The data exists to\n"
            "smoke-test the pipeline with a tiny byte-level model trained from scratch (each byte is a\n"
            "token; a sentence has at most %d bytes and a pair at most %d, so a pair with its four special\n"
            "tokens fits `--max_seq_length 64`). Scores on it say nothing about GLUE performance.\n\n"
            "Seed %llu. The same seed and sizes give byte-identical files (splitmix64 draws, integer\n"
            "choices and plain double arithmetic only; one random stream per task and split).\n\n"
            "| folder | layout | train | dev | label |\n"
            "|---|---|---|---|---|\n"
            "| SST-2 | header `sentence label` | %d | %d | 0 negative, 1 positive |\n"
            "| MRPC | header `Quality #1 ID #2 ID #1 String #2 String`, no BOM | %d | %d | 1 paraphrase |\n"
            "| STS-B | the 10-column STS-B header | %d | %d | score in [0, 5] |\n\n"
            "The tasks are deliberately easy for a bag of words and hard only in a few cases: a tiny\n"
            "byte-level model picks up whole-word cues within a minute, but not composition.\n\n"
            "- **SST-2 (sentiment)**: `the plot was dull`, `a lovely film`, `really stupid script`:\n"
            "  10 nouns, 6 positive and 6 negative adjectives, an intensifier (`very`, `really`) in\n"
            "  a quarter of the sentences. The adjective decides the label, except in the 5%% of\n"
            "  sentences negated as `the X was not A`, which flip it. Then %.3g%% of the labels are\n"
            "  flipped at random (label noise).\n"
            "- **Events** (MRPC and STS-B): subject, verb and object from 10-word lists (`the chef baked\n"
            "  the pie`), each sentence active or passive (`the pie was baked by the chef`) at random. A\n"
            "  changed word of the second sentence is either another word of the same list (`chef` ->\n"
            "  `nurse`: a hard change, only a word-by-word comparison shows it) or an odd word from a\n"
            "  separate 5-word list (`wizard`, `zapped`, `zebra`, `jinxed`, `quiz`, ...: an easy change,\n"
            "  their letters z, x, j, q, y are rare in the main lists, so even a bag of bytes shows it).\n"
            "- **MRPC (paraphrase)**: half the pairs are the same event (label 1; the voices may differ);\n"
            "  the others change one same-list word (a quarter of them: hard negatives) or one or two odd\n"
            "  words (label 0). Then %.3g%% of the labels are flipped at random.\n"
            "- **STS-B (similarity)**: each slot of the second sentence is kept (50%%), replaced by a\n"
            "  same-list word (15%%) or by an odd word (35%%). Score = the kept weight (subject 1.5,\n"
            "  verb 1.5, object 2; a same-list replacement keeps a third of its slot's weight) plus noise\n"
            "  (sum of four uniforms, sd about 0.29), clipped to [0, 5], written with 3 decimals.\n\n"
            "What a tiny model reaches: `spikeglue run --model_name_or_path builtin:tiny --task_name sst2\n"
            "--data_dir DIR --do_train --do_eval --num_train_epochs 3 --learning_rate 1e-3 --warmup_ratio 0.1\n"
            "--per_device_train_batch_size 32 --max_seq_length 64 --output_dir OUT` (2 layers, hidden 64,\n"
            "byte tokens, random init; 375 steps on the default 4000 rows, about a minute on 2 cores) gives\n"
            "about 0.86 accuracy on SST-2, 0.79 on MRPC and 0.70 Pearson on STS-B. The label noise alone\n"
            "caps classification accuracy near 95%%.\n\n"
            "Train and dev rows come from the same generator with different random streams; with such small\n"
            "vocabularies many sentences occur in both.\n",
            (unsigned long long)opt->seed, SG_SYNTH_MAX_CHARS, SG_SYNTH_MAX_PAIR_CHARS, (unsigned long long)opt->seed,
            opt->train_rows, opt->dev_rows, opt->train_rows, opt->dev_rows, opt->train_rows, opt->dev_rows, noise, noise);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return sg_fail("%s: write failed", path);
    return 0;
}

int sg_synth_write(const char *out_dir, const sg_synth_options *opt) {
    if (!out_dir || !*out_dir) return sg_fail("synth: no output directory given");
    if (opt->train_rows <= 0 || opt->dev_rows <= 0) return sg_fail("synth: row counts must be positive");
    if (opt->label_noise < 0 || opt->label_noise > 0.5) return sg_fail("synth: label noise must be in [0, 0.5]");
    if (strlen(out_dir) > 4000) return sg_fail("%s: output path too long", out_dir);
    for (int t = 0; t < COUNT(k_folders); t++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/%s", out_dir, k_folders[t]);
        if (make_dirs(dir) != 0) return -1;
        if (write_split(out_dir, (synth_task)t, 0, opt->train_rows, opt) != 0) return -1;
        if (write_split(out_dir, (synth_task)t, 1, opt->dev_rows, opt) != 0) return -1;
    }
    return write_readme(out_dir, opt);
}
