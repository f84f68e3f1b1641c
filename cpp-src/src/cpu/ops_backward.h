// Backward passes of the ops in ops.h, llm.c style: each *_backward pairs with its *_forward,
// arguments (input gradients, output gradients, saved inputs/activations, weights, sizes).
// Gradients that flow into a residual stream ADD into their destination (stated per op), so the
// layer loop reads as the forward run in reverse. Weight gradients (full-parameter training) are
// ADDED into, scaled by alpha: embedding_backward, rmsnorm_weight_backward, and
// outer_accumulate (ops_lora.h) for the matrices.
#pragma once
#include <cstdint>

namespace sl4j::cpu {

// dtable[tokens[r]] += alpha·dout[r]: the gradient of an F32 embedding table (n_vocab × dim), a
// scatter-add (rows naming the same token add up). A frozen table needs nothing.
void embedding_backward(float* dtable, const float* dout, const int32_t* tokens, int64_t n_rows, int64_t dim,
                        float alpha);

// dx += d(rmsnorm(x)·w)/dx · dout. inv_rms: the forward's saved 1/rms per row.
void rmsnorm_backward(float* dx, const float* dout, const float* x, const float* w, const float* inv_rms,
                      int64_t n_rows, int64_t dim);

// dw[i] += alpha·Σ_r dout[r][i]·x[r][i]·inv_rms[r]: the gradient of rmsnorm's weight (summed in
// float64 per element).
void rmsnorm_weight_backward(float* dw, const float* dout, const float* x, const float* inv_rms, int64_t n_rows,
                             int64_t dim, float alpha);

// RoPE is a rotation, so its gradient is the inverse rotation of dx, in place.
void rope_backward(float* dx, const float* cs, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t n_rot);

// out = silu(gate)·up: dgate, dup overwritten (may not alias dout).
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n);

// x += y: dy += dx.
void residual_backward(float* dy, const float* dx, int64_t n);

// Gradients of attention_forward wrt q, k and v. Same layout arguments as the forward; dk/dv are
// laid out like k_cache/v_cache and are ADDED into (zero them first); dq is overwritten. Softmax
// probabilities are recomputed, not stored. n_seq: number of sequences the rows name (seq < n_seq).
void attention_backward(float* dq, float* dk_cache, float* dv_cache, const float* dout, const float* q,
                        const float* k_cache, const float* v_cache, const int32_t* seq, const int64_t* pos,
                        const int64_t* first_pos, int64_t n_rows, int64_t n_seq, int64_t n_heads,
                        int64_t n_kv_heads, int64_t head_dim, int64_t seq_stride);

// Output projection logits = h·Wᵀ (W any type, m rows of k): dh = dlogits·W, overwritten.
void linear_backward(float* dx, const float* dy, const void* w, int32_t wtype, int64_t n, int64_t k, int64_t m);

// Cross-entropy per row: losses[r] = -log softmax(logits[r])[targets[r]], 0 where targets[r] is
// kIgnoreIndex. Returns the number of counted rows.
constexpr int32_t kIgnoreIndex = -100;
int64_t crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int64_t n_rows,
                             int64_t n_vocab);

// Entropy per row: out[r] = -Σ p log p of p = softmax(logits[r]), 0 where targets[r] is
// kIgnoreIndex (targets NULL: every row counts).
void entropy_forward(float* out, const float* logits, const int32_t* targets, int64_t n_rows, int64_t n_vocab);

// KL per row: out[r] = KL(softmax(logits_p[r]) ‖ softmax(logits_q[r])) = Σ p (log p - log q).
void kl_forward(float* out, const float* logits_p, const float* logits_q, int64_t n_rows, int64_t n_vocab);

// dlogits[r] = dlosses[r] · (softmax(logits[r]) - onehot(targets[r])); rows with kIgnoreIndex get 0.
// dlogits may alias logits (the usual case: the logits buffer becomes its gradient).
void crossentropy_backward(float* dlogits, const float* logits, const int32_t* targets, const float* dlosses,
                           int64_t n_rows, int64_t n_vocab);

}  // namespace sl4j::cpu
