/* The subcommands of the spikeglue binary; main.c dispatches to these. */
#ifndef SG_COMMANDS_H
#define SG_COMMANDS_H

int sg_cmd_init_model(int argc, char **argv);
int sg_cmd_model_info(int argc, char **argv);
int sg_cmd_fetch(int argc, char **argv);
int sg_cmd_synth(int argc, char **argv);
int sg_cmd_tokenize(int argc, char **argv);
int sg_cmd_run(int argc, char **argv);
int sg_cmd_sweep(int argc, char **argv);
int sg_cmd_report(int argc, char **argv);
int sg_cmd_submit(int argc, char **argv);
int sg_cmd_status(int argc, char **argv);
int sg_cmd_merge(int argc, char **argv);

#endif
