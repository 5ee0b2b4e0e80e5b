/* ST-BIF neurons (spec §3): after the input stops, the spike count settles at the LSQ integer of
 * the total input, S = clamp(floor(X/θ + 0.5), S_min, S_max), and the summed output equals the
 * LSQ forward of X. Thousands of random cases: inputs of both signs split over random steps,
 * values on the clamp bounds and .5 ties, large values; exact with power-of-two θ (all arithmetic
 * exact), and up to float rounding of near-ties with an arbitrary θ. Also overshoot corrected by
 * negative spikes, the working flag, the spike count, in-place steps and the parallel path. */
#include "snn/stbif.h"
#include "model/lsq.h"
#include "core/rng.h"
#include "testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static sg_stbif_params params(float theta, int level, int is_signed, sg_lsq *q, float *s) {
    sg_stbif_params p;
    sg_lsq_init(q, s, level, is_signed);
    *s = theta;
    CHECK(sg_stbif_params_from_lsq(&p, q) == 0);
    return p;
}

static void test_single_neuron(void) {
    float s;
    sg_lsq q;
    sg_stbif_params p = params(0.5f, 8, 0, &q, &s); /* unsigned, S in [0, 7] */
    CHECK(p.theta == 0.5f && p.smin == 0 && p.smax == 7 && !p.passthrough);
    sg_stbif_state st;
    CHECK(sg_stbif_state_init(&st, 1) == 0);
    CHECK(st.v[0] == 0.5f && st.count[0] == 0);
    float in, out;
    int working;
    /* overshoot: +3θ then -3θ; one positive spike, corrected by a negative one */
    in = 1.5f;
    CHECK(sg_stbif_step(&p, &st, &in, &out, &working) == 1 && out == 0.5f && working == 1);
    CHECK(st.count[0] == 1 && st.v[0] == 2.5f);
    in = -1.5f;
    CHECK(sg_stbif_step(&p, &st, &in, &out, &working) == 1 && out == -0.5f && working == 1);
    CHECK(st.count[0] == 0 && st.v[0] == 0.5f);
    CHECK(sg_stbif_step(&p, &st, NULL, &out, &working) == 0 && out == 0.0f && working == 0);

    /* one big input: at most one spike per step, up to S_max, then quiet */
    sg_stbif_reset(&st);
    in = 100.0f;
    int spikes = 0, steps = 0;
    for (const float *pin = &in; steps < 20; steps++, pin = NULL) {
        spikes += (int)sg_stbif_step(&p, &st, pin, &out, &working);
        if (!working) break;
        CHECK(out == 0.5f);
    }
    CHECK(spikes == 7 && st.count[0] == 7 && steps == 7); /* the 8th step is quiet */

    /* negative input on an unsigned neuron: nothing */
    sg_stbif_reset(&st);
    in = -3.0f;
    CHECK(sg_stbif_step(&p, &st, &in, &out, &working) == 0 && working == 1 && out == 0.0f);
    CHECK(sg_stbif_step(&p, &st, NULL, &out, &working) == 0 && working == 0 && st.count[0] == 0);

    /* signed: overshoot corrected downwards past zero: +2.4θ, then -4θ -> S = floor(-1.6 + .5) = -2 */
    p = params(1.0f, 8, 1, &q, &s);
    CHECK(p.smin == -4 && p.smax == 3);
    sg_stbif_reset(&st);
    float seq[] = {2.4f, -4.0f, 0, 0, 0, 0, 0};
    float total = 0.0f;
    for (int t = 0; t < 7; t++) {
        sg_stbif_step(&p, &st, &seq[t], &out, &working);
        total += out;
    }
    CHECK(st.count[0] == -2 && total == -2.0f && working == 0);
    sg_stbif_state_free(&st);

    /* the twin of a non-quantizing quantizer passes increments through */
    p = params(0.3f, 256, 1, &q, &s);
    CHECK(p.passthrough);
    CHECK(sg_stbif_state_init(&st, 3) == 0);
    float x3[3] = {0.1f, 0.0f, -7.0f}, o3[3];
    CHECK(sg_stbif_step(&p, &st, x3, o3, &working) == 2 && working && !memcmp(x3, o3, sizeof o3));
    CHECK(sg_stbif_step(&p, &st, NULL, o3, &working) == 0 && !working && o3[2] == 0.0f);
    sg_stbif_state_free(&st);

    sg_lsq_init(&q, &s, 8, 1);
    s = 0.0f;
    CHECK(sg_stbif_params_from_lsq(&p, &q) == -1);
    s = NAN;
    CHECK(sg_stbif_params_from_lsq(&p, &q) == -1);
}

/* Many neurons at once, each with its own input sequence over up to 12 steps, then zero input
 * until no neuron works. `exact`: θ a power of two and inputs on a grid of θ/8, so every sum is
 * exact and S, the summed output and the LSQ forward must agree exactly; otherwise S must equal
 * the LSQ integer except within float rounding of a .5 tie, where it may differ by one. */
static void run_random(int exact, uint64_t seed, int level, int is_signed, size_t n, int *cases_checked) {
    float s;
    sg_lsq q;
    float theta = exact ? ldexpf(1.0f, (int)(sg_uniform(seed, 0, 0) * 8.0f) - 5) : 0.01f + sg_uniform(seed, 0, 1);
    sg_stbif_params p = params(theta, level, is_signed, &q, &s);
    sg_stbif_state st;
    CHECK(sg_stbif_state_init(&st, n) == 0);
    float *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out), *sum_out = calloc(n, sizeof *sum_out),
          *total = calloc(n, sizeof *total), *lsq = malloc(n * sizeof *lsq);
    double *total_d = calloc(n, sizeof *total_d), *peak = calloc(n, sizeof *peak);
    int *last_step = malloc(n * sizeof *last_step);
    const int span = (int)(q.qp - q.qn) + 4; /* values well past both bounds */
    for (size_t i = 0; i < n; i++) last_step[i] = (int)(sg_uniform(seed, 1, i) * 12.0f);
    int steps_with_input = 12, t = 0, working = 1;
    size_t spikes_total = 0;
    for (; t < steps_with_input || working; t++) {
        for (size_t i = 0; i < n; i++) {
            float x = 0.0f;
            if (t <= last_step[i]) {
                float u = sg_uniform(seed, 2 + (uint64_t)t, i);
                int kind = (int)(sg_uniform(seed, 100 + (uint64_t)t, i) * 10.0f);
                float mag = kind == 0 ? (float)span * 4.0f : (kind < 3 ? (float)span : 3.0f);
                if (exact) /* multiples of θ/8, including exact .5 ties and the bounds */
                    x = theta * 0.125f * floorf((2.0f * u - 1.0f) * mag * 8.0f);
                else
                    x = theta * (2.0f * u - 1.0f) * mag * (kind == 9 ? 1000.0f : 1.0f);
            }
            in[i] = x;
            total[i] += x;
            total_d[i] += x;
            peak[i] = fmax(peak[i], fabs(total_d[i] / theta));
        }
        /* alternate in-place and separate buffers */
        float *dst = (t & 1) ? in : out;
        spikes_total += sg_stbif_step(&p, &st, in, dst, &working);
        for (size_t i = 0; i < n; i++) sum_out[i] += dst[i];
        CHECK(t < 12 + span + 4); /* settles within S_max - S_min steps after the last input */
        if (t >= 12 + span + 4) break;
    }
    /* the LSQ forward of the total input */
    sg_lsq_forward(&q, SG_LSQ_EVAL, total, lsq, n);
    size_t bad = 0, ties = 0, count_sum = 0;
    for (size_t i = 0; i < n; i++) {
        double xq = exact ? (double)total[i] / theta : total_d[i] / theta;
        double want = floor(xq + 0.5);
        want = want < q.qn ? q.qn : (want > q.qp ? q.qp : want);
        /* the membrane carries float rounding of about 2^-24 of its largest value per step */
        double window = 1e-4 + 24.0 * 6e-8 * (peak[i] + 1.0);
        int near_tie = !exact && fabs(xq + 0.5 - floor(xq + 1.0)) < window;
        count_sum += (size_t)abs(st.count[i]);
        if (exact) {
            bad += st.count[i] != (int)want || sum_out[i] != lsq[i] || lsq[i] != (float)want * theta;
        } else if (near_tie) {
            ties++;
            bad += abs(st.count[i] - (int)want) > 1;
        } else {
            bad += st.count[i] != (int)want;
        }
    }
    CHECK_MSG(bad == 0, "%s level %d signed %d θ %g: %zu of %zu neurons off (%zu near ties)",
              exact ? "exact" : "float", level, is_signed, (double)theta, bad, n, ties);
    CHECK(spikes_total >= count_sum); /* every unit of |S| took a spike, overshoot took more */
    *cases_checked += (int)n;
    free(in), free(out), free(sum_out), free(total), free(lsq), free(total_d), free(peak), free(last_step);
    sg_stbif_state_free(&st);
}

static void test_random(void) {
    const int levels[] = {4, 8, 16, 32, 64};
    int checked = 0;
    for (int li = 0; li < 5; li++)
        for (int sign = 0; sign < 2; sign++)
            for (int exact = 0; exact < 2; exact++) run_random(exact, 1000 + (uint64_t)li * 4 + (uint64_t)sign * 2 + (uint64_t)exact, levels[li], sign, 2000, &checked);
    CHECK(checked == 40000);
    /* one large population for the parallel path */
    run_random(1, 77, 32, 1, 50000, &checked);
}

int main(void) {
    test_single_neuron();
    test_random();
    return sg_test_done();
}
