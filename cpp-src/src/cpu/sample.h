// One token pick from a row of logits on the CPU (the rules: core/sample_math.h). The native
// sampler (model/sampler.h) and Backend::sample_rows on host memory both call it.
#pragma once
#include <cstdint>

#include "core/sample_math.h"

namespace sl4j::cpu {

// The row's max and Σ exp(l - max) (in double), for log softmax.
void row_max_exp_sum(const float* logits, int64_t n, float* max, double* exp_sum);

// Picks from `logits` (n_vocab raw logits) under p and its adjustments adjust[p.adj_begin, +
// p.adj_count); p.row is not read. Returns the token, or kSampleAllExcluded / kSampleNoFiniteLogit
// (core/sample_math.h). *logprob (may be NULL): log softmax(logits)[pick].
// z (n_vocab floats) and idx (n_vocab ids): scratch.
int32_t sample_row(const float* logits, int64_t n_vocab, const SampleRowParams& p, const SampleAdjust* adjust,
                   float* z, int32_t* idx, float* logprob);

}  // namespace sl4j::cpu
