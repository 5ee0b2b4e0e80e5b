/* Command-line flags for every subcommand: `--name value` and `--name=value`, typed, with
 * defaults shown by --help and the closest known flag suggested for a typo. As Python's argparse
 * (allow_abbrev): an unambiguous prefix selects a flag (an exact name wins; an ambiguous prefix is
 * an error listing the candidates); '-' and '_' are interchangeable in names; --help prints '_'. */
#ifndef SG_FLAGS_H
#define SG_FLAGS_H

typedef enum { SG_FLAG_BOOL, SG_FLAG_INT, SG_FLAG_FLOAT, SG_FLAG_STRING } sg_flag_kind;

typedef struct {
    const char *name; /* without the leading dashes */
    sg_flag_kind kind;
    void *dest;       /* int*, int*, double*, const char** */
    const char *help;
    int seen;         /* set by the parser */
} sg_flag;

/* Parses argv[1..]; positional arguments are collected into pos (up to max_pos).
 * Returns 0, 1 when --help was printed, or -1 with a one-line error. */
int sg_flags_parse(const char *command, const char *usage, sg_flag *flags, int nflags, int argc, char **argv,
                   char **pos, int max_pos, int *npos);
void sg_flags_print_help(const char *command, const char *usage, const sg_flag *flags, int nflags);

#endif
