// CPU matrix products with weights in any supported type. Weights are
// dequantized on the fly, activations stay F32 and accumulation is F32, so the
// result equals the product with the dequantized weights up to summation order.
#pragma once
#include <cstdint>

namespace sl4j::cpu {

// out[i][r] = sum_j x[i][j] * W[r][j]   (x·Wᵀ: the forward of a Linear layer)
// w: m rows of k elements encoded as `wtype`, rows contiguous; x: n×k; out: n×m.
void matmul(float* out, const void* w, int32_t wtype, const float* x, int64_t n, int64_t k, int64_t m);

// out[i][j] = sum_r dy[i][r] * W[r][j]   (dy·W: the input gradient of a Linear layer)
// w as above (m×k); dy: n×m; out: n×k. Overwrites out.
void matmul_transposed(float* out, const void* w, int32_t wtype, const float* dy, int64_t n, int64_t k,
                       int64_t m);

}  // namespace sl4j::cpu
