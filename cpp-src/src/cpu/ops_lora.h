// The small kernels of a LoRA adapter's products besides its matmuls: inverted dropout with a
// counter-based mask, scaled adds and the aᵀ·b weight gradient. Arguments (outputs, inputs, sizes).
#pragma once
#include <cstdint>

namespace sl4j::cpu {

// xd[i] = x[i]/(1-p) where element i is kept under mask seed `seed`, else 0 (torch.nn.Dropout).
// The mask of element i depends only on (seed, i), so a recomputation sees the same mask.
void dropout_forward(float* xd, const float* x, float p, uint64_t seed, int64_t n);

// dx[i] += dxd[i]/(1-p) where element i is kept: dropout's gradient is its own mask.
void dropout_backward(float* dx, const float* dxd, float p, uint64_t seed, int64_t n);

// y += alpha·x over n values.
void add_scaled(float* y, const float* x, float alpha, int64_t n);

// x *= alpha over n values.
void scale(float* x, float alpha, int64_t n);

// out[p][q] += alpha · Σ_i a[i][p] · b[i][q]   (a: n × P, b: n × Q): weight gradients aᵀ·b.
void outer_accumulate(float* out, const float* a, const float* b, int64_t n, int64_t P, int64_t Q, float alpha);

}  // namespace sl4j::cpu
