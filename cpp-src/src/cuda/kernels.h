// Host-side launchers of the CUDA kernels (cuda/*.cu), llm.c argument order: (outputs, inputs,
// weights, sizes). Every pointer is device memory. Semantics are the CPU ops' (cpu/ops*.h); the
// formulas are the shared ones (quant/dequant_group.h, core/kernel_math.h).
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/kernel_math.h"
#include "core/sample_math.h"

namespace sl4j::cuda {

// A device buffer that grows on demand (the dequantised weight tile of the GEMM path).
class Scratch {
public:
    Scratch() = default;
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    ~Scratch();
    void* get(size_t n_bytes);

private:
    void* p_ = nullptr;
    size_t bytes_ = 0;
};

// How a matmul with more than kGemvMaxRows activation rows multiplies: BF16 tensor cores with
// F32 accumulation (the fast path), or F32 FMA (the reference-accuracy path).
enum class GemmPrecision { kBf16, kF32 };
constexpr int64_t kGemvMaxRows = 8;

// out (n×m) = x (n×k) · wᵀ. n <= kGemvMaxRows: GEMV that dequantises in the dot (F32 throughout);
// else dequantise w once to scratch and run the tiled GEMM.
void matmul(float* out, const void* w, int32_t wtype, const float* x, int64_t n, int64_t k, int64_t m,
            Scratch& scratch, GemmPrecision precision);
// out (n×k) = dy (n×m) · w: dequantise w to scratch, tiled GEMM (overwrites out).
void matmul_transposed(float* out, const void* w, int32_t wtype, const float* dy, int64_t n, int64_t k, int64_t m,
                       Scratch& scratch, GemmPrecision precision);
// out[r] = row ids[r] of the table (rows of dim elements in type), dequantised. ids already validated.
void embedding(float* out, const int32_t* ids, const void* table, int32_t type, int64_t n_rows, int64_t dim);
// out (P×Q) += alpha·aᵀ·b (a: n×P, b: n×Q), F32.
void outer_accumulate(float* out, const float* a, const float* b, int64_t n, int64_t P, int64_t Q, float alpha);

void rmsnorm_forward(float* out, float* inv_rms, const float* x, const float* w, int64_t n_rows, int64_t dim,
                     float eps);
void rmsnorm_backward(float* dx, const float* dout, const float* x, const float* w, const float* inv_rms,
                      int64_t n_rows, int64_t dim);
// dw += alpha·Σ_r dout[r]·x[r]·inv_rms[r] per element (double sum, rows in order).
void rmsnorm_weight_backward(float* dw, const float* dout, const float* x, const float* inv_rms, int64_t n_rows,
                             int64_t dim, float alpha);
// dtable[tokens[r]] += alpha·dout[r], deterministic (no atomics); ids already validated.
void embedding_backward(float* dtable, const float* dout, const int32_t* tokens, int64_t n_rows, int64_t dim,
                        float alpha);
void rope_cache(float* cs, const int64_t* pos, int64_t n_rows, int64_t n_rot, double base, double linear_factor,
                const float* freq_factors);
void rope_rotate(float* x, const float* cs, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t n_rot,
                 float sin_sign);
void swiglu_forward(float* out, const float* gate, const float* up, int64_t n);
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n);
void copy_rows(float* dst, const int64_t* offsets, const float* src, int64_t n_rows, int64_t row_len);
void argmax_logprob(int32_t* tokens, float* logprobs, const float* logits, int64_t n_rows, int64_t n_vocab);
// Token picks, one block each (cuda/sample.cu; the rules: core/sample_math.h).
void sample_rows(int32_t* tokens, float* logprobs, const float* logits, const SampleRowParams* params,
                 const SampleAdjust* adjust, void* scratch, int64_t n_rows, int64_t n_vocab);
int64_t sample_scratch_bytes(int64_t n_rows, int64_t n_vocab);
void copy_rows_f16(uint16_t* dst, const int64_t* offsets, const float* src, int64_t n_rows, int64_t row_len);
void add_scaled(float* y, const float* x, float alpha, int64_t n);  // y += alpha·x (residual: alpha = 1)
void scale(float* x, float alpha, int64_t n);
void dropout_forward(float* xd, const float* x, float p, uint64_t seed, int64_t n);
void dropout_backward(float* dx, const float* dxd, float p, uint64_t seed, int64_t n);
// losses[r] (rows with kIgnoreIndex get 0); targets validated by the caller.
void crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int64_t n_rows,
                          int64_t n_vocab);
void crossentropy_backward(float* dlogits, const float* logits, const int32_t* targets, const float* dlosses,
                           int64_t n_rows, int64_t n_vocab);
// out[0] = log softmax(logits)[target] (device scalar).
void log_softmax_at(float* out, const float* logits, int64_t n, int32_t target);
// Entropy per row (0 where targets[r] is kIgnoreIndex; targets may be NULL) and KL per row pair.
void entropy(float* out, const float* logits, const int32_t* targets, int64_t n_rows, int64_t n_vocab);
void kl_div(float* out, const float* logits_p, const float* logits_q, int64_t n_rows, int64_t n_vocab);
// AdamW over n parameters with the step's scalars; sum of squares of n values into *out (device double).
void adamw(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& s);
void sum_squares(double* out, const float* x, int64_t n);

void attention_forward(float* out, const float* q, const float* k_cache, const float* v_cache, const int32_t* seq,
                       const int64_t* pos, const int64_t* first_pos, int64_t n_rows, int64_t n_heads,
                       int64_t n_kv_heads, int64_t head_dim, int64_t seq_stride);
// attention_forward over F16 caches (IEEE halves, same layout; decoded with quant/fp16.h).
void attention_forward_f16(float* out, const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
                           const int32_t* seq, const int64_t* pos, const int64_t* first_pos, int64_t n_rows,
                           int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t seq_stride);
void attention_backward(float* dq, float* dk_cache, float* dv_cache, const float* dout, const float* q,
                        const float* k_cache, const float* v_cache, const int32_t* seq, const int64_t* pos,
                        const int64_t* first_pos, int64_t n_rows, int64_t n_heads, int64_t n_kv_heads,
                        int64_t head_dim, int64_t seq_stride);
constexpr int64_t kMaxHeadDim = 256;

}  // namespace sl4j::cuda
