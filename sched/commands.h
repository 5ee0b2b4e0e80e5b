/* The sweep's subcommands of the spikeglue binary (src/main.c dispatches to these). */
#ifndef SG_SCHED_COMMANDS_H
#define SG_SCHED_COMMANDS_H

int sg_cmd_sweep(int argc, char **argv);
int sg_cmd_report(int argc, char **argv);
int sg_cmd_submit(int argc, char **argv);
int sg_cmd_status(int argc, char **argv);
int sg_cmd_merge(int argc, char **argv);

#endif
