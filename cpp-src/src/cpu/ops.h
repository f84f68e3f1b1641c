// Transformer ops on the CPU, llm.c style: each op a *_forward function with
// arguments (outputs, inputs, weights, sizes); rows are independent tokens.
// Backward passes pair with these in ops_backward.h.
#pragma once
#include <cstdint>

namespace sl4j::cpu {

// out[r] = dequantized row tokens[r] of the embedding table (n_vocab rows of dim, any type).
void embedding_forward(float* out, const int32_t* tokens, const void* table, int32_t type, int64_t n_rows,
                       int64_t dim, int64_t n_vocab);

// out[r] = x[r] / sqrt(mean(x[r]²) + eps) * w; inv_rms[r] (optional) keeps 1/rms for backward.
// ggml_rounding: 1/rms rounded as ggml's rms_norm rounds it (core/kernel_math.h:
// rmsnorm_inv_rms_ggml), for the fast precision; otherwise computed in double, rounded once.
void rmsnorm_forward(float* out, float* inv_rms, const float* x, const float* w, int64_t n_rows, int64_t dim,
                     float eps, bool ggml_rounding = false);

// Cosines and sines of RoPE for each row's position: cs[r][2i] = cos(θ), cs[r][2i+1] = sin(θ),
// θ = (pos / linear_factor) · base^(-2i/n_rot) / freq_factor[i], i < n_rot/2.
void rope_cache_forward(float* cs, const int64_t* pos, int64_t n_rows, int64_t n_rot, double base,
                        double linear_factor, const float* freq_factors);

// Rotates adjacent pairs (x[2i], x[2i+1]) of the first n_rot dims of every head in place
// (ggml's "normal" RoPE mode). x: n_rows × (n_heads·head_dim).
void rope_forward(float* x, const float* cs, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t n_rot);

// The rotation behind rope_forward (sin_sign = 1) and rope_backward (sin_sign = -1: the
// transpose of a rotation is the rotation by -θ).
void rope_rotate(float* x, const float* cs, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t n_rot,
                 float sin_sign);

// out = silu(gate) * up, elementwise over n values. fast: the exponential on vectors
// (KernelTable::swiglu_fast, a few ulp from swiglu_elem), for the fast precision.
void swiglu_forward(float* out, const float* gate, const float* up, int64_t n, bool fast = false);

// dst[offsets[r] + j] = the FP16 bits of src[r·row_len + j] (f32_to_half, rounded to nearest even):
// rows written into an F16 KV cache at their positions.
void copy_rows_f16(uint16_t* dst, const int64_t* offsets, const float* src, int64_t n_rows, int64_t row_len);

// x += y over n values.
void residual_forward(float* x, const float* y, int64_t n);

// Attention probabilities of one query against `count` cached keys (row stride kv_dim):
// p[j] = softmax_j(q·k_j · scale). The forward and the backward's recompute both call it,
// so the backward differentiates exactly the forward's numbers.
void attention_probs(float* p, const float* q, const float* k, int64_t kv_dim, int64_t count, int64_t head_dim,
                     float scale);

// Causal attention of each row over its own sequence's cached keys/values.
// q: n_rows × (n_heads·head_dim); k_cache/v_cache: base of one layer's cache, where the key of
// (seq s, position p) starts at s·seq_stride + p·kv_dim; row r attends to positions
// [first_pos[r], pos[r]] of seq[r] (first_pos > 0 isolates packed documents).
// out: n_rows × (n_heads·head_dim). Scale 1/sqrt(head_dim); head h reads kv head h / (n_heads/n_kv_heads).
void attention_forward(float* out, const float* q, const float* k_cache, const float* v_cache, const int32_t* seq,
                       const int64_t* pos, const int64_t* first_pos, int64_t n_rows, int64_t n_heads,
                       int64_t n_kv_heads, int64_t head_dim, int64_t seq_stride);

// attention_forward over F16 caches (IEEE halves, the same layout and strides in elements): the
// keys and values are decoded to F32 and the same arithmetic follows.
void attention_forward_f16(float* out, const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
                           const int32_t* seq, const int64_t* pos, const int64_t* first_pos, int64_t n_rows,
                           int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t seq_stride);

// Log-softmax of one row of logits, evaluated at `target`.
float log_softmax_at(const float* logits, int64_t n, int32_t target);

}  // namespace sl4j::cpu
