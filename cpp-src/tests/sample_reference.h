// A plain float64 reference of one token pick (the rules of core/sample_math.h), written from
// the rules, not from cpu/sample.cpp: the kept candidates in the draw's order with their exact
// probabilities, the inverse-CDF pick of a draw u and how far u lies from the nearest boundary.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/sample_math.h"

namespace sl4j_test {

struct RefCandidates {
    std::vector<int32_t> ids;   // kept candidates in the draw's order
    std::vector<double> prob;   // their probabilities (sum 1)
    double cut_margin = 1.0;    // top-p: relative distance of p·total from the nearest cumulative sum
};

inline RefCandidates reference_candidates(const float* logits, int64_t V, const sl4j::SampleRowParams& p,
                                          const sl4j::SampleAdjust* adjust) {
    std::vector<double> z(logits, logits + V);
    for (int32_t a = p.adj_begin; a < p.adj_begin + p.adj_count; ++a) {
        const sl4j::SampleAdjust& e = adjust[a];
        double v = double(logits[e.token]) + e.bias;
        if (e.count > 0) {
            if (p.repeat_penalty != 1.0f) v = v > 0 ? v / p.repeat_penalty : v * p.repeat_penalty;
            v -= double(p.frequency_penalty) * e.count + p.presence_penalty;
        }
        z[size_t(e.token)] = v;
    }
    if (p.banned >= 0) z[size_t(p.banned)] = -INFINITY;
    std::vector<int32_t> ids;
    double ymax = -INFINITY;
    for (int64_t i = 0; i < V; ++i)
        if (z[size_t(i)] != -INFINITY) ids.push_back(int32_t(i)), ymax = std::max(ymax, z[size_t(i)] / p.temperature);
    std::vector<double> w(size_t(V), 0.0);
    for (int32_t i : ids) w[size_t(i)] = std::exp(z[size_t(i)] / p.temperature - ymax);
    RefCandidates r;
    const bool cut_k = p.top_k > 0 && p.top_k < int64_t(ids.size());
    if (cut_k || p.top_p < 1.0f)
        std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return w[size_t(a)] > w[size_t(b)]; });
    if (cut_k) ids.resize(size_t(p.top_k));
    if (p.top_p < 1.0f) {
        double total = 0, cum = 0;
        for (int32_t i : ids) total += w[size_t(i)];
        const double bound = double(p.top_p) * total;
        size_t n = ids.size();
        for (size_t k = 0; k < ids.size(); ++k) {
            cum += w[size_t(ids[k])];
            r.cut_margin = std::min(r.cut_margin, std::fabs(cum - bound) / total);
            if (cum >= bound && n == ids.size()) n = k + 1;
        }
        ids.resize(n);
    }
    if (p.min_p > 0.0f) {
        std::vector<int32_t> kept;
        for (int32_t i : ids)
            if (w[size_t(i)] >= p.min_p) kept.push_back(i);
        ids = kept;
    }
    double total = 0;
    for (int32_t i : ids) total += w[size_t(i)];
    r.ids = ids;
    for (int32_t i : ids) r.prob.push_back(w[size_t(i)] / total);
    return r;
}

// The candidate whose cumulative interval holds u; *margin: u's distance to the nearest inner
// boundary of those intervals.
inline int32_t reference_pick(const RefCandidates& c, double u, double* margin) {
    double cum = 0;
    int32_t pick = c.ids.back();
    bool found = false;
    *margin = 1.0;
    for (size_t k = 0; k < c.ids.size(); ++k) {
        cum += c.prob[k];
        if (k + 1 < c.ids.size()) *margin = std::min(*margin, std::fabs(cum - u));
        if (!found && cum > u) pick = c.ids[k], found = true;
    }
    return pick;
}

// Greedy: the largest controlled logit (float64), the lower id on ties; -1 if none.
inline int32_t reference_greedy(const float* logits, int64_t V, const sl4j::SampleRowParams& p,
                                const sl4j::SampleAdjust* adjust) {
    sl4j::SampleRowParams q = p;
    q.temperature = 1.0f, q.top_k = 0, q.top_p = 1.0f, q.min_p = 0.0f;
    const RefCandidates c = reference_candidates(logits, V, q, adjust);
    int32_t best = -1;  // candidates in id order: a strict > keeps the lower id of a tie
    double best_p = -1;
    for (size_t k = 0; k < c.ids.size(); ++k)
        if (c.prob[k] > best_p) best_p = c.prob[k], best = c.ids[k];
    return best;
}

// log softmax(logits)[t] in float64.
inline double reference_logprob(const float* logits, int64_t V, int32_t t) {
    double m = -INFINITY, s = 0;
    for (int64_t i = 0; i < V; ++i) m = std::max(m, double(logits[i]));
    for (int64_t i = 0; i < V; ++i) s += std::exp(double(logits[i]) - m);
    return double(logits[t]) - m - std::log(s);
}

}  // namespace sl4j_test
