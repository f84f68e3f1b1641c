#include "model/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/hash.h"

namespace sl4j {

sl4j_sampler_params sampler_default_params() {
    sl4j_sampler_params p;
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.repeat_penalty = 1.0f;
    p.frequency_penalty = 0.0f;
    p.presence_penalty = 0.0f;
    p.penalty_last_n = 64;
    p.seed = 0;
    return p;
}

TokenSampler::TokenSampler(const sl4j_sampler_params& cfg, int64_t n_vocab) : cfg_(cfg), n_vocab_(n_vocab), rng_(cfg.seed) {
    SL4J_CHECK_ARG(n_vocab > 0, "sampler needs a vocabulary, got %lld tokens", (long long)n_vocab);
    SL4J_CHECK_ARG(cfg.temperature >= 0 && std::isfinite(cfg.temperature), "temperature must be >= 0, got %g",
                   (double)cfg.temperature);
    SL4J_CHECK_ARG(cfg.top_k >= 0, "top_k must be >= 0, got %d", cfg.top_k);
    SL4J_CHECK_ARG(cfg.top_p > 0 && cfg.top_p <= 1, "top_p must be in (0, 1], got %g", (double)cfg.top_p);
    SL4J_CHECK_ARG(cfg.min_p >= 0 && cfg.min_p <= 1, "min_p must be in [0, 1], got %g", (double)cfg.min_p);
    SL4J_CHECK_ARG(cfg.repeat_penalty > 0 && std::isfinite(cfg.repeat_penalty), "repeat_penalty must be > 0, got %g",
                   (double)cfg.repeat_penalty);
    SL4J_CHECK_ARG(std::isfinite(cfg.frequency_penalty) && std::isfinite(cfg.presence_penalty),
                   "frequency and presence penalties must be finite");
    SL4J_CHECK_ARG(cfg.penalty_last_n >= -1, "penalty_last_n must be >= -1, got %d", cfg.penalty_last_n);
    count_.assign(n_vocab, 0);
    stamp_.assign(n_vocab, 0);
    z_.resize(n_vocab);
    idx_.resize(n_vocab);
}

void TokenSampler::set_logit_bias(const int32_t* tokens, const float* bias, int64_t n) {
    SL4J_CHECK_ARG(n >= 0 && (n == 0 || (tokens && bias)), "logit bias needs %lld tokens and values", (long long)n);
    for (int64_t i = 0; i < n; ++i) {
        SL4J_CHECK_ARG(tokens[i] >= 0 && tokens[i] < n_vocab_, "logit bias token %d is outside the vocabulary (0..%lld)",
                       tokens[i], (long long)n_vocab_ - 1);
        SL4J_CHECK_ARG(!std::isnan(bias[i]) && bias[i] != INFINITY, "logit bias of token %d must be finite or -inf",
                       tokens[i]);
    }
    if (bias_.empty()) bias_.assign(n_vocab_, 0.0f);
    for (int64_t i = 0; i < n; ++i) bias_[tokens[i]] = bias[i];
    has_bias_ = true;
}

void TokenSampler::accept(int32_t token) {
    SL4J_CHECK_ARG(token >= 0 && token < n_vocab_, "accepted token %d is outside the vocabulary (0..%lld)", token,
                   (long long)n_vocab_ - 1);
    const int64_t cap = cfg_.penalty_last_n;
    if (cap == 0) return;
    if (cap < 0 || (int64_t)window_.size() < cap) {
        window_.push_back(token);
    } else {
        --count_[window_[window_start_]];
        window_[window_start_] = token;
        window_start_ = (window_start_ + 1) % cap;
    }
    ++count_[token];
}

double TokenSampler::next_uniform() {
    const uint64_t z = mix64(rng_);  // splitmix64: mix64 adds the step before its finaliser
    rng_ += 0x9E3779B97F4A7C15ull;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

void TokenSampler::apply_penalties(float* z) {
    const bool rep = cfg_.repeat_penalty != 1.0f, freq = cfg_.frequency_penalty != 0.0f,
               pres = cfg_.presence_penalty != 0.0f;
    if (!(rep || freq || pres) || window_.empty()) return;
    if (++calls_ == 0) {  // the stamp counter wrapped: start the marks afresh
        std::fill(stamp_.begin(), stamp_.end(), 0u);
        calls_ = 1;
    }
    for (int32_t t : window_) {
        if (stamp_[t] == calls_) continue;  // each distinct token once
        stamp_[t] = calls_;
        float& v = z[t];
        if (rep) v = v > 0 ? v / cfg_.repeat_penalty : v * cfg_.repeat_penalty;
        v -= cfg_.frequency_penalty * (float)count_[t] + (pres ? cfg_.presence_penalty : 0.0f);
    }
}

int32_t TokenSampler::sample(const float* logits, int32_t banned, float* logprob, int32_t n_top, int32_t* top_ids,
                             float* top_lp) {
    SL4J_CHECK_ARG(logits != nullptr, "logits is NULL");
    SL4J_CHECK_ARG(n_top >= 0 && n_top <= n_vocab_, "n_top must be in [0, %lld], got %d", (long long)n_vocab_, n_top);
    SL4J_CHECK_ARG(n_top == 0 || (top_ids && top_lp), "n_top = %d needs top_ids and top_lp", n_top);
    const int64_t V = n_vocab_;

    // The model's own distribution: log-sum-exp of the raw logits (double accumulation).
    float m = -INFINITY;
    for (int64_t i = 0; i < V; ++i) m = std::max(m, logits[i]);
    SL4J_CHECK_ARG(std::isfinite(m), "the logits row has no finite value");
    double sum = 0;
    for (int64_t i = 0; i < V; ++i) sum += (double)std::exp(logits[i] - m);
    const double lse = (double)m + std::log(sum);
    auto by_logit = [logits](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
    if (n_top > 0) {
        for (int64_t i = 0; i < V; ++i) idx_[i] = (int32_t)i;
        std::partial_sort(idx_.begin(), idx_.begin() + n_top, idx_.end(), by_logit);
        for (int32_t i = 0; i < n_top; ++i) {
            top_ids[i] = idx_[i];
            top_lp[i] = (float)((double)logits[idx_[i]] - lse);
        }
    }

    // The controlled logits: bias, penalties, the banned token.
    float* z = z_.data();
    std::copy_n(logits, V, z);
    if (has_bias_)
        for (int64_t i = 0; i < V; ++i) z[i] += bias_[i];
    apply_penalties(z);
    if (banned >= 0 && banned < V) z[banned] = -INFINITY;

    int32_t pick = -1;
    if (cfg_.temperature == 0.0f) {
        for (int64_t i = 0; i < V; ++i)
            if (z[i] != -INFINITY && (pick < 0 || z[i] > z[pick])) pick = (int32_t)i;
    } else {
        // Candidates with a finite controlled logit, scaled by 1/temperature.
        int64_t n = 0;
        float zmax = -INFINITY;
        const float inv_t = 1.0f / cfg_.temperature;
        for (int64_t i = 0; i < V; ++i) {
            if (z[i] == -INFINITY) continue;
            z[i] *= inv_t;
            zmax = std::max(zmax, z[i]);
            idx_[n++] = (int32_t)i;
        }
        // w[i] = exp(z_i - zmax): unnormalised probabilities, the top candidate's is 1. Each is
        // computed once; the controlled logits are not needed after this.
        float* w = z;
        for (int64_t i = 0; i < n; ++i) w[idx_[i]] = std::exp(z[idx_[i]] - zmax);
        if (n > 0) {
            auto by_z = [w](int32_t a, int32_t b) { return w[a] > w[b] || (w[a] == w[b] && a < b); };
            if (cfg_.top_k > 0 && cfg_.top_k < n) {
                std::nth_element(idx_.begin(), idx_.begin() + (cfg_.top_k - 1), idx_.begin() + n, by_z);
                n = cfg_.top_k;
            }
            if (cfg_.top_p < 1.0f) {
                std::sort(idx_.begin(), idx_.begin() + n, by_z);
                double total = 0;
                for (int64_t i = 0; i < n; ++i) total += w[idx_[i]];
                double cum = 0;
                for (int64_t i = 0; i < n; ++i) {
                    cum += w[idx_[i]];
                    if (cum >= (double)cfg_.top_p * total) {
                        n = i + 1;
                        break;
                    }
                }
            }
            if (cfg_.min_p > 0.0f) {
                int64_t kept = 0;  // p_i >= min_p * p_max, and p_max's weight is 1
                for (int64_t i = 0; i < n; ++i)
                    if (w[idx_[i]] >= cfg_.min_p) idx_[kept++] = idx_[i];
                n = kept;  // the top candidate always passes
            }
            double total = 0;
            for (int64_t i = 0; i < n; ++i) total += w[idx_[i]];
            double u = next_uniform() * total;
            pick = idx_[n - 1];
            for (int64_t i = 0; i < n; ++i) {
                u -= w[idx_[i]];
                if (u < 0) {
                    pick = idx_[i];
                    break;
                }
            }
        }
    }
    SL4J_CHECK_ARG(pick >= 0, "every token is banned (logit bias -inf or the banned token covers the vocabulary)");
    if (logprob) *logprob = (float)((double)logits[pick] - lse);
    return pick;
}

}  // namespace sl4j
