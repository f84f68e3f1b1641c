// Token sampling's per-row inputs and per-element formulas, for the host and the device (SL4J_HD):
// the CPU sampler (cpu/sample.cpp, behind model/sampler.h and Backend::sample_rows) and the CUDA
// kernel (cuda/sample.cu) call these, so each rule has one implementation.
//
// A pick, given a row of raw logits l (n_vocab floats) and its SampleRowParams:
//  1. controlled logits z_i = control(l_i + bias_i) (sample_control_logit), z_banned = -inf;
//  2. temperature 0: the argmax of z (ties: the lower id); no draw;
//  3. else y_i = z_i · (1/temperature) over the finite z_i, w_i = exp(y_i - max y) (the top
//     candidate's weight is 1);
//  4. candidates: every finite z_i, in id order; with top_k > 0 (and < their count) or top_p < 1,
//     the candidates sorted by (w desc, id asc) (sample_before) and cut to the first top_k, then
//     to the shortest prefix whose cumulative weight (double) reaches top_p · its total; then
//     min_p keeps the candidates with w >= min_p (order kept);
//  5. the draw: with target = u · Σ w (double, over the kept candidates in their order), the
//     first candidate whose cumulative weight exceeds the target (the last one if rounding leaves
//     none).
// The log-prob reported with a pick is of the model's own distribution: log softmax of the raw
// row at the pick (sample_logprob), before bias, penalties, temperature and truncation: what
// PPO's ratio and KL need.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/hd.h"

namespace sl4j {

// One pick's controls. Built on the host (model/sampler.h validates them) and uploaded with the
// pick's adjustments; u comes from the sampler's own random stream, so a device draw and a CPU
// draw of the same sampler state see the same number.
struct SampleRowParams {
    int32_t row;              // the logits row to pick from
    int32_t banned;           // a token that must not be picked, or -1
    float temperature;        // 0 = greedy
    int32_t top_k;            // 0 = off
    float top_p;              // 1 = off
    float min_p;              // 0 = off
    float repeat_penalty;     // 1 = off
    float frequency_penalty;  // 0 = off
    float presence_penalty;   // 0 = off
    int32_t adj_begin;        // this pick's adjustments: adjust[adj_begin, adj_begin + adj_count)
    int32_t adj_count;
    int32_t pad_ = 0;
    double u;                 // the draw, uniform in [0, 1) (unused at temperature 0)
};
static_assert(sizeof(SampleRowParams) == 56, "SampleRowParams is uploaded as is");

// A token whose logit a pick changes: its logit bias and its occurrences in the penalty window
// (0: bias only). Each token appears at most once per pick.
struct SampleAdjust {
    int32_t token;
    int32_t count;
    float bias;
};
static_assert(sizeof(SampleAdjust) == 12, "SampleAdjust is uploaded as is");

// What a pick returns instead of a token: every token excluded (logit bias -inf, the banned
// token), or a raw row whose max is not finite (all -inf, +inf or NaN).
constexpr int32_t kSampleAllExcluded = -1;
constexpr int32_t kSampleNoFiniteLogit = -2;

// Controlled logit of a token: bias added, then, for a token in the window (count > 0), the
// CTRL-style repetition penalty (divide a positive logit, multiply a negative one) and the
// frequency (per occurrence) and presence (once) penalties.
SL4J_HD inline float sample_control_logit(float logit, float bias, int32_t count, const SampleRowParams& p) {
    float v = logit + bias;
    if (count > 0) {
        if (p.repeat_penalty != 1.0f) v = v > 0 ? v / p.repeat_penalty : v * p.repeat_penalty;
        v -= p.frequency_penalty * float(count) + p.presence_penalty;
    }
    return v;
}

// Unnormalised probability of a candidate: exp(y - y_max), y = z · inv_temperature.
SL4J_HD inline float sample_weight(float y, float y_max) { return expf(y - y_max); }

// The candidate order of top-k and top-p: larger weight first, ties by the lower id.
SL4J_HD inline bool sample_before(float wa, int32_t a, float wb, int32_t b) { return wa > wb || (wa == wb && a < b); }

// Top-p: the prefix ends at the first candidate whose cumulative weight reaches this.
SL4J_HD inline bool sample_top_p_reached(double cum, double total, float top_p) { return cum >= double(top_p) * total; }

// Min-p: p_i >= min_p · p_max, and p_max's weight is 1.
SL4J_HD inline bool sample_min_p_keeps(float w, float min_p) { return w >= min_p; }

// The draw: the pick is the first kept candidate whose cumulative weight passes target = u · total.
SL4J_HD inline bool sample_draw_reached(double cum, double target) { return cum > target; }

// log softmax(l)[pick] from the row's max, Σ exp(l - max) (double) and the pick's raw logit.
SL4J_HD inline float sample_logprob(double exp_sum, float max, float logit) {
    return float(double(logit) - (double(max) + log(exp_sum)));
}

}  // namespace sl4j
