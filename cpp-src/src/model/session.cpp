#include "model/session.h"

#include <algorithm>

#include "core/error.h"
#include "quant/quant.h"

namespace sl4j {

namespace {
void linear(Backend& be, float* out, const Weight& w, const float* x, int64_t n, cpu::Precision precision) {
    const cpu::MatmulPart part{out, w.data, w.type, w.out};
    be.matmul_parts(&part, 1, x, n, w.in, precision);
}
template <typename T>
void ensure(std::vector<T>& v, int64_t n) {
    if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
}
}  // namespace

LlamaSession::LlamaSession(const LlamaModel& model, int64_t n_seq, int64_t n_ctx, int32_t kv_type)
    : LlamaSession(model, n_seq, n_ctx, model.backend(), kv_type) {}

LlamaSession::LlamaSession(const LlamaModel& model, int64_t n_seq, int64_t n_ctx, Backend& backend, int32_t kv_type)
    : model_(model), be_(backend) {
    const LlamaHparams& h = model.hparams();
    SL4J_CHECK_ARG(n_seq >= 1 && n_seq <= 4096, "n_seq must be in [1, 4096], got %lld", (long long)n_seq);
    SL4J_CHECK_ARG(n_ctx >= 1 && n_ctx <= (int64_t(1) << 20), "n_ctx must be in [1, 2^20], got %lld", (long long)n_ctx);
    SL4J_CHECK_ARG(kv_type == SL4J_TYPE_F16 || kv_type == SL4J_TYPE_F32,
                   "KV cache type must be f16 (%d) or f32 (%d), got %d", SL4J_TYPE_F16, SL4J_TYPE_F32, kv_type);
    cache_.type = kv_type;
    cache_.n_seq = n_seq;
    cache_.n_ctx = n_ctx;
    cache_.n_layers = h.n_layers;
    cache_.kv_dim = h.kv_dim();
    const int64_t cells = h.n_layers * n_seq * n_ctx * h.kv_dim();
    if (kv_type == SL4J_TYPE_F32) {
        cache_.k.assign(static_cast<size_t>(cells), 0.f);
        cache_.v.assign(static_cast<size_t>(cells), 0.f);
    } else {
        cache_.k16.assign(static_cast<size_t>(cells), 0);
        cache_.v16.assign(static_cast<size_t>(cells), 0);
    }
    cache_.length.assign(static_cast<size_t>(n_seq), 0);
}

int64_t LlamaSession::length(int64_t seq) const {
    SL4J_CHECK_ARG(seq >= 0 && seq < cache_.n_seq, "sequence %lld is outside [0, %lld)", (long long)seq,
                   (long long)cache_.n_seq);
    return cache_.length[seq];
}

void LlamaSession::reset(int64_t seq) {
    if (seq < 0) {
        std::fill(cache_.length.begin(), cache_.length.end(), 0);
        return;
    }
    truncate(seq, 0);
}

void LlamaSession::truncate(int64_t seq, int64_t len) {
    SL4J_CHECK_ARG(seq >= 0 && seq < cache_.n_seq, "sequence %lld is outside [0, %lld)", (long long)seq,
                   (long long)cache_.n_seq);
    SL4J_CHECK_ARG(len >= 0 && len <= cache_.length[seq], "cannot truncate sequence %lld of length %lld to %lld",
                   (long long)seq, (long long)cache_.length[seq], (long long)len);
    cache_.length[seq] = len;
}

void LlamaSession::grow(int64_t n) {
    const LlamaHparams& h = model_.hparams();
    ensure(a_.x, n * h.dim);
    ensure(a_.xb, n * h.dim);
    ensure(a_.xb2, n * h.dim);
    ensure(a_.q, n * h.dim);
    ensure(a_.k, n * h.kv_dim());
    ensure(a_.v, n * h.kv_dim());
    ensure(a_.att, n * h.dim);
    ensure(a_.hb, n * h.ffn);
    ensure(a_.hb2, n * h.ffn);
    ensure(a_.rope_cs, n * h.n_rot);
    ensure(a_.pos, n);
    ensure(a_.first, n);
    ensure(a_.seq, n);
}

void LlamaSession::assign_positions(const int32_t* seq_ids, const int64_t* doc_start, int64_t n) {
    std::vector<int64_t>& next = a_.next_pos;  // reused: no allocation per decoded token
    next.assign(cache_.length.begin(), cache_.length.end());
    for (int64_t r = 0; r < n; ++r) {
        int32_t s = seq_ids ? seq_ids[r] : 0;
        SL4J_CHECK_ARG(s >= 0 && s < cache_.n_seq, "row %lld names sequence %d, the session has %lld", (long long)r, s,
                       (long long)cache_.n_seq);
        if (next[s] >= cache_.n_ctx)
            SL4J_FAIL(SL4J_ERR_INVALID_ARGUMENT, "sequence %d is full: its context holds %lld positions", s,
                      (long long)cache_.n_ctx);
        a_.seq[r] = s;
        a_.pos[r] = next[s]++;
        a_.first[r] = doc_start ? doc_start[r] : 0;
        SL4J_CHECK_ARG(a_.first[r] >= 0 && a_.first[r] <= a_.pos[r],
                       "row %lld: document start %lld is after its position %lld", (long long)r,
                       (long long)a_.first[r], (long long)a_.pos[r]);
    }
}

void LlamaSession::decode(const int32_t* tokens, const int32_t* seq_ids, const int8_t* outputs,
                          const int64_t* doc_start, int64_t n, bool want_logits) {
    SL4J_CHECK_ARG(tokens != nullptr && n >= 1, "decode needs at least one token");
    const LlamaHparams& h = model_.hparams();
    const LlamaWeights& w = model_.weights();
    grow(n);
    assign_positions(seq_ids, doc_start, n);

    be_.embedding(a_.x.data(), tokens, w.tok_embd.data, w.tok_embd.type, n, h.dim, h.n_vocab);
    be_.rope_cache(a_.rope_cs.data(), a_.pos.data(), n, h.n_rot, h.rope_base, h.rope_linear_factor,
                   h.rope_freq_factors.empty() ? nullptr : h.rope_freq_factors.data());
    for (int64_t l = 0; l < h.n_layers; ++l) layer_forward(l, n);
    for (int64_t r = 0; r < n; ++r) cache_.length[a_.seq[r]] = std::max(cache_.length[a_.seq[r]], a_.pos[r] + 1);

    // Gather the rows that produce outputs, then the final norm and the vocabulary projection.
    n_outputs_ = 0;
    for (int64_t r = 0; r < n; ++r)
        if (outputs == nullptr || outputs[r]) ++n_outputs_;
    ensure(a_.out_x, n_outputs_ * h.dim);
    for (int64_t r = 0, o = 0; r < n; ++r)
        if (outputs == nullptr || outputs[r])
            std::copy_n(a_.x.data() + r * h.dim, h.dim, a_.out_x.data() + (o++) * h.dim);
    hidden_.resize(static_cast<size_t>(n_outputs_ * h.dim));
    be_.rmsnorm(hidden_.data(), nullptr, a_.out_x.data(), w.output_norm, n_outputs_, h.dim,
                         float(h.rms_eps));
    has_logits_ = want_logits;
    if (want_logits && n_outputs_ > 0) {
        logits_.resize(static_cast<size_t>(n_outputs_ * h.n_vocab));
        linear(be_, logits_.data(), w.output, hidden_.data(), n_outputs_, precision_);
    }
}

float LlamaSession::logprob(int64_t row, int32_t target) const {
    const int64_t V = model_.hparams().n_vocab;
    SL4J_CHECK_ARG(has_logits_ && row >= 0 && row < n_outputs_, "row %lld has no logits (%lld output rows)",
                   (long long)row, (long long)(has_logits_ ? n_outputs_ : 0));
    return be_.log_softmax_at(logits_.data() + row * V, V, target);
}

void LlamaSession::set_lora(const LoraAdapter* lora, bool enabled) {
    SL4J_CHECK_ARG(lora == nullptr || lora->n_layers() == model_.hparams().n_layers,
                   "the adapter has %lld layers, the model %lld", (long long)(lora ? lora->n_layers() : 0),
                   (long long)model_.hparams().n_layers);
    lora_ = lora;
    lora_enabled_ = enabled;
}

// The projections of layer l named by targets[i] (all reading `in`) into outs[i]:
// one grouped product of the base weights, then each target's LoRA term.
void LlamaSession::proj(int64_t l, std::initializer_list<int> targets, float* const* outs, const float* in, int64_t n) {
    const LayerWeights& L = model_.weights().layers[l];
    const Weight* w[kLoraNumTargets] = {&L.wq, &L.wk, &L.wv, &L.wo, &L.gate, &L.up, &L.down};
    cpu::MatmulPart parts[kLoraNumTargets];
    int n_parts = 0;
    for (int t : targets) {
        parts[n_parts] = {outs[n_parts], w[t]->data, w[t]->type, w[t]->out};
        ++n_parts;
    }
    be_.matmul_parts(parts, n_parts, in, n, w[*targets.begin()]->in, precision_);
    if (!lora_ || !lora_enabled_) return;
    int i = 0;
    for (int t : targets) {
        if (lora_->has(l, t)) {
            ensure(lora_u_, n * lora_->config().r);
            lora_forward(be_, outs[i], lora_u_.data(), in, lora_->a(l, t), lora_->b(l, t), lora_->scale(), 0.f, 0, n,
                         lora_scratch_);
        }
        ++i;
    }
}

void LlamaSession::layer_forward(int64_t l, int64_t n) {
    const LlamaHparams& h = model_.hparams();
    const LayerWeights& L = model_.weights().layers[l];
    const int64_t kv = h.kv_dim();

    // attention block
    be_.rmsnorm(a_.xb.data(), nullptr, a_.x.data(), L.attn_norm, n, h.dim, float(h.rms_eps));
    float* qkv[] = {a_.q.data(), a_.k.data(), a_.v.data()};
    proj(l, {kLoraQ, kLoraK, kLoraV}, qkv, a_.xb.data(), n);
    be_.rope(a_.q.data(), a_.rope_cs.data(), n, h.n_heads, h.head_dim, h.n_rot);
    be_.rope(a_.k.data(), a_.rope_cs.data(), n, h.n_kv_heads, h.head_dim, h.n_rot);
    const int64_t base = cache_.layer_offset(l);
    if (cache_.type == SL4J_TYPE_F32) {
        float* kc = cache_.k.data() + base;
        float* vc = cache_.v.data() + base;
        for (int64_t r = 0; r < n; ++r) {
            const int64_t off = a_.seq[r] * cache_.seq_stride() + a_.pos[r] * kv;
            std::copy_n(a_.k.data() + r * kv, kv, kc + off);
            std::copy_n(a_.v.data() + r * kv, kv, vc + off);
        }
        be_.attention(a_.att.data(), a_.q.data(), kc, vc, a_.seq.data(), a_.pos.data(), a_.first.data(), n,
                      h.n_heads, h.n_kv_heads, h.head_dim, cache_.seq_stride());
    } else {
        uint16_t* kc = cache_.k16.data() + base;
        uint16_t* vc = cache_.v16.data() + base;
        for (int64_t r = 0; r < n; ++r) {
            const int64_t off = a_.seq[r] * cache_.seq_stride() + a_.pos[r] * kv;
            quantize_row(SL4J_TYPE_F16, a_.k.data() + r * kv, kc + off, kv);
            quantize_row(SL4J_TYPE_F16, a_.v.data() + r * kv, vc + off, kv);
        }
        be_.attention_f16(a_.att.data(), a_.q.data(), kc, vc, a_.seq.data(), a_.pos.data(), a_.first.data(), n,
                          h.n_heads, h.n_kv_heads, h.head_dim, cache_.seq_stride());
    }
    float* o[] = {a_.xb2.data()};
    proj(l, {kLoraO}, o, a_.att.data(), n);
    be_.residual(a_.x.data(), a_.xb2.data(), n * h.dim);

    // feed-forward block
    be_.rmsnorm(a_.xb.data(), nullptr, a_.x.data(), L.ffn_norm, n, h.dim, float(h.rms_eps));
    float* gate_up[] = {a_.hb.data(), a_.hb2.data()};
    proj(l, {kLoraGate, kLoraUp}, gate_up, a_.xb.data(), n);
    be_.swiglu(a_.hb.data(), a_.hb.data(), a_.hb2.data(), n * h.ffn);
    float* down[] = {a_.xb2.data()};
    proj(l, {kLoraDown}, down, a_.hb.data(), n);
    be_.residual(a_.x.data(), a_.xb2.data(), n * h.dim);
}

}  // namespace sl4j
