/* The subcommands of the spikeglue binary that live in cli/ (src/main.c dispatches to these;
 * the sweep's are in sched/commands.h). */
#ifndef SG_COMMANDS_H
#define SG_COMMANDS_H

int sg_cmd_init_model(int argc, char **argv);
int sg_cmd_model_info(int argc, char **argv);
int sg_cmd_fetch(int argc, char **argv);
int sg_cmd_synth(int argc, char **argv);
int sg_cmd_tokenize(int argc, char **argv);
int sg_cmd_run(int argc, char **argv);
int sg_cmd_pretrain(int argc, char **argv);

#endif
