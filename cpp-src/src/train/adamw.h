// AdamW as PyTorch's torch.optim.AdamW defines it (decoupled weight decay, bias-corrected
// moments), gradient-norm clipping as torch.nn.utils.clip_grad_norm_, over a ParamSet's tensors
// (a LoRA adapter's, or every weight of a model), run on the ParamSet's backend: AdamW and
// clipping as backend ops, the gradient norm one sum_squares scalar per tensor.
#pragma once
#include <cstdint>

#include "train/params.h"

namespace sl4j {

struct AdamWParams {
    float lr = 1e-4f;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 0.01f;
};

// One update of n values at 1-based step t:
//   p -= lr·wd·p;  m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²;
//   p -= lr · (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + eps)
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, int64_t t, const AdamWParams& a);

// Steps every tensor (adam_steps + 1) with its accumulated gradient.
void adamw_step(ParamSet& params, const AdamWParams& a);

// L2 norm over all gradients (each tensor's sum of squares in double, the sums added in order).
double grad_norm(const ParamSet& params);

// Scales gradients by max_norm / (norm + 1e-6) when that is < 1; returns the norm before clipping.
double clip_grad_norm(ParamSet& params, double max_norm);

void zero_grad(ParamSet& params);

}  // namespace sl4j
