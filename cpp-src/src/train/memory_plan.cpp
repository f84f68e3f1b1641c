#include "train/memory_plan.h"

#include <algorithm>

#include "core/error.h"
#include "train/lora.h"
#include "train/trainer.h"

namespace sl4j {

namespace {
constexpr int64_t F = sizeof(float);

int64_t lora_targets_count(uint32_t targets) {
    int64_t n = 0;
    for (int t = 0; t < kLoraNumTargets; ++t) n += (targets >> t) & 1u;
    return n;
}
}  // namespace

TrainerBytes trainer_bytes(const LlamaHparams& h, int64_t batch, int64_t seq_len, bool checkpointing, int64_t lora_r,
                           uint32_t lora_targets) {
    const int64_t N = batch * seq_len, kv = h.kv_dim(), L = h.n_layers;
    TrainerBytes b;
    // LayerActs: xn1, att, x_mid, xn2, q (dim); k, v (kv); gate, up, hact (ffn); inv1, inv2; u (r) per target
    b.layer = N * F * (5 * h.dim + 2 * kv + 3 * h.ffn + 2 + lora_targets_count(lora_targets) * lora_r);
    // tokens, seq, targets (int32), pos, first (int64); rope (n_rot); x, tmp, hidden (dim); inv_f, losses
    b.base = N * (4 + 4 + 4 + 8 + 8) + N * F * (h.n_rot + 3 * h.dim + 2) + b.layer;
    b.logits = head_chunk_rows(N, h.n_vocab) * h.n_vocab * F;
    // x_in (L × dim), the other layers' activations or the checkpoint's recompute copy (dim)
    b.kept = L * N * h.dim * F + (checkpointing ? N * h.dim * F : (L - 1) * b.layer);
    // dlosses; dx, dxn, d_att, dq (dim); dk, dv (kv); d_hact, d_gate, d_up (ffn)
    b.backward = N * F * (1 + 4 * h.dim + 2 * kv + 3 * h.ffn);
    return b;
}

int64_t kv_cache_bytes(const LlamaHparams& h, int64_t n_seq, int64_t n_ctx, int32_t kv_type) {
    return 2 * h.n_layers * n_seq * n_ctx * h.kv_dim() * (kv_type == SL4J_TYPE_F32 ? 4 : 2);
}

int64_t session_activation_bytes(const LlamaHparams& h, int64_t rows, int64_t outputs, int64_t lora_r) {
    // x, xb, xb2, q, att (dim); k, v (kv); hb, hb2 (ffn); rope (n_rot); pos, first (int64), seq (int32);
    // LoRA u (r); output rows: gathered x and hidden (dim), logits (vocab)
    return rows * (F * (5 * h.dim + 2 * h.kv_dim() + 2 * h.ffn + h.n_rot + lora_r) + 20) +
           outputs * F * (2 * h.dim + h.n_vocab);
}

int64_t lora_floats(const LlamaHparams& h, int64_t r, uint32_t targets) {
    const int64_t in[kLoraNumTargets] = {h.dim, h.dim, h.dim, h.dim, h.dim, h.dim, h.ffn};
    const int64_t out[kLoraNumTargets] = {h.dim, h.kv_dim(), h.kv_dim(), h.dim, h.ffn, h.ffn, h.dim};
    int64_t n = 0;
    for (int t = 0; t < kLoraNumTargets; ++t)
        if (targets & (1u << t)) n += r * (in[t] + out[t]);
    return n * h.n_layers;
}

int64_t full_floats(const LlamaHparams& h, bool tied_output) {
    // per layer: attn_norm, ffn_norm (dim); q, output (dim × dim); k, v (kv × dim); gate, up, down (ffn × dim)
    const int64_t layer = 2 * h.dim + 2 * h.dim * h.dim + 2 * h.kv_dim() * h.dim + 3 * h.ffn * h.dim;
    // token_embd (vocab × dim), output_norm (dim), output (vocab × dim) unless tied
    return h.n_vocab * h.dim * (tied_output ? 1 : 2) + h.n_layers * layer + h.dim;
}

void memory_plan(const LlamaHparams& h, bool tied_output, const sl4j_memory_plan_params& p,
                 sl4j_memory_plan_result* out) {
    SL4J_CHECK_ARG(p.mode >= SL4J_PLAN_GENERATE && p.mode <= SL4J_PLAN_FULL, "memory plan: unknown mode %d", p.mode);
    SL4J_CHECK_ARG(p.batch >= 0 && p.seq_len >= 0 && p.infer_batch >= 0 && p.infer_seq_len >= 0 && p.kv_seqs >= 0 &&
                       p.kv_ctx >= 0 && p.prefill_rows >= 0 && p.weight_bytes >= 0 && p.extra_bytes >= 0,
                   "memory plan: sizes must be >= 0");
    const bool full = p.mode == SL4J_PLAN_FULL;
    SL4J_CHECK_ARG(p.mode == SL4J_PLAN_GENERATE || (p.batch >= 1 && p.seq_len >= 1 && (full || p.lora_r >= 1)),
                   "memory plan: a training mode needs batch, seq_len and (LoRA) lora_r >= 1");
    SL4J_CHECK_ARG(p.device >= SL4J_DEVICE_CPU && p.device <= SL4J_DEVICE_AUTO, "memory plan: unknown device %d", p.device);
    const bool on_device = p.device != SL4J_DEVICE_CPU;  // AUTO is planned as CUDA
    int64_t caller = 0;  // the caller's (host) copies of hidden states, their gradients, the entropy: part of scratch
    // The trainer's adapter buffers (u per target): none when every weight trains instead.
    const int64_t r = full ? 0 : p.lora_r;
    const uint32_t targets = full ? 0u : p.lora_targets;
    sl4j_memory_plan_result m{};
    m.weights = p.weight_bytes + p.extra_bytes;
    m.runtime = p.runtime_bytes;
    if (p.kv_seqs > 0 && p.kv_ctx > 0) {
        m.kv_cache = kv_cache_bytes(h, p.kv_seqs, p.kv_ctx, p.kv_type);
        // A decode call's buffers grow to its largest call: the prefill of every prompt at once.
        const int64_t rows = std::max<int64_t>(p.prefill_rows, p.kv_seqs);
        m.scratch += session_activation_bytes(h, rows, p.kv_seqs, p.mode == SL4J_PLAN_GENERATE ? 0 : r);
    }
    if (p.mode != SL4J_PLAN_GENERATE) {
        const int64_t lf = full ? full_floats(h, tied_output) : lora_floats(h, r, targets);
        m.lora = lf * F;
        m.gradients = lf * F;
        m.optimizer = 2 * lf * F;
        // The training trainer, and the caller's copies of its hidden states and their gradient.
        const TrainerBytes t = trainer_bytes(h, p.batch, p.seq_len, p.checkpointing != 0, r, targets);
        const TrainerBytes keep = trainer_bytes(h, p.batch, p.seq_len, false, r, targets);
        const TrainerBytes ckpt = trainer_bytes(h, p.batch, p.seq_len, true, r, targets);
        m.activations = t.kept;
        m.activations_full = keep.kept;
        m.activations_checkpointed = ckpt.kept;
        m.logits_chunk = t.logits;
        m.scratch += t.base + t.backward;
        if (p.mode != SL4J_PLAN_SFT && !full) caller += 2 * p.batch * p.seq_len * h.dim * F;
        if (p.mode == SL4J_PLAN_PPO) caller += int64_t(p.batch) * p.seq_len * F;  // the policy's per-row entropy
        // A no-grad trainer beside it (PPO's old/reference/value passes, reward scoring).
        if (p.infer_batch > 0 && p.infer_seq_len > 0) {
            const TrainerBytes i = trainer_bytes(h, p.infer_batch, p.infer_seq_len, false, r, targets);
            m.scratch += i.base;
            caller += 2 * p.infer_batch * p.infer_seq_len * h.dim * F;
            m.logits_chunk += i.logits;
            if (p.full_kl) {  // infer_kl: both passes' hidden states of the rows, the reference's logits chunk and its KL
                const int64_t rows = int64_t(p.infer_batch) * p.infer_seq_len;
                m.scratch += 2 * rows * h.dim * F + head_chunk_rows(rows, h.n_vocab) * F;
                m.logits_chunk += i.logits;
            }
        }
    }
    m.scratch += caller;
    const int64_t all = m.weights + m.kv_cache + m.activations + m.lora + m.gradients + m.optimizer + m.logits_chunk +
                        m.scratch + m.runtime;
    if (on_device) {
        // The mapped file stays on the host after the upload; every buffer of the engine is on the device.
        m.device_reserve = SL4J_PLAN_CUDA_RESERVE_BYTES;
        m.total = m.runtime + m.weights + caller;
        m.device = all - m.runtime - caller + m.device_reserve;
    } else {
        m.total = all;
        m.device = 0;
    }
    *out = m;
}

}  // namespace sl4j
