#include "train/lora.h"

#include <cmath>

#include "core/error.h"

namespace sl4j {

namespace {

constexpr int32_t kF32 = 0;

float* grow(Backend& be, DeviceBuffer& b, int64_t n) {
    b.ensure(be, n * int64_t(sizeof(float)));
    return b.f();
}

// xd = x with dropped elements zeroed and kept ones scaled by 1/(1-p) (inverted dropout, as
// torch.nn.Dropout); x itself without dropout.
const float* dropout_input(Backend& be, const float* x, float p, uint64_t seed, int64_t count, LoraScratch& s) {
    if (p <= 0.f) return x;
    float* xd = grow(be, s.xd, count);
    be.dropout(xd, x, p, seed, count);
    return xd;
}

}  // namespace

const char* lora_target_name(int target) {
    static const char* names[kLoraNumTargets] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                                 "ffn_gate", "ffn_up", "ffn_down"};
    return target >= 0 && target < kLoraNumTargets ? names[target] : "?";
}

LoraAdapter::LoraAdapter(const LlamaHparams& h, const LoraConfig& c, Backend& be)
    : ParamSet(be), config_(c), n_layers_(h.n_layers) {
    SL4J_CHECK_ARG(c.r >= 1 && c.r <= 4096, "LoRA rank r must be in [1, 4096], got %lld", (long long)c.r);
    SL4J_CHECK_ARG(c.alpha > 0 && std::isfinite(c.alpha), "LoRA alpha must be positive, got %g", double(c.alpha));
    SL4J_CHECK_ARG(c.dropout >= 0 && c.dropout < 1, "LoRA dropout must be in [0, 1), got %g", double(c.dropout));
    SL4J_CHECK_ARG(c.targets != 0 && c.targets < (1u << kLoraNumTargets),
                   "LoRA targets bitmask 0x%x must name at least one of q,k,v,o,gate,up,down (bits 0..6)",
                   unsigned(c.targets));
    const int64_t in[kLoraNumTargets] = {h.dim, h.dim, h.dim, h.dim, h.dim, h.dim, h.ffn};
    const int64_t out[kLoraNumTargets] = {h.dim, h.kv_dim(), h.kv_dim(), h.dim, h.ffn, h.ffn, h.dim};
    index_.assign(size_t(h.n_layers * kLoraNumTargets), -1);
    for (int64_t l = 0; l < h.n_layers; ++l)
        for (int t = 0; t < kLoraNumTargets; ++t) {
            if (!(c.targets & (1u << t))) continue;
            index_[l * kLoraNumTargets + t] = int64_t(tensors_.size());
            const std::string base = "blk." + std::to_string(l) + "." + lora_target_name(t) + ".weight.lora_";
            add(base + "a", c.r, in[t]);
            add(base + "b", out[t], c.r); // B = 0
            // PEFT: kaiming_uniform_(a=sqrt(5)) on A gives U(-1/sqrt(in), 1/sqrt(in)).
            LoraTensor& A = tensors_[tensors_.size() - 2];
            const double bound = 1.0 / std::sqrt(double(in[t]));
            const uint64_t s = mix64(c.seed ^ mix64(uint64_t(l * kLoraNumTargets + t + 1)));
            std::vector<float> init(size_t(A.size()));
            for (int64_t i = 0; i < A.size(); ++i) {
                const double u = double(mix64(s + uint64_t(i)) >> 11) / double(1ull << 53);
                init[size_t(i)] = float((2.0 * u - 1.0) * bound);
            }
            A.w.upload(init.data());
        }
}

void lora_forward(Backend& be, float* y, float* u, const float* x, const LoraTensor& A, const LoraTensor& B,
                  float scale, float dropout, uint64_t mask_seed, int64_t n, LoraScratch& s) {
    const int64_t in = A.cols, r = A.rows, out = B.rows;
    const float* xd = dropout_input(be, x, dropout, mask_seed, n * in, s);
    be.matmul(u, A.w.data(), kF32, xd, n, in, r);
    float* t = grow(be, s.tmp, n * out);
    be.matmul(t, B.w.data(), kF32, u, n, r, out);
    be.add_scaled(y, t, scale, n * out);
}

void lora_backward(Backend& be, float* dx, LoraTensor& A, LoraTensor& B, const float* dy, const float* x,
                   const float* u, float scale, float dropout, uint64_t mask_seed, float grad_scale, int64_t n,
                   LoraScratch& s) {
    const int64_t in = A.cols, r = A.rows, out = B.rows;
    // y = scale·u·Bᵀ:  dB += scale·dyᵀ·u,  du = scale·dy·B.
    be.outer_accumulate(B.grad.data(), dy, u, n, out, r, grad_scale * scale);
    float* du = grow(be, s.du, n * r);
    be.matmul_transposed(du, B.w.data(), kF32, dy, n, r, out);
    be.scale(du, scale, n * r);
    // u = xd·Aᵀ:  dA += duᵀ·xd,  dxd = du·A, and dropout's gradient is its own mask.
    const float* xd = dropout_input(be, x, dropout, mask_seed, n * in, s);
    be.outer_accumulate(A.grad.data(), du, xd, n, r, in, grad_scale);
    if (dx == nullptr) return;
    float* t = grow(be, s.tmp, n * in);
    be.matmul_transposed(t, A.w.data(), kF32, du, n, in, r);
    if (dropout > 0.f)
        be.dropout_backward(dx, t, dropout, mask_seed, n * in);
    else
        be.residual(dx, t, n * in);
}

}  // namespace sl4j
