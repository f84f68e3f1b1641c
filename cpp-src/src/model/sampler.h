// Token sampling over one row of logits, natively, so a generation loop never copies the
// vocabulary to Java: logit bias, repetition / frequency / presence penalties over a window of
// accepted tokens, then greedy or temperature -> top-k -> top-p -> min-p and a seeded draw.
// Also reports the chosen token's log-probability and the top-n alternatives under the model's
// own distribution (the raw logits, before any of the controls).
#pragma once
#include <cstdint>
#include <vector>

#include "core/sample_math.h"
#include "stackllama4j.h"

namespace sl4j {

// The defaults of struct sl4j_sampler_params (documented per field in stackllama4j.h).
sl4j_sampler_params sampler_default_params();

class TokenSampler {
public:
    TokenSampler(const sl4j_sampler_params& cfg, int64_t n_vocab);

    // Adds bias[i] to the logit of tokens[i] before sampling (-INFINITY bans a token).
    void set_logit_bias(const int32_t* tokens, const float* bias, int64_t n);
    // Records a token in the penalty window (generated tokens; the caller may add prompt tokens).
    void accept(int32_t token);

    // Picks a token from `logits` (n_vocab floats). banned: a token that must not be picked, or -1.
    // logprob: log softmax(logits)[token]. top_ids/top_lp (n_top entries each, may be NULL when
    // n_top == 0): the n_top most probable tokens under softmax(logits), most probable first, ties
    // by lower id.
    int32_t sample(const float* logits, int32_t banned, float* logprob, int32_t n_top, int32_t* top_ids,
                   float* top_lp);
    // The inputs of one pick from logits row `row` for Backend::sample_rows: *p gets the
    // controls, the next random number of this sampler's stream (temperature > 0) and the range
    // of its adjustments, appended to *adjust (the biased tokens and, with a penalty on, the
    // distinct tokens of the window with their counts). sample() is prepare() and the pick.
    void prepare(int32_t row, int32_t banned, SampleRowParams* p, std::vector<SampleAdjust>* adjust);
    // Throws the error a pick's failure code (kSampleAllExcluded, kSampleNoFiniteLogit) stands for.
    static void check_pick(int32_t pick);

    int64_t n_vocab() const { return n_vocab_; }
    const sl4j_sampler_params& config() const { return cfg_; }

private:
    double next_uniform(); // [0, 1), splitmix64

    sl4j_sampler_params cfg_;
    int64_t n_vocab_;
    uint64_t rng_;
    std::vector<float> bias_;       // (n_vocab) additive, 0 by default (empty until set)
    std::vector<int32_t> bias_ids_; // tokens with a nonzero bias
    std::vector<int32_t> window_;   // ring buffer of accepted tokens (penalty_last_n, or growing for -1)
    int64_t window_start_ = 0;      // index of the oldest entry when the ring is full
    std::vector<int32_t> count_;    // (n_vocab) occurrences in the window
    std::vector<uint32_t> stamp_;   // (n_vocab) scratch: last call that penalised a token
    uint32_t calls_ = 0;
    std::vector<float> z_;          // (n_vocab) scratch: controlled logits
    std::vector<int32_t> idx_;      // (n_vocab) scratch: candidate ids
    std::vector<SampleAdjust> adjust_; // scratch: one pick's adjustments
};

}  // namespace sl4j
