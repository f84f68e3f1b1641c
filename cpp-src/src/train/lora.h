// LoRA adapters over a frozen LLaMA: for each chosen projection of each layer, y = W·x +
// (alpha/r)·B·A·dropout(x) with A (r × in, PEFT's kaiming-uniform init: U(±1/sqrt(in))) and
// B (out × r, zeros). Only A and B are trainable; each tensor carries its gradient and AdamW's
// moments. Names and shapes follow llama.cpp's LoRA GGUF: "blk.N.attn_q.weight.lora_a" with
// ggml dims {in, r}, ".lora_b" with dims {r, out} (row-major A and B as stored here).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/hash.h"
#include "model/hparams.h"
#include "train/params.h"

namespace sl4j {

enum LoraTarget { kLoraQ, kLoraK, kLoraV, kLoraO, kLoraGate, kLoraUp, kLoraDown, kLoraNumTargets };

// "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down".
const char* lora_target_name(int target);

struct LoraConfig {
    int64_t r = 16;
    float alpha = 32.f;
    float dropout = 0.05f;
    uint32_t targets = (1u << kLoraQ) | (1u << kLoraV); // bit t set: adapt target t
    uint64_t seed = 42;                                 // init of A and dropout masks
};

// A: r × in, B: out × r.
using LoraTensor = ParamTensor;

class LoraAdapter final : public ParamSet {
public:
    // The tensors in `be`'s memory (A's initial values uploaded once), by default in host memory.
    LoraAdapter(const LlamaHparams& h, const LoraConfig& config, Backend& be = host_backend());

    const LoraConfig& config() const { return config_; }
    float scale() const { return config_.alpha / float(config_.r); }
    bool has(int64_t layer, int target) const { return index_[layer * kLoraNumTargets + target] >= 0; }
    // A and B of (layer, target); has() must hold.
    LoraTensor& a(int64_t layer, int target) { return tensors_[index_[layer * kLoraNumTargets + target]]; }
    LoraTensor& b(int64_t layer, int target) { return tensors_[index_[layer * kLoraNumTargets + target] + 1]; }
    const LoraTensor& a(int64_t layer, int target) const { return tensors_[index_[layer * kLoraNumTargets + target]]; }
    const LoraTensor& b(int64_t layer, int target) const {
        return tensors_[index_[layer * kLoraNumTargets + target] + 1];
    }
    int64_t n_layers() const { return n_layers_; }

private:
    LoraConfig config_;
    int64_t n_layers_ = 0;
    std::vector<int64_t> index_; // (layer, target) -> index of A in tensors_ (per layer, per target: A then B), or -1
};

// Per-call scratch of the adapter products in the backend's memory (grown on demand).
struct LoraScratch {
    DeviceBuffer xd, du, tmp;
};

// y += scale·B·A·drop(x) over n rows; u (n × r) receives A·drop(x) for the backward. dropout > 0
// drops input elements with a mask drawn from mask_seed (the same seed gives the same mask, so
// recomputation and backward see the forward's mask). Every op runs on `be`.
void lora_forward(Backend& be, float* y, float* u, const float* x, const LoraTensor& A, const LoraTensor& B,
                  float scale, float dropout, uint64_t mask_seed, int64_t n, LoraScratch& s);

// Given dy (n × out): A.grad, B.grad += grad_scale·(their gradients) and, when dx is not NULL,
// dx += the adapter's input gradient. x and u as in the forward (same dropout and mask_seed).
void lora_backward(Backend& be, float* dx, LoraTensor& A, LoraTensor& B, const float* dy, const float* x,
                   const float* u, float scale, float dropout, uint64_t mask_seed, float grad_scale, int64_t n,
                   LoraScratch& s);

}  // namespace sl4j
