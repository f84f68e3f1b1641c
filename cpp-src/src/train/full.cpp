#include "train/full.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/types.h"
#include "quant/quant.h"

namespace sl4j {

namespace {

constexpr int32_t kF32 = 0;

// Decodes `w` (rows of w.in elements in w.type, in be's memory) into dst (host memory).
void decode(Backend& be, const Weight& w, float* dst) {
    const int64_t row_bytes = type_row_bytes(w.type, w.in);
    std::vector<uint8_t> stored(size_t(row_bytes * w.out));
    be.download(stored.data(), w.data, row_bytes * w.out);
    for (int64_t r = 0; r < w.out; ++r) dequantize_row(w.type, stored.data() + r * row_bytes, dst + r * w.in, w.in);
}

}  // namespace

FullParams::FullParams(const LlamaModel& model) : ParamSet(model.backend()) {
    Backend& be = model.backend();
    const LlamaHparams& h = model.hparams();
    const LlamaWeights& src = model.weights();
    // Every tensor is created before any pointer to its values is taken (tensors_ never grows after).
    tensors_.reserve(size_t(1 + 9 * h.n_layers + 2));
    // Each tensor through host memory once: downloaded in its stored type, decoded, uploaded.
    std::vector<float> host;
    auto matrix = [&](const std::string& name, const Weight& w) {
        ParamTensor& T = add(name, w.out, w.in);
        host.resize(size_t(T.size()));
        decode(be, w, host.data());
        T.w.upload(host.data());
    };
    auto vector = [&](const std::string& name, const float* v) {
        ParamTensor& T = add(name, 1, h.dim);
        be.copy(T.w.data(), v, h.dim * int64_t(sizeof(float)));  // both in the model's backend
    };
    matrix("token_embd.weight", src.tok_embd);
    for (int64_t l = 0; l < h.n_layers; ++l) {
        const LayerWeights& L = src.layers[size_t(l)];
        const std::string p = "blk." + std::to_string(l) + ".";
        vector(p + "attn_norm.weight", L.attn_norm);
        matrix(p + "attn_q.weight", L.wq);
        matrix(p + "attn_k.weight", L.wk);
        matrix(p + "attn_v.weight", L.wv);
        matrix(p + "attn_output.weight", L.wo);
        vector(p + "ffn_norm.weight", L.ffn_norm);
        matrix(p + "ffn_gate.weight", L.gate);
        matrix(p + "ffn_up.weight", L.up);
        matrix(p + "ffn_down.weight", L.down);
    }
    vector("output_norm.weight", src.output_norm);
    if (!src.tied_output) matrix("output.weight", src.output);

    size_t next = 0;
    auto weight = [&](const Weight& shape) {
        ParamTensor& T = tensors_[next++];
        Weight w = shape;
        w.data = T.w.data();
        w.type = kF32;
        return w;
    };
    auto norm = [&]() { return tensors_[next++].w.data(); };
    view_.tok_embd = weight(src.tok_embd);
    view_.layers.resize(src.layers.size());
    for (size_t l = 0; l < src.layers.size(); ++l) {
        const LayerWeights& S = src.layers[l];
        LayerWeights& L = view_.layers[l];
        L.attn_norm = norm();
        L.wq = weight(S.wq);
        L.wk = weight(S.wk);
        L.wv = weight(S.wv);
        L.wo = weight(S.wo);
        L.ffn_norm = norm();
        L.gate = weight(S.gate);
        L.up = weight(S.up);
        L.down = weight(S.down);
    }
    view_.output_norm = norm();
    view_.tied_output = src.tied_output;
    view_.rope_freqs = src.rope_freqs;
    view_.output = src.tied_output ? view_.tok_embd : weight(src.output);
    if (next != tensors_.size())
        SL4J_FAIL(SL4J_ERR_INTERNAL, "full parameters: %zu views for %zu tensors", next, tensors_.size());
    for (ParamTensor& T : tensors_) grad_by_value_[T.w.data()] = T.grad.data();
}

float* FullParams::grad_of(const void* values) const {
    auto it = grad_by_value_.find(values);
    if (it == grad_by_value_.end()) SL4J_FAIL(SL4J_ERR_INTERNAL, "full parameters: no trainable tensor at %p", values);
    return it->second;
}

}  // namespace sl4j
