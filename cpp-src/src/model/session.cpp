#include "model/session.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace sl4j {

namespace {
void linear(Backend& be, float* out, const Weight& w, const float* x, int64_t n, cpu::Precision precision) {
    const cpu::MatmulPart part{out, w.data, w.type, w.out, w.packed};
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
    // Cells are written before any row attends to them (positions past a sequence's length are never
    // read), so the cache is not cleared.
    const int64_t cell_bytes = h.n_layers * n_seq * n_ctx * h.kv_dim() * (kv_type == SL4J_TYPE_F32 ? 4 : 2);
    cache_.k = DeviceBuffer(be_, cell_bytes);
    cache_.v = DeviceBuffer(be_, cell_bytes);
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
    for (DeviceBuffer* b : {&a_.x, &a_.xb, &a_.xb2, &a_.q, &a_.att}) b->ensure(be_, n * h.dim * 4);
    for (DeviceBuffer* b : {&a_.k, &a_.v}) b->ensure(be_, n * h.kv_dim() * 4);
    for (DeviceBuffer* b : {&a_.hb, &a_.hb2}) b->ensure(be_, n * h.ffn * 4);
    a_.rope_cs.ensure(be_, n * h.n_rot * 4);
    ensure(a_.pos, n);
    ensure(a_.first, n);
    ensure(a_.seq, n);
    ensure(a_.kv_off, n);
}

template <typename T>
const T* LlamaSession::to_backend(DeviceBuffer& d, const T* host, int64_t n) {
    if (be_.host_memory()) return host;
    d.ensure(be_, n * int64_t(sizeof(T)));
    be_.upload(d.data(), host, n * int64_t(sizeof(T)));
    return d.as<T>();
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
        a_.kv_off[r] = s * cache_.seq_stride() + a_.pos[r] * cache_.kv_dim;
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
    // The batch in: token ids and the row metadata, once for every layer.
    const int32_t* d_tokens = to_backend(a_.d_tokens, tokens, n);
    a_.b_pos = to_backend(a_.d_pos, a_.pos.data(), n);
    a_.b_first = to_backend(a_.d_first, a_.first.data(), n);
    a_.b_seq = to_backend(a_.d_seq, a_.seq.data(), n);
    a_.b_kv_off = to_backend(a_.d_kv_off, a_.kv_off.data(), n);

    be_.embedding(a_.x.f(), d_tokens, w.tok_embd.data, w.tok_embd.type, n, h.dim, h.n_vocab);
    be_.rope_cache(a_.rope_cs.f(), a_.b_pos, n, h.n_rot, h.rope_base, h.rope_linear_factor, w.rope_freqs);
    for (int64_t l = 0; l < h.n_layers; ++l) layer_forward(l, n);
    for (int64_t r = 0; r < n; ++r) cache_.length[a_.seq[r]] = std::max(cache_.length[a_.seq[r]], a_.pos[r] + 1);

    // Gather the rows that produce outputs (every row: in place), then the final norm and the
    // vocabulary projection.
    n_outputs_ = 0;
    for (int64_t r = 0; r < n; ++r)
        if (outputs == nullptr || outputs[r]) ++n_outputs_;
    const float* out_x = a_.x.f();
    if (n_outputs_ < n) {
        a_.out_x.ensure(be_, std::max<int64_t>(n_outputs_, 1) * h.dim * 4);
        for (int64_t r = 0, o = 0; r < n; ++r)
            if (outputs[r]) be_.copy(a_.out_x.f() + (o++) * h.dim, a_.x.f() + r * h.dim, h.dim * 4);
        out_x = a_.out_x.f();
    }
    // Outputs go where the host reads them on a host-memory backend, else to backend buffers
    // downloaded on demand.
    float* hidden;
    if (be_.host_memory()) {
        hidden_.resize(static_cast<size_t>(n_outputs_ * h.dim));
        hidden = hidden_.data();
    } else {
        hidden_dev_.ensure(be_, std::max<int64_t>(n_outputs_, 1) * h.dim * 4);
        hidden = hidden_dev_.f();
    }
    be_.rmsnorm(hidden, nullptr, out_x, w.output_norm, n_outputs_, h.dim, float(h.rms_eps), precision_ == cpu::Precision::kFast);
    hidden_be_ = hidden;
    hidden_on_host_ = be_.host_memory();
    has_logits_ = want_logits;
    logits_on_host_ = be_.host_memory();
    if (want_logits && n_outputs_ > 0) {
        float* logits;
        if (be_.host_memory()) {
            logits_.resize(static_cast<size_t>(n_outputs_ * h.n_vocab));
            logits = logits_.data();
        } else {
            logits_dev_.ensure(be_, n_outputs_ * h.n_vocab * 4);
            logits = logits_dev_.f();
        }
        linear(be_, logits, w.output, hidden, n_outputs_, precision_);
        logits_be_ = logits;
    }
}

const std::vector<float>& LlamaSession::logits() const {
    if (!has_logits_) {
        logits_.clear();
    } else if (!logits_on_host_) {
        logits_.resize(static_cast<size_t>(n_outputs_ * model_.hparams().n_vocab));
        if (!logits_.empty()) be_.download(logits_.data(), logits_be_, int64_t(logits_.size() * 4));
        logits_on_host_ = true;
    }
    return logits_;
}

const std::vector<float>& LlamaSession::hidden() const {
    if (!hidden_on_host_) {
        hidden_.resize(static_cast<size_t>(n_outputs_ * model_.hparams().dim));
        if (!hidden_.empty()) be_.download(hidden_.data(), hidden_be_, int64_t(hidden_.size() * 4));
        hidden_on_host_ = true;
    }
    return hidden_;
}

const float* LlamaSession::logits_row(int64_t row) const {
    const int64_t V = model_.hparams().n_vocab;
    SL4J_CHECK_ARG(has_logits_ && row >= 0 && row < n_outputs_, "row %lld has no logits (%lld output rows)",
                   (long long)row, (long long)(has_logits_ ? n_outputs_ : 0));
    if (logits_on_host_) return logits_.data() + row * V;
    row_.resize(static_cast<size_t>(V));
    be_.download(row_.data(), logits_be_ + row * V, V * 4);
    return row_.data();
}

void LlamaSession::greedy(int32_t* tokens, float* logprobs) {
    SL4J_CHECK_ARG(tokens != nullptr && logprobs != nullptr, "greedy needs room for the tokens and log-probs");
    SL4J_CHECK_ARG(has_logits_ && n_outputs_ > 0, "the last decode did not compute logits");
    const int64_t n = n_outputs_, V = model_.hparams().n_vocab;
    if (be_.host_memory()) {
        be_.argmax_logprob(tokens, logprobs, logits_be_, n, V);
        return;
    }
    greedy_dev_.ensure(be_, n * 8);
    int32_t* d_tokens = greedy_dev_.as<int32_t>();
    float* d_lp = reinterpret_cast<float*>(d_tokens + n);
    be_.argmax_logprob(d_tokens, d_lp, logits_be_, n, V);
    be_.download(tokens, d_tokens, n * 4);
    be_.download(logprobs, d_lp, n * 4);
}

void LlamaSession::sample(TokenSampler* const* samplers, const int32_t* rows, const int32_t* banned, int64_t n,
                          int32_t* tokens, float* logprobs) const {
    SL4J_CHECK_ARG(samplers != nullptr && rows != nullptr && tokens != nullptr && logprobs != nullptr && n >= 0,
                   "sample needs samplers, rows and room for the tokens and log-probs");
    SL4J_CHECK_ARG(has_logits_ && n_outputs_ > 0, "the last decode did not compute logits");
    if (n == 0) return;
    const int64_t V = model_.hparams().n_vocab;
    pick_params_.resize(static_cast<size_t>(n));
    pick_adjust_.clear();
    for (int64_t i = 0; i < n; ++i) {
        SL4J_CHECK_ARG(samplers[i] != nullptr, "pick %lld has no sampler", (long long)i);
        SL4J_CHECK_ARG(samplers[i]->n_vocab() == V, "the sampler was made for %lld tokens, the session's model has %lld",
                       (long long)samplers[i]->n_vocab(), (long long)V);
        SL4J_CHECK_ARG(rows[i] >= 0 && rows[i] < n_outputs_, "row %d is outside the last decode's %lld output rows",
                       rows[i], (long long)n_outputs_);
        samplers[i]->prepare(rows[i], banned ? banned[i] : -1, &pick_params_[size_t(i)], &pick_adjust_);
    }
    const int64_t n_adj = int64_t(pick_adjust_.size());
    const int64_t scratch = be_.sample_scratch_bytes(n, V);
    pick_scratch_dev_.ensure(be_, scratch);
    if (be_.host_memory()) {
        be_.sample_rows(tokens, logprobs, logits_be_, pick_params_.data(), pick_adjust_.data(), pick_scratch_dev_.data(),
                        n, V);
    } else {
        // In: the controls and the adjusted tokens. Out: the ids and log-probs, one read.
        pick_params_dev_.ensure(be_, n * int64_t(sizeof(SampleRowParams)));
        be_.upload(pick_params_dev_.data(), pick_params_.data(), n * int64_t(sizeof(SampleRowParams)));
        if (n_adj > 0) {
            pick_adjust_dev_.ensure(be_, n_adj * int64_t(sizeof(SampleAdjust)));
            be_.upload(pick_adjust_dev_.data(), pick_adjust_.data(), n_adj * int64_t(sizeof(SampleAdjust)));
        }
        pick_dev_.ensure(be_, n * 8);
        int32_t* d_tokens = pick_dev_.as<int32_t>();
        be_.sample_rows(d_tokens, reinterpret_cast<float*>(d_tokens + n), logits_be_,
                        pick_params_dev_.as<SampleRowParams>(), n_adj > 0 ? pick_adjust_dev_.as<SampleAdjust>() : nullptr,
                        pick_scratch_dev_.data(), n, V);
        pick_out_.resize(static_cast<size_t>(2 * n));
        be_.download(pick_out_.data(), d_tokens, n * 8);
        std::copy_n(pick_out_.data(), n, tokens);
        std::memcpy(logprobs, pick_out_.data() + n, size_t(n) * 4);
    }
    for (int64_t i = 0; i < n; ++i) TokenSampler::check_pick(tokens[i]);
}

float LlamaSession::logprob(int64_t row, int32_t target) const {
    const int64_t V = model_.hparams().n_vocab;
    SL4J_CHECK_ARG(has_logits_ && row >= 0 && row < n_outputs_, "row %lld has no logits (%lld output rows)",
                   (long long)row, (long long)(has_logits_ ? n_outputs_ : 0));
    return be_.log_softmax_at(logits_be_ + row * V, V, target);
}

void LlamaSession::set_lora(const LoraAdapter* lora, bool enabled) {
    SL4J_CHECK_ARG(lora == nullptr || lora->n_layers() == model_.hparams().n_layers,
                   "the adapter has %lld layers, the model %lld", (long long)(lora ? lora->n_layers() : 0),
                   (long long)model_.hparams().n_layers);
    SL4J_CHECK_ARG(lora == nullptr || reaches(be_, *lora),
                   "the adapter lives on %s, the session runs on %s: make the adapter for a model on the "
                   "session's backend", lora->backend().name().c_str(), be_.name().c_str());
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
        parts[n_parts] = {outs[n_parts], w[t]->data, w[t]->type, w[t]->out,
                          w[t]->packed};
        ++n_parts;
    }
    be_.matmul_parts(parts, n_parts, in, n, w[*targets.begin()]->in, precision_);
    if (!lora_ || !lora_enabled_) return;
    int i = 0;
    for (int t : targets) {
        if (lora_->has(l, t)) {
            a_.lora_u.ensure(be_, n * lora_->config().r * 4);
            lora_forward(be_, outs[i], a_.lora_u.f(), in, lora_->a(l, t), lora_->b(l, t), lora_->scale(), 0.f, 0, n,
                         lora_scratch_);
        }
        ++i;
    }
}

void LlamaSession::layer_forward(int64_t l, int64_t n) {
    const LlamaHparams& h = model_.hparams();
    const LayerWeights& L = model_.weights().layers[l];
    const int32_t* seq = a_.b_seq;
    const int64_t *pos = a_.b_pos, *first = a_.b_first, *kv_off = a_.b_kv_off;

    // attention block
    be_.rmsnorm(a_.xb.f(), nullptr, a_.x.f(), L.attn_norm, n, h.dim, float(h.rms_eps), precision_ == cpu::Precision::kFast);
    float* qkv[] = {a_.q.f(), a_.k.f(), a_.v.f()};
    proj(l, {kLoraQ, kLoraK, kLoraV}, qkv, a_.xb.f(), n);
    be_.rope(a_.q.f(), a_.rope_cs.f(), n, h.n_heads, h.head_dim, h.n_rot);
    be_.rope(a_.k.f(), a_.rope_cs.f(), n, h.n_kv_heads, h.head_dim, h.n_rot);
    const int64_t base = cache_.layer_offset(l);
    if (cache_.type == SL4J_TYPE_F32) {
        float* kc = cache_.k.f() + base;
        float* vc = cache_.v.f() + base;
        be_.copy_rows(kc, kv_off, a_.k.f(), n, h.kv_dim());
        be_.copy_rows(vc, kv_off, a_.v.f(), n, h.kv_dim());
        be_.attention(a_.att.f(), a_.q.f(), kc, vc, seq, pos, first, n, h.n_heads, h.n_kv_heads, h.head_dim,
                      cache_.seq_stride());
    } else {
        uint16_t* kc = cache_.k.as<uint16_t>() + base;
        uint16_t* vc = cache_.v.as<uint16_t>() + base;
        be_.copy_rows_f16(kc, kv_off, a_.k.f(), n, h.kv_dim());
        be_.copy_rows_f16(vc, kv_off, a_.v.f(), n, h.kv_dim());
        be_.attention_f16(a_.att.f(), a_.q.f(), kc, vc, seq, pos, first, n, h.n_heads, h.n_kv_heads, h.head_dim,
                          cache_.seq_stride());
    }
    float* o[] = {a_.xb2.f()};
    proj(l, {kLoraO}, o, a_.att.f(), n);
    be_.residual(a_.x.f(), a_.xb2.f(), n * h.dim);

    // feed-forward block
    be_.rmsnorm(a_.xb.f(), nullptr, a_.x.f(), L.ffn_norm, n, h.dim, float(h.rms_eps), precision_ == cpu::Precision::kFast);
    float* gate_up[] = {a_.hb.f(), a_.hb2.f()};
    proj(l, {kLoraGate, kLoraUp}, gate_up, a_.xb.f(), n);
    be_.swiglu(a_.hb.f(), a_.hb.f(), a_.hb2.f(), n * h.ffn, precision_ == cpu::Precision::kFast);
    float* down[] = {a_.xb2.f()};
    proj(l, {kLoraDown}, down, a_.hb.f(), n);
    be_.residual(a_.x.f(), a_.xb2.f(), n * h.dim);
}

}  // namespace sl4j
