/* The spiking part of `spikeglue run` (flow 4 of the reference workflow, plus ours): convert
 * the quantized model, save it, and simulate it on the dev split — the same metrics as the QANN,
 * the metric as a function of time step, settle steps, spikes, SOPs and energy. */
#include "cli/run_snn.h"

#include "core/error.h"
#include "data/metrics.h"
#include "parallel/shard.h"
#include "io/run_outputs.h"
#include "snn/simulate.h"
#include "snn/snn_model.h"
#include "snn/snn_stats.h"
#include "train/evaluate.h"
#include "train/progress.h"
#include "train/run_results.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Predictions of the partial logit sums after step t (1-based), for every sample. */
typedef struct {
    int n, steps;
    int *pred;    /* [steps, n] */
    float *score; /* [steps, n] */
} by_step;

/* This rank's batches of the split (every batch when not sharded): batch k (rows k*batch_size ..,
 * in file order as one process has them, so each batch settles at the same step) goes to rank
 * k mod size. Rows of other ranks' batches stay 0 in bs and are summed in afterwards. On an error
 * the rank keeps posting its progress (so the others do not hang) and reports it in *failed. */
static void simulate_share(sg_model *m, sg_snn_sim *sim, const sg_encoded *dev, int batch_size, int max_steps,
                           const sg_shard *shard, sg_shard_progress *sp, sg_batch_buffers *bb, by_step *bs, int *agree,
                           sg_progress *p, int *failed) {
    const int L = m->cfg.num_labels, regression = m->cfg.problem == SG_PROBLEM_REGRESSION;
    const int batches = (int)(((long long)dev->n + batch_size - 1) / batch_size), rounds = sp->rounds;
    *agree = 0;
    long done_here = 0;
    for (int round = 0; round < rounds; round++) {
        const int k = round * shard->size + shard->rank, start = k * batch_size;
        const sg_snn_output *o = NULL;
        if (!*failed && k < batches) {
            int count = dev->n - start < batch_size ? dev->n - start : batch_size;
            sg_batch b = sg_gather_batch(dev, NULL, start, count, 0, bb);
            if (sg_snn_simulate(sim, &b)) *failed = 1;
            else {
                o = sg_snn_sim_output(sim);
                for (int i = 0; i < count; i++)
                    for (int t = 1; t <= max_steps; t++) {
                        /* after the batch settled, the partial sums are the final ones */
                        const float *z = t <= o->steps ? o->step_logits + ((size_t)(t - 1) * o->B + i) * L : o->logits + (size_t)i * L;
                        bs->pred[(size_t)(t - 1) * bs->n + start + i] = regression ? 0 : sg_snn_argmax(z, L);
                        bs->score[(size_t)(t - 1) * bs->n + start + i] = z[0];
                    }
                /* the quantized ANN on the same rows: how often the two agree */
                sg_model_forward(m, &b, 0);
                for (int i = 0; i < count; i++) {
                    const float *z = o->logits + (size_t)i * L;
                    if (regression) *agree += fabsf(z[0] - m->acts.logits[i]) <= 1e-3f * (1.0f + fabsf(m->acts.logits[i]));
                    else *agree += sg_snn_argmax(z, L) == sg_predict_label(m, i);
                }
                done_here += count;
            }
        }
        long done = sg_shard_progress_post(sp, done_here);
        char extra[64] = "";
        if (o) snprintf(extra, sizeof extra, "%d steps", o->steps);
        sg_progress_update(p, done, o ? extra : NULL);
    }
    sg_progress_update(p, sg_shard_progress_finish(sp, done_here), NULL);
}

/* Every rank's rows, predictions by step, agreement and statistics, summed over the shard: each
 * row was simulated by one rank and is 0 on the others, so the sums are exact (integers, and
 * floats plus zeros). The statistics' counts are summed in 64-bit integers, the settle maximum
 * is a maximum. 0, or -1 when any rank failed (the same on every rank). */
static int gather_share(const sg_shard *shard, const sg_model_config *cfg, const sg_snn_stats *local, int failed,
                        by_step *bs, int *agree, sg_snn_stats *total) {
    if (sg_shard_max_int(shard, failed)) return failed ? -1 : sg_fail("the spiking simulation failed on another rank");
    if (sg_snn_stats_init(total, cfg)) return -1;
    size_t words = sg_snn_stats_words(local);
    uint64_t *w = malloc(sizeof *w * words);
    if (!w) return sg_fail("out of memory gathering the spiking statistics");
    sg_snn_stats_pack(local, w);
    sg_shard_sum_u64(shard, w, words);
    sg_snn_stats_unpack(total, w);
    free(w);
    total->steps_max = sg_shard_max_int(shard, local->steps_max);
    sg_shard_sum_ints(shard, agree, 1);
    sg_shard_sum_ints(shard, bs->pred, (size_t)bs->n * bs->steps);
    sg_shard_sum_floats(shard, bs->score, (size_t)bs->n * bs->steps);
    return 0;
}

int sg_run_snn(sg_model *m, int unfold_level, const sg_encoded *dev, unsigned metric_set, int batch_size, int max_steps,
               const sg_shard *shard, int writer, const char *output_dir, cJSON *all) {
    sg_snn_model snn;
    if (sg_snn_convert(&snn, m, unfold_level)) return -1;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/snn_model", output_dir);
    int save_rc = writer ? sg_snn_save(&snn, dir) : 0;
    /* every rank learns whether the writer saved: none may go on to the collectives alone */
    if (sg_shard_max_int(shard, save_rc != 0)) {
        if (save_rc == 0) sg_fail("saving the spiking network failed on the writing rank");
        sg_snn_model_free(&snn);
        return -1;
    }
    if (writer) printf("saved the spiking network to %s\n", dir);
    if (!dev) {
        sg_snn_model_free(&snn);
        return 0;
    }
    sg_snn_sim_options opt;
    sg_snn_sim_options_default(&opt);
    opt.max_steps = max_steps;
    sg_snn_sim *sim = NULL;
    const size_t cells = (size_t)dev->n * max_steps;
    by_step bs = {dev->n, max_steps, calloc(cells, sizeof(int)), calloc(cells, sizeof(float))};
    sg_batch_buffers bb = {0};
    sg_snn_stats stats = {0};
    sg_shard_progress sp = {0};
    const int batches = (int)(((long long)dev->n + batch_size - 1) / batch_size);
    int rc = -1, agree = 0, failed = 0;
    cJSON *res = NULL;
    /* the quantized ANN runs beside the simulation (agreement): its buffers, which no evaluation
     * may have sized yet (--snn_eval without --do_eval) */
    if (sg_model_reserve(m, batch_size, dev->T, m->acts.training)) failed = 1;
    else if (!(sim = sg_snn_sim_create(&snn, batch_size, dev->T, &opt))) failed = 1;
    else if (!bs.pred || !bs.score) failed = sg_fail("out of memory for the simulation's predictions") != 0;
    else if (sg_batch_buffers_init(&bb, batch_size, dev->T)) failed = 1;
    else if (sg_shard_progress_init(&sp, shard, sg_shard_rounds(shard, batches))) failed = 1;
    if (sg_shard_max_int(shard, failed)) {
        if (!failed) sg_fail("setting up the spiking simulation failed on another rank");
        goto done;
    }
    sg_progress p;
    sg_progress_start(&p, "snn", dev->n);
    double t0 = sg_now();
    simulate_share(m, sim, dev, batch_size, max_steps, shard, &sp, &bb, &bs, &agree, &p, &failed);
    if (gather_share(shard, &m->cfg, sg_snn_sim_stats(sim), failed, &bs, &agree, &stats)) goto done;
    sg_progress_finish(&p);
    double seconds = sg_now() - t0;
    int last = stats.steps_max > 0 && stats.steps_max <= max_steps ? stats.steps_max : max_steps;
    /* the task's metrics on the settled output, then the main metric at every step */
    sg_metrics final;
    const int *pred_final = bs.pred + (size_t)(max_steps - 1) * dev->n;
    const float *score_final = bs.score + (size_t)(max_steps - 1) * dev->n;
    if (sg_metrics_compute(metric_set, pred_final, dev->labels, score_final, dev->targets, (size_t)dev->n, &final)) goto done;
    double *main_by_step = malloc(sizeof(double) * (size_t)(last > 0 ? last : 1));
    if (!main_by_step) {
        sg_fail("out of memory for the metric by step");
        goto done;
    }
    for (int t = 1; t <= last; t++) {
        sg_metrics mt;
        main_by_step[t - 1] = NAN;
        if (sg_metrics_compute(metric_set, bs.pred + (size_t)(t - 1) * dev->n, dev->labels, bs.score + (size_t)(t - 1) * dev->n,
                               dev->targets, (size_t)dev->n, &mt) == 0)
            main_by_step[t - 1] = sg_metrics_main(&mt);
    }
    sg_snn_stat tot = sg_snn_stats_total(&stats);
    const double samples = (double)stats.samples;
    sg_snn_outputs out = {
        .metric_count = final.count,
        .metric_names = final.names,
        .metric_values = final.values,
        .samples = dev->n,
        .agreement = (double)agree / dev->n,
        .by_step_count = last,
        .by_step = main_by_step,
        .max_steps = max_steps,
        .unfold_level = unfold_level,
        .simulation_seconds = seconds,
        .mean_settle = stats.samples ? (double)stats.steps_sum / samples : 0.0,
        .max_settle = stats.steps_max,
        .sops_per_sample = stats.samples ? (double)tot.sops / samples : 0.0,
        .energy_mj_per_sample = stats.samples ? sg_snn_energy_pj(&tot) * 1e-9 / samples : 0.0,
        .ann_energy_mj_per_sample = stats.samples ? sg_snn_ann_energy_pj(&tot) * 1e-9 / samples : 0.0,
    };
    res = sg_snn_outputs_json(&out, sg_snn_stats_to_json(&stats));
    if (res && sg_snn_outputs_add_to_all(all, &out)) {
        cJSON_Delete(res);
        res = NULL;
    }
    free(main_by_step);
    if (!res) goto done;
    printf("spiking network: %s %.4f after %d steps at most (mean %.1f), agreement with the quantized ANN %.4f, %.3g SOPs and %.3g mJ per sample (ANN %.3g mJ)\n",
           final.count ? final.names[final.count - 1] : "metric", final.count ? final.values[final.count - 1] : NAN,
           stats.steps_max, out.mean_settle, out.agreement, out.sops_per_sample, out.energy_mj_per_sample,
           out.ann_energy_mj_per_sample);
    rc = sg_results_write(output_dir, SG_OUT_SNN_RESULTS_FILE, res);
done:
    cJSON_Delete(res);
    free(bs.pred);
    free(bs.score);
    sg_batch_buffers_free(&bb);
    sg_snn_stats_free(&stats);
    sg_shard_progress_free(&sp);
    if (sim) sg_snn_sim_free(sim);
    sg_snn_model_free(&snn);
    return rc;
}
