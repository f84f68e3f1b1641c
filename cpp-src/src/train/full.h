// Full-parameter training: every weight of a LLaMA as a trainable F32 tensor (token embeddings,
// RMSNorm weights, every projection, the output; a tied output is the embedding table, so it has
// one tensor and gets both gradients). Names and shapes are the GGUF's ("token_embd.weight",
// "blk.N.attn_q.weight", ..., "output_norm.weight", "output.weight" when untied); a matrix of ggml
// dims {in, out} is out rows × in columns, a norm is 1 row. The model's weights are decoded to F32
// once, whatever their stored type, into the model's backend (on a device: each tensor downloaded
// once, decoded on the host and uploaded); the model itself is not modified.
#pragma once
#include <unordered_map>

#include "model/llama_model.h"
#include "train/params.h"

namespace sl4j {

class FullParams final : public ParamSet {
public:
    explicit FullParams(const LlamaModel& model);

    // The model's weights as they are now: every pointer names a trainable tensor's values.
    const LlamaWeights& weights() const { return view_; }
    // The gradient of the tensor whose values start at `values` (a pointer of weights()).
    float* grad_of(const void* values) const;

private:
    LlamaWeights view_;
    std::unordered_map<const void*, float*> grad_by_value_;
};

}  // namespace sl4j
