// CPU matrix products with weights in any supported type, in one of two precisions:
// - Precision::kExact: weights are dequantized on the fly, activations stay F32 and
//   accumulation is F32, so the result equals the product with the dequantized
//   weights up to summation order.
// - Precision::kFast: for Q4_0, Q8_0, Q4_K, Q5_K and Q6_K weights the activations are
//   quantised to 8 bits once per call (cpu/qdot.h) and the products are integer dot
//   products; other types run as kExact. Error: per block of activations, at most
//   half a quantisation step (max|x|/254) times the sum of |w| over the block.
//   Prefill on a CPU with AMX (cpu/amx.h): Q4_0 / Q8_0 on int8 tiles, bit-identical to the
//   other tiled levels; BF16 weights on BF16 tiles, the activations rounded to BF16.
#pragma once
#include <cstdint>
#include <string>

namespace sl4j::cpu {

enum class Precision { kExact = 0, kFast = 1 };

// out[i][r] = sum_j x[i][j] * W[r][j]   (x·Wᵀ: the forward of a Linear layer)
// w: m rows of k elements encoded as `wtype`, rows contiguous; x: n×k; out: n×m.
void matmul(float* out, const void* w, int32_t wtype, const float* x, int64_t n, int64_t k, int64_t m,
            Precision precision = Precision::kExact);

// One of several weight matrices that read the same x (q, k and v; gate and up).
struct MatmulPart {
    float* out;       // n × m
    const void* w;    // m rows of k elements in wtype
    int32_t wtype;
    int64_t m;
    // The same rows repacked (cpu/repack.h), or nullptr: the fast precision then reads these
    // instead of w, with the same results bit for bit; the exact precision never reads them.
    const void* packed = nullptr;
};

// out of each part = x · wᵀ. With few activation rows (decode) the rows of all
// the parts are one job for the pool: one barrier where there would be
// n_parts, and the stream over the weights does not stop between matrices.
void matmul_parts(const MatmulPart* parts, int n_parts, const float* x, int64_t n, int64_t k,
                  Precision precision = Precision::kExact);

// Tests and matmul_bench: false runs fast-precision prefill on the level's per-row
// kernel (QKernelTable::dot, named qgemm_rows) even where it has a tiled GEMM (qgemm).
void set_qgemm_tiled(bool enabled);

// Names of the kernels products have run on since the last call, comma-separated
// as op:type/level (e.g. "gemv:f32/avx512,gemm:q8_0/avx512,qgemm:q4_K/avx512vnni"), and clears the record.
std::string kernels_ran_take();

// out[i][j] = sum_r dy[i][r] * W[r][j]   (dy·W: the input gradient of a Linear layer)
// w as above (m×k); dy: n×m; out: n×k. Overwrites out.
void matmul_transposed(float* out, const void* w, int32_t wtype, const float* dy, int64_t n, int64_t k,
                       int64_t m);

}  // namespace sl4j::cpu
