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
    opt->label_noise = 0.07;
}

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static double uniform(sg_rng *r) { return (double)(sg_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }
static int below(sg_rng *r, int n) { return (int)sg_rng_below(r, (uint64_t)n); }
static const char *pick(sg_rng *r, const char *const *list, int n) { return list[below(r, n)]; }

/* ---- sentiment (SST-2 layout) ---- */

static const char *const k_nouns[] = {"movie", "film", "plot", "cast", "script", "acting",
                                      "ending", "story", "music", "dialogue", "pacing", "humor"};
static const char *const k_pos_adj[] = {"good", "great", "fine", "lovely", "superb", "clever",
                                        "charming", "moving", "funny", "fresh", "smart", "warm"};
static const char *const k_neg_adj[] = {"bad", "dull", "awful", "boring", "weak", "poor",
                                        "clumsy", "bland", "tedious", "messy", "flat", "stale"};
static const char *const k_intens[] = {"", "", "very ", "really ", "quite ", "so "};
static const char *const k_attr_intens[] = {"", "", "very ", "really ", "truly "}; /* before a noun */
static const char *const k_pos_verb[][2] = {{"loved", "love"}, {"enjoyed", "enjoy"}, {"liked", "like"}, {"adored", "adore"}};
static const char *const k_neg_verb[][2] = {{"hated", "hate"}, {"disliked", "dislike"}, {"loathed", "loathe"}, {"resented", "resent"}};

static const char *adjective(sg_rng *r, int positive) {
    return positive ? pick(r, k_pos_adj, COUNT(k_pos_adj)) : pick(r, k_neg_adj, COUNT(k_neg_adj));
}

/* One sentence and its rule label (1 = positive). Negations flip; "X but Y" follows Y. */
static int sentiment_sentence(sg_rng *r, char *s, size_t cap) {
    int pol = below(r, 2), neg = below(r, 3) == 0;
    const char *noun = pick(r, k_nouns, COUNT(k_nouns));
    switch (below(r, 4)) {
    case 0:
        snprintf(s, cap, "the %s was %s%s%s", noun, neg ? "not " : "", pick(r, k_intens, COUNT(k_intens)),
                 adjective(r, pol));
        return pol ^ neg;
    case 1: {
        static const char *const subjects[] = {"i", "we", "everyone", "my friends", "nobody"};
        int who = below(r, COUNT(subjects));
        int v = below(r, 4);
        const char *const *verb = pol ? k_pos_verb[v] : k_neg_verb[v];
        if (who == COUNT(subjects) - 1) { /* "nobody" negates */
            snprintf(s, cap, "nobody %s the %s", verb[0], noun);
            return !pol;
        }
        if (neg) snprintf(s, cap, "%s did not %s the %s", subjects[who], verb[1], noun);
        else snprintf(s, cap, "%s %s the %s", subjects[who], verb[0], noun);
        return pol ^ neg;
    }
    case 2: {
        int pol1 = below(r, 2), neg1 = below(r, 4) == 0;
        snprintf(s, cap, "the %s was %s%s but the %s was %s%s", noun, neg1 ? "not " : "", adjective(r, pol1),
                 pick(r, k_nouns, COUNT(k_nouns)), neg ? "not " : "", adjective(r, pol));
        return pol ^ neg;
    }
    default: {
        static const char *const negators[] = {"", "", "not ", "hardly "};
        int ng = below(r, COUNT(negators));
        const char *in = pick(r, k_attr_intens, COUNT(k_attr_intens)), *adj = adjective(r, pol);
        const char *next = *in ? in : adj;
        int vowel = strchr("aeiou", next[0]) != NULL;
        snprintf(s, cap, "%sa%s %s%s %s", negators[ng], vowel ? "n" : "", in, adj, noun);
        return pol ^ (ng >= 2);
    }
    }
}

/* ---- shared event sentences (paraphrase and similarity) ---- */

/* Slot values; '|' separates synonyms that keep the meaning. */
static const char *const k_subjects[] = {"the doctor|the physician", "the teacher|the instructor", "the chef|the cook",
                                         "my sister", "the mayor", "the pilot", "our coach|our trainer",
                                         "the student|the pupil", "his uncle", "the farmer"};
static const char *const k_verbs[] = {"bought|purchased", "sold", "fixed|repaired", "found|discovered",
                                      "painted", "built|constructed", "visited", "cleaned|washed",
                                      "lost|misplaced", "rented|leased", "checked|inspected"};
static const char *const k_objects[] = {"the car|the automobile", "the big house|the large house", "the old boat",
                                        "the small shop|the little shop", "the new bike|the new bicycle",
                                        "the red truck", "the garden", "the office", "the piano", "the bridge"};
static const char *const k_times[] = {"on monday", "on friday", "last week|the previous week", "in may",
                                      "yesterday", "at noon|at midday", "in the morning", "last year|the previous year",
                                      "on sunday", "today"};

enum { SLOT_SUBJECT, SLOT_VERB, SLOT_OBJECT, SLOT_TIME, SLOTS };
static const char *const *const k_slot_lists[SLOTS] = {k_subjects, k_verbs, k_objects, k_times};
static const int k_slot_counts[SLOTS] = {COUNT(k_subjects), COUNT(k_verbs), COUNT(k_objects), COUNT(k_times)};

typedef struct {
    int group[SLOTS];
} event;

static int synonym_count(const char *group) {
    int n = 1;
    for (const char *p = group; *p; p++) n += *p == '|';
    return n;
}

/* Copy synonym `which` of a '|'-separated group. */
static void synonym(const char *group, int which, char *out, size_t cap) {
    while (which-- > 0) group = strchr(group, '|') + 1;
    size_t len = strcspn(group, "|");
    if (len >= cap) len = cap - 1;
    memcpy(out, group, len);
    out[len] = '\0';
}

static event random_event(sg_rng *r) {
    event e;
    for (int k = 0; k < SLOTS; k++) e.group[k] = below(r, k_slot_counts[k]);
    return e;
}

/* Render an event with random synonyms and one of three word orders (active, time first, passive). */
static void render_event(sg_rng *r, const event *e, char *s, size_t cap) {
    char w[SLOTS][40];
    for (int k = 0; k < SLOTS; k++) {
        const char *g = k_slot_lists[k][e->group[k]];
        synonym(g, below(r, synonym_count(g)), w[k], sizeof w[k]);
    }
    switch (below(r, 3)) {
    case 0: snprintf(s, cap, "%s %s %s %s", w[0], w[1], w[2], w[3]); break;
    case 1: snprintf(s, cap, "%s %s %s %s", w[3], w[0], w[1], w[2]); break;
    default: snprintf(s, cap, "%s was %s by %s %s", w[2], w[1], w[0], w[3]); break;
    }
}

static void render_short(sg_rng *r, const event *e, char *s, size_t cap) {
    do render_event(r, e, s, cap);
    while (strlen(s) > SG_SYNTH_MAX_CHARS);
}

/* ---- paraphrase (MRPC layout) ---- */

/* A pair and its rule label (1 = paraphrase): the same event reworded, or an event differing in
 * one slot (hard negative) or in everything (easy negative). */
static int paraphrase_pair(sg_rng *r, char *s1, char *s2, size_t cap) {
    event a = random_event(r), b = a;
    int positive = uniform(r) < 0.55;
    if (!positive) {
        if (uniform(r) < 0.6) {
            int k = below(r, SLOTS);
            b.group[k] = (a.group[k] + 1 + below(r, k_slot_counts[k] - 1)) % k_slot_counts[k];
        } else {
            int same;
            do {
                b = random_event(r);
                same = 0;
                for (int k = 0; k < SLOTS; k++) same += a.group[k] == b.group[k];
            } while (same > 1);
        }
    }
    render_short(r, &a, s1, cap);
    do render_short(r, &b, s2, cap);
    while (strcmp(s1, s2) == 0);
    return positive;
}

/* ---- similarity (STS-B layout) ---- */

static const double k_slot_weight[SLOTS] = {1.5, 1.0, 1.5, 1.0}; /* sums to 5 */

/* A pair and its score: weighted share of slots both sentences express (synonyms count as the
 * same word), plus noise (Irwin-Hall, sd ~0.29), clipped to [0, 5]. */
static double similarity_pair(sg_rng *r, char *s1, char *s2, size_t cap) {
    event a = random_event(r), b = a;
    int keep = below(r, SLOTS + 1);
    int kept[SLOTS] = {0};
    for (int placed = 0; placed < keep;) {
        int k = below(r, SLOTS);
        if (!kept[k]) kept[k] = 1, placed++;
    }
    double score = 0;
    for (int k = 0; k < SLOTS; k++) {
        if (kept[k]) score += k_slot_weight[k];
        else b.group[k] = (a.group[k] + 1 + below(r, k_slot_counts[k] - 1)) % k_slot_counts[k];
    }
    double noise = uniform(r) + uniform(r) + uniform(r) + uniform(r) - 2.0;
    score += 0.5 * noise;
    render_short(r, &a, s1, cap);
    render_short(r, &b, s2, cap);
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
    int noise = (int)(opt->label_noise * 100.0 + 0.5);
    fprintf(f,
            "# Synthetic tasks in GLUE layouts (NOT GLUE data)\n\n"
            "Written by `spikeglue synth --seed %llu`. Every sentence here is synthetic: built by templates\n"
            "from small word lists, with no content from GLUE or any other corpus. The data exists to\n"
            "smoke-test the pipeline with a tiny byte-level model (each byte is a token, so every\n"
            "sentence is at most %d bytes); scores on it say nothing about GLUE performance.\n\n"
            "Seed %llu. The same seed and sizes give byte-identical files (splitmix64 draws, integer\n"
            "choices and plain double arithmetic only; one random stream per task and split).\n\n"
            "| folder | layout | train | dev | label |\n"
            "|---|---|---|---|---|\n"
            "| SST-2 | header `sentence label` | %d | %d | 0 negative, 1 positive |\n"
            "| MRPC | header `Quality #1 ID #2 ID #1 String #2 String`, no BOM | %d | %d | 1 paraphrase |\n"
            "| STS-B | the 10-column STS-B header | %d | %d | score in [0, 5] |\n\n"
            "How each task is generated:\n\n"
            "- **SST-2 (sentiment)**: templates over 12 nouns, 12 positive and 12 negative adjectives and\n"
            "  verbs: `the plot was (not) (very) dull`, `i (did not) like the film`, `nobody enjoyed the\n"
            "  cast`, `hardly a clever script`, and contrasts `the X was A but the Y was B` whose label\n"
            "  follows the clause after \"but\". Negations (`not`, `did not`, `nobody`, `hardly`) flip the\n"
            "  polarity. Then %d%% of the labels are flipped at random (label noise).\n"
            "- **MRPC (paraphrase)**: an event (subject, verb, object, time) from small slot lists,\n"
            "  rendered with random synonyms (bought/purchased, car/automobile, ...) in one of three word\n"
            "  orders (active, time first, passive). 55%% of pairs render the same event twice (label 1);\n"
            "  the rest pair it with an event that differs in exactly one slot (60%%, hard negatives) or\n"
            "  in at least three slots (label 0). Then %d%% of the labels are flipped at random.\n"
            "- **STS-B (similarity)**: the second sentence keeps 0-4 of the first one's slots (synonyms\n"
            "  and word order may still change) and replaces the others. Score = weighted share of kept\n"
            "  slots (subject 1.5, verb 1, object 1.5, time 1; sum 5) plus noise (sum of four uniforms,\n"
            "  sd about 0.29), clipped to [0, 5] and written with 3 decimals.\n\n"
            "Train and dev rows come from the same generator with different random streams; with such small\n"
            "vocabularies some sentences occur in both.\n",
            (unsigned long long)opt->seed, SG_SYNTH_MAX_CHARS, (unsigned long long)opt->seed, opt->train_rows,
            opt->dev_rows, opt->train_rows, opt->dev_rows, opt->train_rows, opt->dev_rows, noise, noise);
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
