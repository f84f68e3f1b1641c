// The memory targets of a 7B model on a 24 GB card, as memory plan settings: gpu_bench prints
// their device figures and memory_test asserts they fit. The caller sets weight_bytes, device and
// runtime_bytes.
#pragma once

#include "stackllama4j.h"

namespace sl4j::bench {

// LoRA r16 SFT at sequence 1024 × batch 4, activation checkpointing on.
inline sl4j_memory_plan_params sft_7b_target() {
    sl4j_memory_plan_params p = sl4j_memory_plan_default_params();
    p.mode = SL4J_PLAN_SFT;
    p.batch = 4;
    p.seq_len = 1024;
    p.checkpointing = 1;
    p.lora_r = 16;
    return p;
}

// PPO step, batch 8 × (256 prompt + 128 response): a rollout session of 8 × 384 positions (F16 KV
// cache, every prompt prefilled at once), no-grad passes of the policy (old), reference (adapter
// off), value and reward model on the same trunk (2 × 8 sequences), and the training mini-batch
// of all 8 at the padded length 512, checkpointing on.
inline sl4j_memory_plan_params ppo_7b_target() {
    sl4j_memory_plan_params p = sl4j_memory_plan_default_params();
    p.mode = SL4J_PLAN_PPO;
    p.batch = 8;
    p.seq_len = 512;
    p.checkpointing = 1;
    p.lora_r = 16;
    p.infer_batch = 16;
    p.infer_seq_len = 512;
    p.kv_seqs = 8;
    p.kv_ctx = 384;
    p.kv_type = SL4J_TYPE_F16;
    p.prefill_rows = 8 * 256;
    return p;
}

}  // namespace sl4j::bench
