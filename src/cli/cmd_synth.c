/* spikeglue synth --out DIR [--seed N]: write the synthetic GLUE-layout tasks of src/data/synth.h
 * (DIR/SST-2, DIR/MRPC, DIR/STS-B and DIR/README.md). Exit code 0, 2 for bad flags, 1 on failure. */
#include "cli/commands.h"
#include "core/flags.h"
#include "core/error.h"
#include "data/synth.h"

#include <stdio.h>

int sg_cmd_synth(int argc, char **argv) {
    sg_synth_options opt;
    sg_synth_defaults(&opt);
    const char *out = NULL;
    int seed = (int)opt.seed, train = opt.train_rows, dev = opt.dev_rows;
    double noise = opt.label_noise;
    sg_flag flags[] = {
        {"out", SG_FLAG_STRING, &out, "output directory (created if missing; files are overwritten)", 0},
        {"seed", SG_FLAG_INT, &seed, "random seed; the same seed gives byte-identical files", 0},
        {"train_rows", SG_FLAG_INT, &train, "train rows per task", 0},
        {"dev_rows", SG_FLAG_INT, &dev, "dev rows per task", 0},
        {"label_noise", SG_FLAG_FLOAT, &noise, "fraction of classification labels flipped at random", 0},
    };
    char *pos[1];
    int npos = 0;
    int rc = sg_flags_parse("synth", "--out DIR [--seed N]", flags, (int)(sizeof flags / sizeof flags[0]), argc, argv,
                            pos, 0, &npos);
    if (rc) return rc > 0 ? 0 : (sg_print_error(), 2);
    if (!out || !*out) return sg_fail("synth: --out DIR is required"), sg_print_error(), 2;
    if (seed < 0) return sg_fail("synth: --seed must be non-negative, not %d", seed), sg_print_error(), 2;
    if (train < 1 || dev < 1) return sg_fail("synth: --train_rows and --dev_rows must be positive"), sg_print_error(), 2;
    opt.seed = (uint64_t)seed;
    opt.train_rows = train;
    opt.dev_rows = dev;
    opt.label_noise = noise;
    if (sg_synth_write(out, &opt) != 0) return sg_print_error(), 1;
    printf("wrote synthetic SST-2, MRPC and STS-B (%d train / %d dev rows each, seed %d) to %s\n", train, dev, seed, out);
    return 0;
}
