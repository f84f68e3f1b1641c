#include "model/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/hash.h"
#include "cpu/sample.h"

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
    bias_ids_.clear();
    for (int64_t i = 0; i < n_vocab_; ++i)
        if (bias_[i] != 0.0f) bias_ids_.push_back((int32_t)i);
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

void TokenSampler::prepare(int32_t row, int32_t banned, SampleRowParams* p, std::vector<SampleAdjust>* adjust) {
    p->row = row;
    p->banned = banned;
    p->temperature = cfg_.temperature;
    p->top_k = cfg_.top_k;
    p->top_p = cfg_.top_p;
    p->min_p = cfg_.min_p;
    p->repeat_penalty = cfg_.repeat_penalty;
    p->frequency_penalty = cfg_.frequency_penalty;
    p->presence_penalty = cfg_.presence_penalty;
    p->adj_begin = (int32_t)adjust->size();
    p->u = cfg_.temperature == 0.0f ? 0.0 : next_uniform();
    const bool penalties = cfg_.repeat_penalty != 1.0f || cfg_.frequency_penalty != 0.0f || cfg_.presence_penalty != 0.0f;
    if (++calls_ == 0) {  // the stamp counter wrapped: start the marks afresh
        std::fill(stamp_.begin(), stamp_.end(), 0u);
        calls_ = 1;
    }
    for (int32_t t : bias_ids_) {
        stamp_[t] = calls_;
        adjust->push_back({t, penalties ? count_[t] : 0, bias_[t]});
    }
    if (penalties)
        for (int32_t t : window_) {
            if (stamp_[t] == calls_) continue;  // each distinct token once
            stamp_[t] = calls_;
            adjust->push_back({t, count_[t], 0.0f});
        }
    p->adj_count = (int32_t)adjust->size() - p->adj_begin;
}

void TokenSampler::check_pick(int32_t pick) {
    SL4J_CHECK_ARG(pick != kSampleNoFiniteLogit, "the logits row has no finite value");
    SL4J_CHECK_ARG(pick >= 0, "every token is banned (logit bias -inf or the banned token covers the vocabulary)");
}

int32_t TokenSampler::sample(const float* logits, int32_t banned, float* logprob, int32_t n_top, int32_t* top_ids,
                             float* top_lp) {
    SL4J_CHECK_ARG(logits != nullptr, "logits is NULL");
    SL4J_CHECK_ARG(n_top >= 0 && n_top <= n_vocab_, "n_top must be in [0, %lld], got %d", (long long)n_vocab_, n_top);
    SL4J_CHECK_ARG(n_top == 0 || (top_ids && top_lp), "n_top = %d needs top_ids and top_lp", n_top);
    const int64_t V = n_vocab_;
    // The top-n alternatives under the model's own distribution (the raw logits).
    if (n_top > 0) {
        float m;
        double sum;
        cpu::row_max_exp_sum(logits, V, &m, &sum);
        SL4J_CHECK_ARG(std::isfinite(m), "the logits row has no finite value");
        auto by_logit = [logits](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
        for (int64_t i = 0; i < V; ++i) idx_[i] = (int32_t)i;
        std::partial_sort(idx_.begin(), idx_.begin() + n_top, idx_.end(), by_logit);
        for (int32_t i = 0; i < n_top; ++i) {
            top_ids[i] = idx_[i];
            top_lp[i] = sample_logprob(sum, m, logits[idx_[i]]);
        }
    }
    SampleRowParams p;
    adjust_.clear();
    prepare(0, banned, &p, &adjust_);
    const int32_t pick = cpu::sample_row(logits, V, p, adjust_.data(), z_.data(), idx_.data(), logprob);
    check_pick(pick);
    return pick;
}

}  // namespace sl4j
