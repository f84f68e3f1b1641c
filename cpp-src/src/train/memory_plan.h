// The memory plan: bytes each part of a command holds at its peak, from the model's shape and the
// command's settings. The one place this arithmetic lives: the trainer's buffers are sized by the
// same formulas (a test checks Trainer::buffer_bytes() against trainer_bytes()), the CLI prints
// and checks the plan (sl4j_memory_plan), and a device backend reuses it.
#pragma once
#include <cstdint>

#include "model/hparams.h"
#include "stackllama4j.h"

namespace sl4j {

// Buffers of one Trainer of batch × seq_len rows (F32 unless noted).
struct TrainerBytes {
    int64_t layer = 0;       // one layer's activations (LayerActs), LoRA u included
    int64_t base = 0;        // what any forward holds: rows' ints, rope, x, tmp, hidden, norms, losses, one layer
    int64_t logits = 0;      // the head's logits chunk
    int64_t kept = 0;        // added by a keeping forward: layer inputs and the other layers (or the checkpoint copy)
    int64_t backward = 0;    // the backward's scratch
    int64_t no_grad() const { return base + logits; }
    int64_t grad() const { return base + logits + kept + backward; }
};
TrainerBytes trainer_bytes(const LlamaHparams& h, int64_t batch, int64_t seq_len, bool checkpointing, int64_t lora_r,
                           uint32_t lora_targets);

// Buffers of a LlamaSession: its KV cache, and the activations of a decode call of `rows` rows of
// which `outputs` produce logits.
int64_t kv_cache_bytes(const LlamaHparams& h, int64_t n_seq, int64_t n_ctx, int32_t kv_type);
int64_t session_activation_bytes(const LlamaHparams& h, int64_t rows, int64_t outputs, int64_t lora_r);

// LoRA floats (A and B of every adapted projection, all layers).
int64_t lora_floats(const LlamaHparams& h, int64_t r, uint32_t targets);

// Floats of full-parameter training (FullParams): every weight of the model in F32. With a tied
// output the embedding table is also the output matrix (one tensor).
int64_t full_floats(const LlamaHparams& h, bool tied_output);

void memory_plan(const LlamaHparams& h, bool tied_output, const sl4j_memory_plan_params& p,
                 sl4j_memory_plan_result* out);

}  // namespace sl4j
