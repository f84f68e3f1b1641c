// A decoding session: a KV cache for n_seq sequences of up to n_ctx positions,
// and the forward pass over a batch of tokens drawn from any of them.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "cpu/matmul.h"
#include "model/llama_model.h"
#include "model/sampler.h"
#include "stackllama4j.h"
#include "train/lora.h"

namespace sl4j {

// Keys and values in F16 (the default: half the bytes, attention decodes them) or F32, in the
// session backend's memory.
struct KvCache {
    int64_t n_seq = 0, n_ctx = 0, n_layers = 0, kv_dim = 0;
    int32_t type = SL4J_TYPE_F16;   // SL4J_TYPE_F16 or SL4J_TYPE_F32
    DeviceBuffer k, v;              // (n_layers, n_seq, n_ctx, kv_dim) of type
    std::vector<int64_t> length;    // (n_seq) positions filled (host)

    int64_t seq_stride() const { return n_ctx * kv_dim; }
    int64_t layer_offset(int64_t l) const { return l * n_seq * seq_stride(); }
    int64_t bytes() const { return k.bytes() + v.bytes(); }
};

// Buffers of one forward pass over N rows in the session backend's memory; grown on demand,
// reused across calls.
struct Activations {
    DeviceBuffer x;       // (N, dim) residual stream
    DeviceBuffer xb;      // (N, dim) normed input of a sub-layer
    DeviceBuffer xb2;     // (N, dim) sub-layer output
    DeviceBuffer q;       // (N, dim)
    DeviceBuffer k;       // (N, kv_dim)
    DeviceBuffer v;       // (N, kv_dim)
    DeviceBuffer att;     // (N, dim) attention output before wo
    DeviceBuffer hb;      // (N, ffn) gate, then silu(gate)·up
    DeviceBuffer hb2;     // (N, ffn) up
    DeviceBuffer rope_cs; // (N, n_rot) cos/sin per row
    DeviceBuffer out_x;   // (n_out, dim) rows producing outputs, gathered (when not every row)
    DeviceBuffer lora_u;  // (N, r) A·x of one adapted projection
    // The batch's index arrays: built on the host, uploaded once per decode (device backends).
    std::vector<int64_t> pos;      // (N)
    std::vector<int64_t> first;    // (N) first visible position (document start)
    std::vector<int32_t> seq;      // (N)
    std::vector<int64_t> kv_off;   // (N) offset of the row's keys/values within a layer of the cache
    std::vector<int64_t> next_pos; // (n_seq) scratch: next free position while assigning rows
    DeviceBuffer d_tokens, d_pos, d_first, d_seq, d_kv_off; // device copies of the above
    // What the backend reads for this decode (the host vectors or their device copies).
    const int32_t* b_seq = nullptr;
    const int64_t *b_pos = nullptr, *b_first = nullptr, *b_kv_off = nullptr;
};

class LlamaSession {
public:
    // Runs every op on the model's backend. kv_type: SL4J_TYPE_F16 (default) or SL4J_TYPE_F32.
    LlamaSession(const LlamaModel& model, int64_t n_seq, int64_t n_ctx, int32_t kv_type = SL4J_TYPE_F16);
    // Runs every op on `backend` (which must outlive the session and reach the model's memory).
    LlamaSession(const LlamaModel& model, int64_t n_seq, int64_t n_ctx, Backend& backend,
                 int32_t kv_type = SL4J_TYPE_F16);

    // Appends tokens[i] to sequence seq_ids[i] (NULL = all sequence 0) at that sequence's next
    // position, in order. For rows with outputs[i] != 0 (NULL = every row), keeps the final
    // hidden state (after the output norm) and, when want_logits, the logits.
    // doc_start (optional): per row, the first position the row may attend to (isolates packed
    // documents); NULL = 0.
    void decode(const int32_t* tokens, const int32_t* seq_ids, const int8_t* outputs, const int64_t* doc_start,
                int64_t n_tokens, bool want_logits);

    int64_t n_outputs() const { return n_outputs_; }
    // (n_outputs, n_vocab) and (n_outputs, dim) on the host: on a device backend downloaded at the
    // first call after a decode, on the CPU the buffers the decode wrote.
    const std::vector<float>& logits() const;
    const std::vector<float>& hidden() const;
    // One output row's logits on the host (n_vocab floats; a device backend downloads that row
    // alone), valid until the next call.
    const float* logits_row(int64_t row) const;
    bool has_logits() const { return has_logits_; }
    // Greedy choice for every output row of the last decode (logits needed): tokens[r] = the
    // row's argmax (ties: the lower id), logprobs[r] its log-probability, computed by the
    // backend: a device reads back 8 bytes per row, not the logits.
    void greedy(int32_t* tokens, float* logprobs);
    // One sampled pick per entry, computed by the backend (Backend::sample_rows): pick i from
    // output row rows[i] with samplers[i]'s controls, penalty window and next random number,
    // banned[i] excluded (-1 or banned NULL: none); tokens[i] and logprobs[i] (log softmax of
    // the raw row) receive it. The picks are not accepted into the windows. A device uploads
    // the picks' controls (56 bytes each) and adjusted tokens (12 bytes each, when any) and
    // reads back 8 bytes per pick; on the CPU the same code runs in place. Throws as
    // TokenSampler::sample does (every token banned, no finite logit).
    void sample(TokenSampler* const* samplers, const int32_t* rows, const int32_t* banned, int64_t n, int32_t* tokens,
                float* logprobs) const;
    // log softmax(logits of output row)[target], computed by the session's backend.
    float logprob(int64_t row, int32_t target) const;

    int64_t length(int64_t seq) const;
    void reset(int64_t seq); // -1 = every sequence
    // Forget positions >= len of one sequence (rewind after speculative work).
    void truncate(int64_t seq, int64_t len);
    int64_t n_seq() const { return cache_.n_seq; }
    int64_t n_ctx() const { return cache_.n_ctx; }
    int32_t kv_type() const { return cache_.type; }
    // Precision of the projections (cpu/matmul.h); kExact by default. kFast has the model repack
    // its weights for the integer kernels first (LlamaModel::prepare_fast), once per model.
    void set_precision(cpu::Precision p) {
        if (p == cpu::Precision::kFast) model_.prepare_fast();
        precision_ = p;
    }
    cpu::Precision precision() const { return precision_; }
    int64_t kv_bytes() const { return cache_.bytes(); }
    const LlamaModel& model() const { return model_; }

    // Attach a LoRA adapter (NULL detaches): every adapted projection becomes W·x + scale·B·A·x,
    // computed on the fly (no merged copy). The adapter must outlive its use; enabled = false
    // runs the base model while keeping the attachment. The adapter's tensors must be in the
    // session's backend memory (or both host memory): SL4J_ERR_INVALID_ARGUMENT otherwise.
    void set_lora(const LoraAdapter* lora, bool enabled);

private:
    void assign_positions(const int32_t* seq_ids, const int64_t* doc_start, int64_t n);
    // The batch's index arrays as the backend sees them (uploaded unless host memory).
    template <typename T>
    const T* to_backend(DeviceBuffer& d, const T* host, int64_t n);
    void layer_forward(int64_t l, int64_t n);
    void grow(int64_t n);
    void proj(int64_t l, std::initializer_list<int> targets, float* const* outs, const float* in, int64_t n);

    const LlamaModel& model_;
    Backend& be_;
    KvCache cache_;
    Activations a_;
    DeviceBuffer logits_dev_, hidden_dev_;          // outputs in backend memory (device backends)
    DeviceBuffer greedy_dev_;                       // (n_outputs) ids, then (n_outputs) log-probs
    mutable DeviceBuffer pick_dev_;                 // sample(): (n) ids, then (n) log-probs
    mutable DeviceBuffer pick_params_dev_, pick_adjust_dev_, pick_scratch_dev_;  // sample()'s inputs
    mutable std::vector<SampleRowParams> pick_params_;  // sample(): the picks' controls (host)
    mutable std::vector<SampleAdjust> pick_adjust_;     //   and adjusted tokens
    mutable std::vector<int32_t> pick_out_;             //   the ids and log-prob bits read back
    mutable std::vector<float> logits_, hidden_;    // the host's: written in place on the CPU
    mutable std::vector<float> row_;                // one downloaded row of logits
    mutable bool logits_on_host_ = false, hidden_on_host_ = false;
    const float* logits_be_ = nullptr;              // the last decode's logits and hidden states in
    const float* hidden_be_ = nullptr;              //   backend memory
    int64_t n_outputs_ = 0;
    bool has_logits_ = false;
    const LoraAdapter* lora_ = nullptr;
    bool lora_enabled_ = false;
    cpu::Precision precision_ = cpu::Precision::kExact;
    LoraScratch lora_scratch_;
};

}  // namespace sl4j
