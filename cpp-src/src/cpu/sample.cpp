#include "cpu/sample.h"

#include <algorithm>
#include <cmath>

namespace sl4j::cpu {

void row_max_exp_sum(const float* logits, int64_t n, float* max, double* exp_sum) {
    float m = -INFINITY;
    for (int64_t i = 0; i < n; ++i) m = std::max(m, logits[i]);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += (double)std::exp(logits[i] - m);
    *max = m;
    *exp_sum = sum;
}

int32_t sample_row(const float* logits, int64_t n_vocab, const SampleRowParams& p, const SampleAdjust* adjust,
                   float* z, int32_t* idx, float* logprob) {
    const int64_t V = n_vocab;
    float m;
    double sum;
    row_max_exp_sum(logits, V, &m, &sum);
    if (!std::isfinite(m)) return kSampleNoFiniteLogit;
    // The controlled logits: bias and penalties on the adjusted tokens, the banned token out.
    std::copy_n(logits, V, z);
    for (int32_t a = p.adj_begin; a < p.adj_begin + p.adj_count; ++a) {
        const SampleAdjust& e = adjust[a];
        z[e.token] = sample_control_logit(logits[e.token], e.bias, e.count, p);
    }
    if (p.banned >= 0 && p.banned < V) z[p.banned] = -INFINITY;

    int32_t pick = -1;
    if (p.temperature == 0.0f) {
        for (int64_t i = 0; i < V; ++i)
            if (z[i] != -INFINITY && (pick < 0 || z[i] > z[pick])) pick = (int32_t)i;
    } else {
        // Candidates with a finite controlled logit, scaled by 1/temperature, in id order.
        int64_t n = 0;
        float ymax = -INFINITY;
        const float inv_t = 1.0f / p.temperature;
        for (int64_t i = 0; i < V; ++i) {
            if (z[i] == -INFINITY) continue;
            z[i] *= inv_t;
            ymax = std::max(ymax, z[i]);
            idx[n++] = (int32_t)i;
        }
        // w[i]: the unnormalised probabilities (the top candidate's is 1), written over z.
        float* w = z;
        for (int64_t i = 0; i < n; ++i) w[idx[i]] = sample_weight(z[idx[i]], ymax);
        if (n > 0) {
            auto before = [w](int32_t a, int32_t b) { return sample_before(w[a], a, w[b], b); };
            const bool cut_k = p.top_k > 0 && p.top_k < n;
            if (cut_k) {
                std::nth_element(idx, idx + (p.top_k - 1), idx + n, before);
                n = p.top_k;
            }
            if (cut_k || p.top_p < 1.0f) std::sort(idx, idx + n, before);
            if (p.top_p < 1.0f) {
                double total = 0;
                for (int64_t i = 0; i < n; ++i) total += w[idx[i]];
                double cum = 0;
                for (int64_t i = 0; i < n; ++i) {
                    cum += w[idx[i]];
                    if (sample_top_p_reached(cum, total, p.top_p)) {
                        n = i + 1;
                        break;
                    }
                }
            }
            if (p.min_p > 0.0f) {
                int64_t kept = 0;  // the top candidate (weight 1) always passes
                for (int64_t i = 0; i < n; ++i)
                    if (sample_min_p_keeps(w[idx[i]], p.min_p)) idx[kept++] = idx[i];
                n = kept;
            }
            double total = 0;
            for (int64_t i = 0; i < n; ++i) total += w[idx[i]];
            const double target = p.u * total;
            pick = idx[n - 1];
            double cum = 0;
            for (int64_t i = 0; i < n; ++i) {
                cum += w[idx[i]];
                if (sample_draw_reached(cum, target)) {
                    pick = idx[i];
                    break;
                }
            }
        }
    }
    if (pick < 0) return kSampleAllExcluded;
    if (logprob != nullptr) *logprob = sample_logprob(sum, m, logits[pick]);
    return pick;
}

}  // namespace sl4j::cpu
