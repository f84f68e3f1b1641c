#include "train/trainer.h"

#include <algorithm>

#include "core/error.h"

namespace sl4j {

namespace {

const Weight& weight_of(const LayerWeights& L, int t) {
    switch (t) {
        case kLoraQ: return L.wq;
        case kLoraK: return L.wk;
        case kLoraV: return L.wv;
        case kLoraO: return L.wo;
        case kLoraGate: return L.gate;
        case kLoraUp: return L.up;
        default: return L.down;
    }
}

}  // namespace

int64_t head_chunk_rows(int64_t rows, int64_t n_vocab) {
    return std::max<int64_t>(1, std::min<int64_t>(rows, kHeadChunkBytes / (n_vocab * int64_t(sizeof(float)))));
}

// Every buffer of the trainer is sized here, so bytes_ counts what it holds. Zeroed, as a fresh
// buffer's contents are relied on nowhere else.
void Trainer::alloc(DeviceBuffer& b, int64_t n, int64_t elem_bytes) {
    bytes_ -= b.bytes();
    b = DeviceBuffer(be_, n * elem_bytes);
    zero(b);
    bytes_ += b.bytes();
}

// host = the contents of b (downloaded unless already fresh since the last forward).
template <typename T>
const std::vector<T>& Trainer::mirror(std::vector<T>& host, bool& fresh, const DeviceBuffer& b) const {
    if (!fresh) {
        host.resize(size_t(b.bytes()) / sizeof(T));
        if (b.bytes() > 0) be_.download(host.data(), b.data(), b.bytes());
        fresh = true;
    }
    return host;
}

const std::vector<float>& Trainer::row_losses() const { return mirror(losses_h_, losses_fresh_, losses_); }
const std::vector<float>& Trainer::hidden() const { return mirror(hidden_h_, hidden_fresh_, hidden_); }
const std::vector<float>& Trainer::row_entropy() const {
    static const std::vector<float> none;
    return entropy_.f() == nullptr ? none : mirror(entropy_h_, entropy_fresh_, entropy_);
}
void Trainer::read_hidden(float* dst) const {
    if (hidden_fresh_)
        std::copy(hidden_h_.begin(), hidden_h_.end(), dst);
    else
        be_.download(dst, hidden_.f(), hidden_.bytes());
}

Trainer::Trainer(const LlamaModel& model, LoraAdapter* lora, const TrainConfig& config)
    : Trainer(model, lora, config, model.backend()) {}

Trainer::Trainer(const LlamaModel& model, LoraAdapter* lora, const TrainConfig& config, Backend& backend)
    : Trainer(model, lora, nullptr, config, backend) {}

Trainer::Trainer(const LlamaModel& model, FullParams* full, const TrainConfig& config)
    : Trainer(model, nullptr, full, config, model.backend()) {}

Trainer::Trainer(const LlamaModel& model, FullParams* full, const TrainConfig& config, Backend& backend)
    : Trainer(model, nullptr, full, config, backend) {}

Trainer::Trainer(const LlamaModel& model, LoraAdapter* lora, FullParams* full, const TrainConfig& config,
                 Backend& backend)
    : model_(model), be_(backend), lora_(lora), full_(full), w_(full ? full->weights() : model.weights()),
      cfg_(config), N_(config.batch * config.seq_len) {
    SL4J_CHECK_ARG(&backend == &model.backend() || (backend.host_memory() && model.backend().host_memory()),
                   "a trainer on %s cannot reach the model's weights on %s: train on the model's backend",
                   backend.name().c_str(), model.backend().name().c_str());
    const ParamSet* params = lora ? static_cast<const ParamSet*>(lora) : full;
    SL4J_CHECK_ARG(params == nullptr || reaches(backend, *params),
                   "the trainable tensors live on %s, the trainer runs on %s: make them for a model on the trainer's "
                   "backend", params ? params->backend().name().c_str() : "", backend.name().c_str());
    const LlamaHparams& h = model.hparams();
    SL4J_CHECK_ARG(cfg_.batch >= 1 && cfg_.seq_len >= 1 && N_ <= (int64_t(1) << 24),
                   "trainer needs batch >= 1 and seq_len >= 1 (got %lld × %lld)", (long long)cfg_.batch,
                   (long long)cfg_.seq_len);
    SL4J_CHECK_ARG(lora == nullptr || lora->n_layers() == h.n_layers,
                   "the adapter has %lld layers, the model %lld", (long long)lora->n_layers(), (long long)h.n_layers);
    const int64_t N = N_;
    head_rows_ = cfg_.head_rows > 0 ? std::min(cfg_.head_rows, N) : head_chunk_rows(N, h.n_vocab);
    alloc(tokens_, N, 4);
    alloc(seq_, N, 4);
    alloc(pos_, N, 8);
    alloc(first_, N, 8);
    alloc(targets_, N, 4);
    targets_h_.assign(size_t(N), kIgnoreIndex);
    first_h_.assign(size_t(N), 0);
    {  // the rows' sequences and positions never change: uploaded once
        std::vector<int32_t> seq(static_cast<size_t>(N));
        std::vector<int64_t> pos(static_cast<size_t>(N));
        for (int64_t r = 0; r < N; ++r) {
            seq[size_t(r)] = int32_t(r / cfg_.seq_len);
            pos[size_t(r)] = r % cfg_.seq_len;
        }
        be_.upload(seq_.data(), seq.data(), N * 4);
        be_.upload(pos_.data(), pos.data(), N * 8);
    }
    alloc(rope_cs_, N * h.n_rot);
    be_.rope_cache(rope_cs_.f(), pos_.as<int64_t>(), N, h.n_rot, h.rope_base, h.rope_linear_factor, w_.rope_freqs);
    // What any forward needs: the residual stream, one layer's activations, the head's chunk.
    alloc(x_, N * h.dim);
    alloc(tmp_, N * h.dim);
    alloc(inv_f_, N);
    alloc(hidden_, N * h.dim);
    alloc(logits_, head_rows_ * h.n_vocab);
    alloc(losses_, N);
    acts_.resize(1);
    alloc_layer(acts_[0]);
}

// One layer's activations (shapes in LayerActs).
void Trainer::alloc_layer(LayerActs& A) {
    const LlamaHparams& h = model_.hparams();
    const int64_t N = N_, kv = h.kv_dim();
    for (auto* v : {&A.xn1, &A.att, &A.x_mid, &A.xn2, &A.q}) alloc(*v, N * h.dim);
    for (auto* v : {&A.k, &A.v}) alloc(*v, N * kv);
    for (auto* v : {&A.gate, &A.up, &A.hact}) alloc(*v, N * h.ffn);
    alloc(A.inv1, N);
    alloc(A.inv2, N);
    if (lora_)
        for (int t = 0; t < kLoraNumTargets; ++t)
            if (lora_->config().targets & (1u << t)) alloc(A.u[t], N * lora_->config().r);
}

// What a keeping forward and the backward add: every layer's input and activations (one layer's
// with checkpointing, plus a copy of the input to recompute from), the backward's scratch.
void Trainer::alloc_grad_buffers() {
    if (grad_buffers_) return;
    const LlamaHparams& h = model_.hparams();
    const int64_t N = N_, kv = h.kv_dim();
    x_in_.resize(size_t(h.n_layers));
    for (auto& v : x_in_) alloc(v, N * h.dim);
    if (cfg_.checkpointing) alloc(tmp_x_, N * h.dim);
    acts_.resize(cfg_.checkpointing ? 1 : size_t(h.n_layers));
    for (size_t l = 1; l < acts_.size(); ++l) alloc_layer(acts_[l]);
    alloc(dlosses_, N);
    for (auto* v : {&dx_, &dxn_, &d_att_, &dq_}) alloc(*v, N * h.dim);
    for (auto* v : {&dk_, &dv_}) alloc(*v, N * kv);
    for (auto* v : {&d_hact_, &d_gate_, &d_up_}) alloc(*v, N * h.ffn);
    grad_buffers_ = true;
}

uint64_t Trainer::mask_seed(int64_t l, int t) const {
    return mix64(lora_->config().seed ^ mix64(calls_ * 1315423911ull + uint64_t(l * kLoraNumTargets + t)));
}

void Trainer::proj(int64_t l, int t, float* out, const float* in, LayerActs& A) {
    const Weight& W = weight_of(w_.layers[l], t);
    be_.matmul(out, W.data, W.type, in, N_, W.in, W.out);
    if (lora_on(l, t))
        lora_forward(be_, out, A.u[t].f(), in, lora_->a(l, t), lora_->b(l, t), lora_->scale(), dropout(),
                     mask_seed(l, t), N_, ls_);
}

void Trainer::proj_backward(int64_t l, int t, float* dx, bool accumulate, const float* dy, const float* in,
                            LayerActs& A) {
    const Weight& W = weight_of(w_.layers[l], t);
    if (dx != nullptr) {
        float* out = accumulate ? tmp_.f() : dx;
        be_.matmul_transposed(out, W.data, W.type, dy, N_, W.in, W.out);
        if (accumulate) be_.residual_backward(dx, out, N_ * W.in);
    }
    // y = in·Wᵀ: dW (out × in) += dyᵀ·in.
    if (full_) be_.outer_accumulate(full_->grad_of(W.data), dy, in, N_, W.out, W.in, grad_scale_);
    if (lora_on(l, t))
        lora_backward(be_, dx, lora_->a(l, t), lora_->b(l, t), dy, in, A.u[t].f(), lora_->scale(), dropout(),
                      mask_seed(l, t), grad_scale_, N_, ls_);
}

void Trainer::layer_forward(int64_t l, LayerActs& A, float* x) {
    const LlamaHparams& h = model_.hparams();
    const LayerWeights& L = w_.layers[l];
    const int64_t N = N_;
    // attention block
    be_.rmsnorm(A.xn1.f(), A.inv1.f(), x, L.attn_norm, N, h.dim, float(h.rms_eps));
    proj(l, kLoraQ, A.q.f(), A.xn1.f(), A);
    proj(l, kLoraK, A.k.f(), A.xn1.f(), A);
    proj(l, kLoraV, A.v.f(), A.xn1.f(), A);
    be_.rope(A.q.f(), rope_cs_.f(), N, h.n_heads, h.head_dim, h.n_rot);
    be_.rope(A.k.f(), rope_cs_.f(), N, h.n_kv_heads, h.head_dim, h.n_rot);
    be_.attention(A.att.f(), A.q.f(), A.k.f(), A.v.f(), seq_.as<int32_t>(), pos_.as<int64_t>(),
                  first_.as<int64_t>(), N, h.n_heads, h.n_kv_heads, h.head_dim, cfg_.seq_len * h.kv_dim());
    proj(l, kLoraO, tmp_.f(), A.att.f(), A);
    be_.residual(x, tmp_.f(), N * h.dim);
    be_.copy(A.x_mid.f(), x, N * h.dim * int64_t(sizeof(float)));
    // feed-forward block
    be_.rmsnorm(A.xn2.f(), A.inv2.f(), x, L.ffn_norm, N, h.dim, float(h.rms_eps));
    proj(l, kLoraGate, A.gate.f(), A.xn2.f(), A);
    proj(l, kLoraUp, A.up.f(), A.xn2.f(), A);
    be_.swiglu(A.hact.f(), A.gate.f(), A.up.f(), N * h.ffn);
    proj(l, kLoraDown, tmp_.f(), A.hact.f(), A);
    be_.residual(x, tmp_.f(), N * h.dim);
}

// dx: gradient wrt the layer's output on entry, wrt its input on return (when need_dx).
void Trainer::layer_backward(int64_t l, LayerActs& A, float* dx, const float* x_in, bool need_dx) {
    const LlamaHparams& h = model_.hparams();
    const LayerWeights& L = w_.layers[l];
    const int64_t N = N_;
    // feed-forward block, in reverse
    proj_backward(l, kLoraDown, d_hact_.f(), false, dx, A.hact.f(), A);
    be_.swiglu_backward(d_gate_.f(), d_up_.f(), d_hact_.f(), A.gate.f(), A.up.f(), N * h.ffn);
    proj_backward(l, kLoraGate, dxn_.f(), false, d_gate_.f(), A.xn2.f(), A);
    proj_backward(l, kLoraUp, dxn_.f(), true, d_up_.f(), A.xn2.f(), A);
    be_.rmsnorm_backward(dx, dxn_.f(), A.x_mid.f(), L.ffn_norm, A.inv2.f(), N, h.dim);
    if (full_)
        be_.rmsnorm_weight_backward(full_->grad_of(L.ffn_norm), dxn_.f(), A.x_mid.f(), A.inv2.f(), N, h.dim,
                                    grad_scale_);
    // attention block, in reverse
    proj_backward(l, kLoraO, d_att_.f(), false, dx, A.att.f(), A);
    zero(dk_);
    zero(dv_);
    be_.attention_backward(dq_.f(), dk_.f(), dv_.f(), d_att_.f(), A.q.f(), A.k.f(), A.v.f(),
                           seq_.as<int32_t>(), pos_.as<int64_t>(), first_.as<int64_t>(), N, cfg_.batch, h.n_heads,
                           h.n_kv_heads, h.head_dim, cfg_.seq_len * h.kv_dim());
    be_.rope_backward(dq_.f(), rope_cs_.f(), N, h.n_heads, h.head_dim, h.n_rot);
    be_.rope_backward(dk_.f(), rope_cs_.f(), N, h.n_kv_heads, h.head_dim, h.n_rot);
    // Under LoRA, layer 0's input is the frozen embedding: only the adapter gradients are needed there.
    float* dxn = need_dx ? dxn_.f() : nullptr;
    proj_backward(l, kLoraQ, dxn, false, dq_.f(), A.xn1.f(), A);
    proj_backward(l, kLoraK, dxn, true, dk_.f(), A.xn1.f(), A);
    proj_backward(l, kLoraV, dxn, true, dv_.f(), A.xn1.f(), A);
    if (full_)
        be_.rmsnorm_weight_backward(full_->grad_of(L.attn_norm), dxn_.f(), x_in, A.inv1.f(), N, h.dim,
                                    grad_scale_);
    if (need_dx) be_.rmsnorm_backward(dx, dxn_.f(), x_in, L.attn_norm, A.inv1.f(), N, h.dim);
}

void Trainer::forward(const int32_t* tokens, const int32_t* targets, const int64_t* doc_start, bool keep) {
    SL4J_CHECK_ARG(tokens != nullptr, "forward needs tokens");
    const LlamaHparams& h = model_.hparams();
    const LlamaWeights& w = w_;
    const int64_t N = N_;
    for (int64_t r = 0; r < N; ++r) {
        const int64_t first = doc_start ? doc_start[r] : 0, pos = r % cfg_.seq_len;
        SL4J_CHECK_ARG(first >= 0 && first <= pos,
                       "row %lld (sequence %lld, position %lld): document start %lld is outside [0, %lld]",
                       (long long)r, (long long)(r / cfg_.seq_len), (long long)pos, (long long)first, (long long)pos);
        first_h_[size_t(r)] = first;
        targets_h_[size_t(r)] = targets ? targets[r] : kIgnoreIndex;
    }
    // The batch in: token ids, document starts, targets.
    be_.upload(tokens_.data(), tokens, N * 4);
    be_.upload(first_.data(), first_h_.data(), N * 8);
    be_.upload(targets_.data(), targets_h_.data(), N * 4);
    losses_fresh_ = hidden_fresh_ = entropy_fresh_ = false;
    ready_ = false;
    if (keep) alloc_grad_buffers();
    ++calls_;
    be_.embedding(x_.f(), tokens_.as<int32_t>(), w.tok_embd.data, w.tok_embd.type, N, h.dim, h.n_vocab);
    for (int64_t l = 0; l < h.n_layers; ++l) {
        if (keep) be_.copy(x_in_[l].f(), x_.f(), N * h.dim * int64_t(sizeof(float)));
        layer_forward(l, keep ? acts(l) : acts_[0], x_.f());
    }
    be_.rmsnorm(hidden_.f(), inv_f_.f(), x_.f(), w.output_norm, N, h.dim, float(h.rms_eps));
    head_forward();
    ready_ = keep;
}

// True when no row of [r0, r0 + n) counts in the loss: the chunk's logits are never needed.
static bool all_ignored(const int32_t* targets, int64_t n) {
    for (int64_t r = 0; r < n; ++r)
        if (targets[r] != kIgnoreIndex) return false;
    return true;
}

// Chunk c of `rows` head rows: ceil(rows / head_rows_) chunks of near-equal size (at most head_rows_),
// so no chunk is a short tail that the matmul would run on its decode path (another summation
// order): chunked results equal one-chunk results bit for bit whenever chunks exceed 8 rows.
int64_t Trainer::head_chunks(int64_t rows) const { return (rows + head_rows_ - 1) / head_rows_; }
void Trainer::head_chunk(int64_t c, int64_t rows, int64_t* r0, int64_t* n) const {
    const int64_t k = head_chunks(rows);
    *r0 = c * rows / k;
    *n = (c + 1) * rows / k - *r0;
}

void Trainer::set_entropy(bool on) {
    entropy_on_ = on;
    if (on && entropy_.data() == nullptr) alloc(entropy_, N_);
}

void Trainer::infer_kl(const int32_t* tokens, const int32_t* targets, const int64_t* doc_start, float* kl) {
    SL4J_CHECK_ARG(lora_ != nullptr, "the KL to the reference needs a trainer with an adapter (the reference is the "
                   "adapter off)");
    SL4J_CHECK_ARG(tokens != nullptr && targets != nullptr && kl != nullptr, "infer_kl needs tokens, targets and kl");
    const LlamaHparams& h = model_.hparams();
    const int64_t D = h.dim, V = h.n_vocab;
    std::vector<int64_t> rows;  // the counted rows, in order
    for (int64_t r = 0; r < N_; ++r) {
        if (targets[r] == kIgnoreIndex) continue;
        SL4J_CHECK_ARG(targets[r] >= 0 && targets[r] < V, "target %d at row %lld is outside the vocabulary [0, %lld) "
                       "and is not the ignore index -100", targets[r], (long long)r, (long long)V);
        rows.push_back(r);
    }
    const int64_t M = int64_t(rows.size());
    if (kl_hp_.data() == nullptr) {
        alloc(kl_hp_, N_ * D);
        alloc(kl_hq_, N_ * D);
        alloc(kl_logits_, head_rows_ * V);
        alloc(kl_out_, head_rows_);
    }
    // Two inference passes without targets (the head is skipped: every row is ignored), the
    // trainer's modes restored afterwards whatever happens.
    struct Restore {
        Trainer& t;
        bool adapter, training;
        uint64_t calls;
        ~Restore() {
            t.adapter_on_ = adapter;
            t.training_ = training;
            t.calls_ = calls;
        }
    } restore{*this, adapter_on_, training_, calls_};
    training_ = false;
    for (int pass = 0; pass < 2; ++pass) {  // the reference, then the policy (whose states hidden() keeps)
        adapter_on_ = pass == 1;
        forward(tokens, nullptr, doc_start, false);
        float* dst = pass == 1 ? kl_hp_.f() : kl_hq_.f();
        for (int64_t i = 0, j; i < M; i = j) {  // runs of consecutive rows, one copy each
            for (j = i + 1; j < M && rows[j] == rows[j - 1] + 1; ++j) {
            }
            be_.copy(dst + i * D, hidden_.f() + rows[i] * D, (j - i) * D * int64_t(sizeof(float)));
        }
    }
    std::fill_n(kl, N_, 0.f);
    std::vector<float> chunk_kl(size_t(std::min(M, head_rows_)));
    for (int64_t c = 0; c < head_chunks(M); ++c) {
        int64_t r0, n;
        head_chunk(c, M, &r0, &n);
        be_.matmul(logits_.f(), w_.output.data, w_.output.type, kl_hp_.f() + r0 * D, n, D, V);
        be_.matmul(kl_logits_.f(), w_.output.data, w_.output.type, kl_hq_.f() + r0 * D, n, D, V);
        be_.kl_div(kl_out_.f(), logits_.f(), kl_logits_.f(), n, V);
        be_.download(chunk_kl.data(), kl_out_.data(), n * int64_t(sizeof(float)));
        for (int64_t i = 0; i < n; ++i) kl[rows[r0 + i]] = chunk_kl[size_t(i)];
    }
    logits_held_ = false;
    ready_ = false;
}

// losses = cross-entropy of (hidden · W_outᵀ) against the targets, one chunk of rows at a time.
void Trainer::head_forward() {
    const LlamaHparams& h = model_.hparams();
    const Weight& W = w_.output;
    for (int64_t c = 0; c < head_chunks(N_); ++c) {
        int64_t r0, n;
        head_chunk(c, N_, &r0, &n);
        if (all_ignored(targets_h_.data() + r0, n)) {
            be_.fill_zero(losses_.f() + r0, n * int64_t(sizeof(float)));
            if (entropy_on_) be_.fill_zero(entropy_.f() + r0, n * int64_t(sizeof(float)));
            continue;
        }
        be_.matmul(logits_.f(), W.data, W.type, hidden_.f() + r0 * h.dim, n, h.dim, h.n_vocab);
        be_.crossentropy(losses_.f() + r0, logits_.f(), targets_.as<int32_t>() + r0, n, h.n_vocab);
        if (entropy_on_) be_.entropy(entropy_.f() + r0, logits_.f(), targets_.as<int32_t>() + r0, n, h.n_vocab);
    }
    logits_held_ = head_chunks(N_) == 1 && !all_ignored(targets_h_.data(), N_);
}

// dxn_ = d loss / d hidden through the head, chunk by chunk: each chunk's logits are recomputed
// (unless the forward's single chunk is still held), turned into d logits in place, and
// multiplied back through W_out.
void Trainer::head_backward(const float* d_row_losses) {
    const LlamaHparams& h = model_.hparams();
    const Weight& W = w_.output;
    for (int64_t c = 0; c < head_chunks(N_); ++c) {
        int64_t r0, n;
        head_chunk(c, N_, &r0, &n);
        float* hid = hidden_.f() + r0 * h.dim;
        float* dhid = dxn_.f() + r0 * h.dim;
        if (all_ignored(targets_h_.data() + r0, n)) continue;  // d logits are 0 there: dxn_ stays 0
        if (!logits_held_) be_.matmul(logits_.f(), W.data, W.type, hid, n, h.dim, h.n_vocab);
        be_.crossentropy_backward(logits_.f(), logits_.f(), targets_.as<int32_t>() + r0, d_row_losses + r0, n,
                                  h.n_vocab);
        be_.matmul_transposed(dhid, W.data, W.type, logits_.f(), n, h.dim, h.n_vocab);
        // The output weight's gradient (the embedding table's when tied): dW_out += d logitsᵀ · hidden.
        if (full_) be_.outer_accumulate(full_->grad_of(W.data), logits_.f(), hid, n, h.n_vocab, h.dim, grad_scale_);
    }
    logits_held_ = false;  // the chunk now holds d logits
}

double Trainer::mean_loss(int64_t* counted) const {
    const std::vector<float>& losses = row_losses();
    double total = 0;
    int64_t n = 0;
    for (int64_t r = 0; r < N_; ++r)
        if (targets_h_[size_t(r)] != kIgnoreIndex) {
            total += losses[size_t(r)];
            ++n;
        }
    if (counted) *counted = n;
    return n > 0 ? total / double(n) : 0.0;
}

void Trainer::backward(const float* d_row_losses, const float* d_hidden, float grad_scale) {
    SL4J_CHECK_ARG(ready_, "backward needs a forward first (and runs once per forward)");
    SL4J_CHECK_ARG(full_ != nullptr || (lora_ != nullptr && adapter_on_),
                   "backward needs full parameters or an enabled adapter: nothing else is trainable");
    const LlamaHparams& h = model_.hparams();
    const LlamaWeights& w = w_;
    const int64_t N = N_;
    ready_ = false;
    grad_scale_ = grad_scale;
    // d hidden = d logits · W_out (+ the caller's d hidden), the gradients uploaded (d hidden
    // through dx_, zeroed after).
    zero(dxn_);
    if (d_row_losses) {
        be_.upload(dlosses_.data(), d_row_losses, N * 4);
        head_backward(dlosses_.f());
    }
    if (d_hidden) {
        be_.upload(dx_.data(), d_hidden, N * h.dim * 4);
        be_.residual_backward(dxn_.f(), dx_.f(), N * h.dim);
    }
    zero(dx_);
    be_.rmsnorm_backward(dx_.f(), dxn_.f(), x_.f(), w.output_norm, inv_f_.f(), N, h.dim);
    if (full_)
        be_.rmsnorm_weight_backward(full_->grad_of(w.output_norm), dxn_.f(), x_.f(), inv_f_.f(), N, h.dim,
                                    grad_scale_);
    for (int64_t l = h.n_layers - 1; l >= 0; --l) {
        if (cfg_.checkpointing) {
            be_.copy(tmp_x_.f(), x_in_[l].f(), N * h.dim * int64_t(sizeof(float)));
            layer_forward(l, acts(l), tmp_x_.f());
        }
        layer_backward(l, acts(l), dx_.f(), x_in_[l].f(), l > 0 || full_ != nullptr);
    }
    // dx_ is now d loss / d embedding rows.
    if (full_) be_.embedding_backward(full_->grad_of(w.tok_embd.data), dx_.f(), tokens_.as<int32_t>(), N, h.dim,
                                         grad_scale_);
}

}  // namespace sl4j
