// Training forward and backward of a LLaMA over B packed sequences of T tokens (no KV cache), with
// either a LoRA adapter over the frozen base or every weight trainable (FullParams). With LoRA the
// base stays in its stored type: its products go through the backend's matmul /
// matmul_transposed, so no full-precision copy of the model is made. Every op dispatches through
// the backend, and every buffer is the backend's memory (backend/backend.h): a forward uploads its
// token ids, targets and document starts, a backward its loss gradients; row losses, hidden
// states and entropies are downloaded when read, the KL when infer_kl returns it. Gradients land
// in the adapter's (or the full parameters') tensors and add up until zeroed.
#pragma once
#include <cstdint>
#include <vector>

#include "model/llama_model.h"
#include "train/full.h"
#include "train/lora.h"

namespace sl4j {

struct TrainConfig {
    int64_t batch = 1;
    int64_t seq_len = 0;
    bool checkpointing = false; // keep only each layer's input; recompute the layer in backward
    int64_t head_rows = 0;      // rows per chunk of the output head; 0 = head_chunk_rows(B·T, n_vocab)
};

// Rows of logits the output head holds at once: at most kHeadChunkBytes of F32 logits, at least
// one row, at most all rows. The head (projection + cross-entropy, and its backward) runs in
// chunks of this many rows, so a long batch never materialises rows × vocab logits.
constexpr int64_t kHeadChunkBytes = int64_t(64) << 20;
int64_t head_chunk_rows(int64_t rows, int64_t n_vocab);

// What the backward of one layer needs (backend memory, F32; N = B·T rows).
struct LayerActs {
    DeviceBuffer inv1, inv2;                       // (N) 1/rms of the two norms
    DeviceBuffer xn1, q, att, x_mid, xn2;          // (N, dim)
    DeviceBuffer k, v;                             // (N, kv_dim)
    DeviceBuffer gate, up, hact;                   // (N, ffn)
    DeviceBuffer u[kLoraNumTargets];               // (N, r) A·drop(x) per adapted projection
};

class Trainer {
public:
    // Runs every op on the model's backend.
    Trainer(const LlamaModel& model, LoraAdapter* lora, const TrainConfig& config);
    // Runs every op on `backend` (which must outlive the trainer): the model's backend, or any
    // host-memory backend when the model's is one. The adapter's (or full parameters') tensors
    // must be in the same memory (ParamSet reaches()). SL4J_ERR_INVALID_ARGUMENT otherwise.
    Trainer(const LlamaModel& model, LoraAdapter* lora, const TrainConfig& config, Backend& backend);
    // Trains every weight: the network's weights are full's (which must outlive the trainer).
    Trainer(const LlamaModel& model, FullParams* full, const TrainConfig& config);
    Trainer(const LlamaModel& model, FullParams* full, const TrainConfig& config, Backend& backend);

    // Without the adapter the network is the base model (a PPO reference policy).
    void set_adapter_enabled(bool on) { adapter_on_ = on; }
    // Dropout only in training mode.
    void set_training(bool on) { training_ = on; }
    // Forwards also compute each counted row's entropy of its next-token distribution (off by
    // default: it costs one more pass over every row of logits).
    void set_entropy(bool on);
    bool entropy_on() const { return entropy_on_; }
    // Forward passes run so far: the dropout masks' counter, saved and restored with checkpoints.
    uint64_t forward_count() const { return calls_; }
    void set_forward_count(uint64_t n) { calls_ = n; }

    // Forward over tokens (B·T), keeping what backward needs. targets (B·T): the token each row
    // predicts, or -100 to ignore the row. doc_start (B·T, NULL = 0): first position (within its
    // sequence) a row may attend to. Fills per-row losses (0 for ignored rows).
    // keep = false is inference (no backward may follow): layer by layer through one layer's
    // buffers, nothing stored per layer; the same ops on the same numbers, so its losses and hidden
    // states equal a keeping forward's bit for bit. The per-layer buffers a keeping forward needs
    // are allocated by the first one, so a trainer used only for inference never holds them.
    void forward(const int32_t* tokens, const int32_t* targets, const int64_t* doc_start, bool keep = true);

    // Mean cross-entropy over counted rows of the last forward; counted rows out.
    double mean_loss(int64_t* counted) const;
    // The last forward's outputs, downloaded on the first read after it (host copies).
    const std::vector<float>& row_losses() const;   // -logprob of targets
    const std::vector<float>& hidden() const;       // (B·T, dim), after the norm
    // dst (B·T × dim) = hidden(), downloaded straight into dst.
    void read_hidden(float* dst) const;
    // -Σ p log p of softmax(logits) per row of the last forward (0 for ignored rows); set_entropy(true).
    const std::vector<float>& row_entropy() const;

    // KL(adapter on ‖ adapter off) of the next-token distributions per counted row (kl: B·T, 0 for
    // ignored rows): two inference passes (no dropout, the mask counter untouched), then the head
    // over the counted rows only, both logits of a chunk at a time, reduced per row by the backend
    // (no row of logits leaves it). Needs an adapter; leaves hidden() = the adapter-on states and
    // no backward possible.
    void infer_kl(const int32_t* tokens, const int32_t* targets, const int64_t* doc_start, float* kl);

    // Backward of the last forward with d loss/d row_losses (B·T) and/or d loss/d hidden
    // (B·T × dim), either NULL. Trainable gradients += grad_scale · gradient. Once per forward.
    void backward(const float* d_row_losses, const float* d_hidden, float grad_scale);

    int64_t rows() const { return N_; }
    // Bytes held in this trainer's backend buffers now (the counting hook tests read; the host
    // copies of outputs read back are not counted), and those of the logits chunk alone.
    int64_t buffer_bytes() const { return bytes_; }
    int64_t logits_bytes() const { return logits_.bytes(); }
    int64_t head_rows() const { return head_rows_; }

private:
    Trainer(const LlamaModel& model, LoraAdapter* lora, FullParams* full, const TrainConfig& config,
            Backend& backend);
    void alloc(DeviceBuffer& b, int64_t n, int64_t elem_bytes = sizeof(float));
    void zero(DeviceBuffer& b) { be_.fill_zero(b.data(), b.bytes()); }
    template <typename T>
    const std::vector<T>& mirror(std::vector<T>& host, bool& fresh, const DeviceBuffer& b) const;
    void alloc_layer(LayerActs& A);
    void alloc_grad_buffers();
    int64_t head_chunks(int64_t rows) const;
    void head_chunk(int64_t c, int64_t rows, int64_t* r0, int64_t* n) const;
    void head_forward();
    void head_backward(const float* d_row_losses);  // d_row_losses in backend memory
    void layer_forward(int64_t l, LayerActs& A, float* x);
    void layer_backward(int64_t l, LayerActs& A, float* dx, const float* x_in, bool need_dx);
    void proj(int64_t l, int t, float* out, const float* in, LayerActs& A);
    void proj_backward(int64_t l, int t, float* dx, bool accumulate, const float* dy, const float* in,
                       LayerActs& A);
    bool lora_on(int64_t l, int t) const { return lora_ && adapter_on_ && lora_->has(l, t); }
    uint64_t mask_seed(int64_t l, int t) const;
    float dropout() const { return training_ && lora_ ? lora_->config().dropout : 0.f; }
    LayerActs& acts(int64_t l) { return acts_[cfg_.checkpointing || acts_.size() == 1 ? 0 : l]; }

    const LlamaModel& model_;
    Backend& be_;
    LoraAdapter* lora_;
    FullParams* full_;
    const LlamaWeights& w_; // the model's, or full_'s
    TrainConfig cfg_;
    int64_t N_, head_rows_;
    int64_t bytes_ = 0;
    bool adapter_on_ = true, training_ = true, ready_ = false, grad_buffers_ = false;
    bool logits_held_ = false;  // the last head_forward's logits are all in logits_ (one chunk)
    bool entropy_on_ = false;
    uint64_t calls_ = 0;
    float grad_scale_ = 1.f;

    // Backend memory. Rows r = sequence·T + position.
    DeviceBuffer tokens_, seq_, targets_;  // (N) int32
    DeviceBuffer pos_, first_;             // (N) int64: position, first attendable position
    DeviceBuffer rope_cs_;                 // (N, n_rot)
    DeviceBuffer x_, tmp_, hidden_;        // (N, dim) residual stream, a projection's output, final norm
    DeviceBuffer tmp_x_;                   // (N, dim) the recomputed layer's input (checkpointing)
    DeviceBuffer inv_f_, losses_;          // (N)
    DeviceBuffer logits_;                  // (head_rows_, n_vocab): one chunk of the head
    DeviceBuffer entropy_;                 // (N) with set_entropy, else none
    // infer_kl only (allocated by its first call): the counted rows' hidden states of both
    // passes (N, dim), the reference's chunk of logits, the chunk's KL (head_rows_)
    DeviceBuffer kl_hp_, kl_hq_, kl_logits_, kl_out_;
    std::vector<DeviceBuffer> x_in_;       // (n_layers) × (N, dim) input of each layer (keeping forwards only)
    std::vector<LayerActs> acts_;          // (n_layers), or (1) with checkpointing / before any keeping forward
    // backward scratch: (N, dim) dx, dxn, d_att, dq; (N, kv_dim) dk, dv; (N, ffn) d_hact, d_gate,
    // d_up; (N) d loss / d row losses
    DeviceBuffer dx_, dxn_, d_att_, dq_, dk_, dv_, d_hact_, d_gate_, d_up_, dlosses_;
    LoraScratch ls_;
    // Host side: which rows count and where documents start (checked and uploaded per forward),
    // and the outputs' copies, downloaded when read.
    std::vector<int32_t> targets_h_;
    std::vector<int64_t> first_h_;
    mutable std::vector<float> losses_h_, hidden_h_, entropy_h_;
    mutable bool losses_fresh_ = false, hidden_fresh_ = false, entropy_fresh_ = false;
};

}  // namespace sl4j
