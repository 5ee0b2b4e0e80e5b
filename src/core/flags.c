#include "core/flags.h"

#include "core/error.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63) return 99;
    int d[64][64];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

static void describe_default(const sg_flag *f, char *out, size_t n) {
    switch (f->kind) {
    case SG_FLAG_BOOL: snprintf(out, n, "%s", *(int *)f->dest < 0 ? "unset" : *(int *)f->dest ? "on" : "off"); break;
    case SG_FLAG_INT: snprintf(out, n, "%d", *(int *)f->dest); break;
    case SG_FLAG_FLOAT: snprintf(out, n, "%g", *(double *)f->dest); break;
    case SG_FLAG_STRING: snprintf(out, n, "%s", *(const char **)f->dest ? *(const char **)f->dest : "none"); break;
    }
}

void sg_flags_print_help(const char *command, const char *usage, const sg_flag *flags, int nflags) {
    printf("usage: spikeglue %s %s\n\nflags (--flag value or --flag=value):\n", command, usage);
    for (int i = 0; i < nflags; i++) {
        char def[256];
        char name[64];
        describe_default(&flags[i], def, sizeof def);
        snprintf(name, sizeof name, "%s", flags[i].name);
        for (char *c = name; *c; c++) /* argparse prints the names as declared; ours are declared with '_' */
            if (*c == '-') *c = '_';
        printf("  --%-30s %s (default: %s)\n", name, flags[i].help, def);
    }
}

static int set_value(sg_flag *f, const char *v) {
    char *end = NULL;
    errno = 0;
    switch (f->kind) {
    case SG_FLAG_BOOL:
        if (!v || !strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "1") || !strcmp(v, "yes")) *(int *)f->dest = 1;
        else if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "0") || !strcmp(v, "no")) *(int *)f->dest = 0;
        else return sg_fail("--%s: expected true or false, not '%s'", f->name, v);
        break;
    case SG_FLAG_INT: {
        long x = strtol(v, &end, 10);
        if (errno || !end || *end || end == v || x < -2147483647L || x > 2147483647L)
            return sg_fail("--%s: expected an integer, not '%s'", f->name, v);
        *(int *)f->dest = (int)x;
        break;
    }
    case SG_FLAG_FLOAT: {
        double x = strtod(v, &end);
        if (errno || !end || *end || end == v || !isfinite(x)) return sg_fail("--%s: expected a number, not '%s'", f->name, v);
        *(double *)f->dest = x;
        break;
    }
    case SG_FLAG_STRING: *(const char **)f->dest = v; break;
    }
    f->seen = 1;
    return 0;
}

/* '-' and '_' are the same character in a flag name (--num-labels is --num_labels). */
static int same_char(char a, char b) { return a == b || ((a == '-' || a == '_') && (b == '-' || b == '_')); }

/* 1 when the first len characters of `given` are `name` (whole: exact) or start it (prefix). */
static int name_matches(const char *name, const char *given, size_t len, int exact) {
    size_t n = strlen(name);
    if (exact ? n != len : n < len) return 0;
    for (size_t i = 0; i < len; i++)
        if (!same_char(name[i], given[i])) return 0;
    return 1;
}

/* argparse's allow_abbrev: the exact name, else the one flag the given text is a prefix of; a
 * prefix of several is an error listing them. *out stays NULL when nothing matches. */
static int find_flag(const char *command, sg_flag *flags, int nflags, const char *given, size_t len, sg_flag **out) {
    *out = NULL;
    for (int k = 0; k < nflags; k++)
        if (name_matches(flags[k].name, given, len, 1)) return (*out = &flags[k]), 0;
    if (len == 0) return 0;
    int matches = 0;
    char list[512] = "";
    size_t used = 0;
    for (int k = 0; k < nflags; k++) {
        if (!name_matches(flags[k].name, given, len, 0)) continue;
        if (matches++ == 0) *out = &flags[k];
        if (used < sizeof list - 1) {
            int w = snprintf(list + used, sizeof list - used, "%s--%s", used ? ", " : "", flags[k].name);
            used = w > 0 ? used + (size_t)w : used;
            if (used > sizeof list - 1) used = sizeof list - 1;
        }
    }
    if (matches > 1) {
        *out = NULL;
        return sg_fail("%s: ambiguous flag --%.*s could match %s", command, (int)(len < 63 ? len : 63), given, list);
    }
    return 0;
}

int sg_flags_parse(const char *command, const char *usage, sg_flag *flags, int nflags, int argc, char **argv,
                   char **pos, int max_pos, int *npos) {
    *npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            sg_flags_print_help(command, usage, flags, nflags);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (*npos >= max_pos) return sg_fail("%s: unexpected argument '%s'", command, arg);
            pos[(*npos)++] = argv[i];
            continue;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        sg_flag *f = NULL;
        if (find_flag(command, flags, nflags, name, len, &f)) return -1;
        if (!f) {
            char key[64];
            snprintf(key, sizeof key, "%.*s", (int)(len < 63 ? len : 63), name);
            char plain[64]; /* the typo measured with '_' for '-', as the names are declared */
            snprintf(plain, sizeof plain, "%s", key);
            for (char *c = plain; *c; c++)
                if (*c == '-') *c = '_';
            int best = -1, best_d = 99;
            for (int k = 0; k < nflags; k++) {
                int d = edit_distance(plain, flags[k].name);
                if (d < best_d) best_d = d, best = k;
            }
            if (best >= 0 && best_d <= 3 + (int)len / 6)
                return sg_fail("%s: unknown flag --%s (did you mean --%s?)", command, key, flags[best].name);
            return sg_fail("%s: unknown flag --%s (see spikeglue %s --help)", command, key, command);
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value && f->kind != SG_FLAG_BOOL) {
            if (i + 1 >= argc) return sg_fail("%s: --%s needs a value", command, f->name);
            value = argv[++i];
        }
        if (!value && f->kind == SG_FLAG_BOOL && i + 1 < argc &&
            (!strcmp(argv[i + 1], "true") || !strcmp(argv[i + 1], "false") || !strcmp(argv[i + 1], "True") || !strcmp(argv[i + 1], "False")))
            value = argv[++i]; /* HF style: --do_train True */
        if (set_value(f, value)) return -1;
    }
    return 0;
}
