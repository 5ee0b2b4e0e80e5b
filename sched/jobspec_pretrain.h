/* The job spec's pretrain: section, read by sched/jobspec.c (private to the spec reader). */
#ifndef SG_SCHED_JOBSPEC_PRETRAIN_H
#define SG_SCHED_JOBSPEC_PRETRAIN_H

#include "core/yaml_doc.h"
#include "sched/jobspec.h"

/* Read the section at `node` of d into spec->pretrain (spec's pipeline, parallel and data_dir are
 * read already). 0, or -1 with "file:line: key 'pretrain.x': ...". */
int sg_jobspec_read_pretrain(const ydoc *d, int node, sg_jobspec *spec);
void sg_jobspec_pretrain_free(sg_job_pretrain *p);

#endif
