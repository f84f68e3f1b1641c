// The backend seam cannot be bypassed: a session decode and a trainer step run through a
// wrapping backend that forwards to the CPU backend and counts each op, and every op of the
// Backend interface must show up in the counts, with results identical to the model's own
// backend.
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/llama_model.h"
#include "model/session.h"
#include "testing.h"
#include "train/lora.h"
#include "train/adamw.h"
#include "train/trainer.h"

using namespace sl4j;

namespace {

const char* kModel = "java/src/test/resources/fixtures/models/gqa_f32.gguf";

// Every op of Backend. A new op must be added here and to CountingBackend (which will not
// compile without it), so the test keeps covering the whole interface.
const char* const kOps[] = {
    "matmul",    "matmul_transposed", "embedding",          "rmsnorm",      "rmsnorm_backward",
    "rope_cache", "rope",             "rope_backward",      "swiglu",       "swiglu_backward",
    "residual",  "residual_backward", "attention",          "attention_f16",  "attention_backward",
    "crossentropy", "crossentropy_backward", "log_softmax_at", "entropy", "kl_div", "dropout",  "dropout_backward",
    "add_scaled", "scale",            "outer_accumulate",   "embedding_backward", "rmsnorm_weight_backward"};

class CountingBackend final : public Backend {
public:
    std::map<std::string, int64_t> calls;

    int32_t device() const override { return cpu_->device(); }
    const std::string& name() const override { return cpu_->name(); }
    bool host_memory() const override { return true; }
    void* alloc(int64_t n) override { return cpu_->alloc(n); }
    void release(void* p) override { cpu_->release(p); }
    void upload(void* d, const void* s, int64_t n) override { cpu_->upload(d, s, n); }
    void download(void* d, const void* s, int64_t n) override { cpu_->download(d, s, n); }

    using Backend::matmul;
    void matmul(float* out, const void* w, int32_t wt, const float* x, int64_t n, int64_t k, int64_t m) override {
        ++calls["matmul"];
        cpu_->matmul(out, w, wt, x, n, k, m);
    }
    void matmul_transposed(float* out, const void* w, int32_t wt, const float* dy, int64_t n, int64_t k,
                           int64_t m) override {
        ++calls["matmul_transposed"];
        cpu_->matmul_transposed(out, w, wt, dy, n, k, m);
    }
    void embedding(float* out, const int32_t* tok, const void* table, int32_t type, int64_t n, int64_t dim,
                   int64_t n_vocab) override {
        ++calls["embedding"];
        cpu_->embedding(out, tok, table, type, n, dim, n_vocab);
    }
    void rmsnorm(float* out, float* inv, const float* x, const float* w, int64_t n, int64_t dim, float eps,
                 bool ggml_rounding) override {
        ++calls["rmsnorm"];
        cpu_->rmsnorm(out, inv, x, w, n, dim, eps, ggml_rounding);
    }
    void rmsnorm_backward(float* dx, const float* dout, const float* x, const float* w, const float* inv, int64_t n,
                          int64_t dim) override {
        ++calls["rmsnorm_backward"];
        cpu_->rmsnorm_backward(dx, dout, x, w, inv, n, dim);
    }
    void rope_cache(float* cs, const int64_t* pos, int64_t n, int64_t n_rot, double base, double lf,
                    const float* ff) override {
        ++calls["rope_cache"];
        cpu_->rope_cache(cs, pos, n, n_rot, base, lf, ff);
    }
    void rope(float* x, const float* cs, int64_t n, int64_t nh, int64_t hd, int64_t n_rot) override {
        ++calls["rope"];
        cpu_->rope(x, cs, n, nh, hd, n_rot);
    }
    void rope_backward(float* dx, const float* cs, int64_t n, int64_t nh, int64_t hd, int64_t n_rot) override {
        ++calls["rope_backward"];
        cpu_->rope_backward(dx, cs, n, nh, hd, n_rot);
    }
    void swiglu(float* out, const float* g, const float* u, int64_t n, bool fast) override {
        ++calls["swiglu"];
        cpu_->swiglu(out, g, u, n, fast);
    }
    void swiglu_backward(float* dg, float* du, const float* dout, const float* g, const float* u, int64_t n) override {
        ++calls["swiglu_backward"];
        cpu_->swiglu_backward(dg, du, dout, g, u, n);
    }
    void residual(float* x, const float* y, int64_t n) override {
        ++calls["residual"];
        cpu_->residual(x, y, n);
    }
    void residual_backward(float* dy, const float* dx, int64_t n) override {
        ++calls["residual_backward"];
        cpu_->residual_backward(dy, dx, n);
    }
    void attention(float* out, const float* q, const float* kc, const float* vc, const int32_t* seq,
                   const int64_t* pos, const int64_t* first, int64_t n, int64_t nh, int64_t nkv, int64_t hd,
                   int64_t stride) override {
        ++calls["attention"];
        cpu_->attention(out, q, kc, vc, seq, pos, first, n, nh, nkv, hd, stride);
    }
    void attention_f16(float* out, const float* q, const uint16_t* kc, const uint16_t* vc, const int32_t* seq,
                       const int64_t* pos, const int64_t* first, int64_t n, int64_t nh, int64_t nkv, int64_t hd,
                       int64_t stride) override {
        ++calls["attention_f16"];
        cpu_->attention_f16(out, q, kc, vc, seq, pos, first, n, nh, nkv, hd, stride);
    }
    void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* kc,
                            const float* vc, const int32_t* seq, const int64_t* pos, const int64_t* first, int64_t n,
                            int64_t n_seq, int64_t nh, int64_t nkv, int64_t hd, int64_t stride) override {
        ++calls["attention_backward"];
        cpu_->attention_backward(dq, dk, dv, dout, q, kc, vc, seq, pos, first, n, n_seq, nh, nkv, hd, stride);
    }
    int64_t crossentropy(float* losses, const float* logits, const int32_t* t, int64_t n, int64_t V) override {
        ++calls["crossentropy"];
        return cpu_->crossentropy(losses, logits, t, n, V);
    }
    void crossentropy_backward(float* dl, const float* logits, const int32_t* t, const float* dlosses, int64_t n,
                               int64_t V) override {
        ++calls["crossentropy_backward"];
        cpu_->crossentropy_backward(dl, logits, t, dlosses, n, V);
    }
    float log_softmax_at(const float* logits, int64_t n, int32_t target) override {
        ++calls["log_softmax_at"];
        return cpu_->log_softmax_at(logits, n, target);
    }
    void entropy(float* out, const float* logits, const int32_t* t, int64_t n, int64_t V) override {
        ++calls["entropy"];
        cpu_->entropy(out, logits, t, n, V);
    }
    void kl_div(float* out, const float* p, const float* q, int64_t n, int64_t V) override {
        ++calls["kl_div"];
        cpu_->kl_div(out, p, q, n, V);
    }
    void dropout(float* xd, const float* x, float p, uint64_t seed, int64_t n) override {
        ++calls["dropout"];
        cpu_->dropout(xd, x, p, seed, n);
    }
    void dropout_backward(float* dx, const float* dxd, float p, uint64_t seed, int64_t n) override {
        ++calls["dropout_backward"];
        cpu_->dropout_backward(dx, dxd, p, seed, n);
    }
    void add_scaled(float* y, const float* x, float alpha, int64_t n) override {
        ++calls["add_scaled"];
        cpu_->add_scaled(y, x, alpha, n);
    }
    void scale(float* x, float alpha, int64_t n) override {
        ++calls["scale"];
        cpu_->scale(x, alpha, n);
    }
    void outer_accumulate(float* out, const float* a, const float* b, int64_t n, int64_t P, int64_t Q,
                          float alpha) override {
        ++calls["outer_accumulate"];
        cpu_->outer_accumulate(out, a, b, n, P, Q, alpha);
    }
    void embedding_backward(float* dtable, const float* dout, const int32_t* tokens, int64_t n_rows, int64_t dim,
                            float alpha) override {
        ++calls["embedding_backward"];
        cpu_->embedding_backward(dtable, dout, tokens, n_rows, dim, alpha);
    }
    void rmsnorm_weight_backward(float* dw, const float* dout, const float* x, const float* inv_rms, int64_t n_rows,
                                 int64_t dim, float alpha) override {
        ++calls["rmsnorm_weight_backward"];
        cpu_->rmsnorm_weight_backward(dw, dout, x, inv_rms, n_rows, dim, alpha);
    }

private:
    std::unique_ptr<Backend> cpu_ = make_cpu_backend();
};

std::unique_ptr<LlamaModel> load_fixture() {
    if (!std::ifstream(kModel)) sl4j_test::skip(std::string("fixture ") + kModel + " is absent");
    return LlamaModel::load(kModel);
}

LoraConfig every_target() {
    LoraConfig c;
    c.r = 2;
    c.alpha = 4.f;
    c.dropout = 0.25f;
    c.targets = (1u << kLoraNumTargets) - 1;
    return c;
}

// B = 0 at init would hide the adapter's path: give it values.
void fill_b(LoraAdapter& lora) {
    for (LoraTensor& T : lora.tensors())
        if (T.name.back() == 'b')
            for (int64_t i = 0; i < T.size(); ++i) T.w[i] = float(int64_t(mix64(uint64_t(i)) % 201) - 100) * 1e-3f;
}

// Runs `run` on a session of the counting backend and one of the model's own backend, with an
// F16 KV cache and then an F32 one.
template <typename Run>
void two_sessions(const LlamaModel& model, CountingBackend& cb, Run run) {
    for (int32_t kv : {SL4J_TYPE_F16, SL4J_TYPE_F32}) {
        LlamaSession counted(model, 2, 16, cb, kv), plain(model, 2, 16, kv);
        run(counted, 0);
        run(plain, 1);
        CHECK(counted.has_logits() && plain.has_logits());
        CHECK(counted.logits() == plain.logits());
        CHECK(counted.hidden() == plain.hidden());
    }
}

}  // namespace

TEST(every_op_of_a_decode_and_a_train_step_goes_through_the_backend) {
    auto model = load_fixture();
    CountingBackend cb;
    const int32_t tokens[] = {1, 5, 9, 2, 7};
    const int32_t seqs[] = {0, 0, 1, 1, 0};
    LoraAdapter lora(model->hparams(), every_target());
    fill_b(lora);

    // A decode with logits and log-probabilities, with the adapter attached.
    std::vector<float> logprobs[2];
    two_sessions(*model, cb, [&](LlamaSession& s, int which) {
        s.set_lora(&lora, true);
        s.decode(tokens, seqs, nullptr, nullptr, 5, true);
        for (int64_t r = 0; r < s.n_outputs(); ++r) logprobs[which].push_back(s.logprob(r, tokens[(r + 1) % 5]));
    });
    CHECK(logprobs[0] == logprobs[1]);
    for (const char* op : {"embedding", "rope_cache", "rmsnorm", "matmul", "rope", "attention", "residual", "swiglu",
                           "add_scaled", "log_softmax_at"})
        CHECK(cb.calls[op] > 0);
    CHECK_EQ(cb.calls["attention"], model->hparams().n_layers);
    CHECK_EQ(cb.calls["attention_f16"], model->hparams().n_layers);
    CHECK_EQ(cb.calls["log_softmax_at"], 10);

    // A training step (dropout on) with both gradients pushed in, on the counting backend and on
    // the model's own: same losses and adapter gradients.
    TrainConfig tc;
    tc.batch = 2;
    tc.seq_len = 3;
    const int32_t tt[] = {1, 5, 9, 2, 7, 4};
    const int32_t targets[] = {5, 9, kIgnoreIndex, 7, 4, 3};
    std::vector<float> d_losses(6, 0.25f), d_hidden(size_t(6 * model->hparams().dim), 0.01f);
    std::vector<std::vector<float>> grads[2];
    std::vector<float> losses[2], entropies[2], kls[2];
    for (int which = 0; which < 2; ++which) {
        for (LoraTensor& T : lora.tensors()) std::fill(T.grad.begin(), T.grad.end(), 0.f);
        std::unique_ptr<Trainer> tr = which == 0 ? std::make_unique<Trainer>(*model, &lora, tc, cb)
                                                 : std::make_unique<Trainer>(*model, &lora, tc);
        tr->set_entropy(true);
        tr->forward(tt, targets, nullptr);
        tr->backward(d_losses.data(), d_hidden.data(), 1.f);
        losses[which] = tr->row_losses();
        entropies[which] = tr->row_entropy();
        for (const LoraTensor& T : lora.tensors()) grads[which].push_back(T.grad);
        kls[which].assign(6, 0.f);
        tr->infer_kl(tt, targets, nullptr, kls[which].data());
    }
    CHECK(losses[0] == losses[1]);
    CHECK(entropies[0] == entropies[1]);
    CHECK(kls[0] == kls[1]);
    CHECK(entropies[0][0] > 0 && kls[0][0] > 0);
    CHECK(grads[0] == grads[1]);
    double g = 0;
    for (const auto& v : grads[0])
        for (float x : v) g += double(x) * x;
    CHECK(g > 0);

    // A full-parameter training step: the same through both backends.
    FullParams full(*model);
    std::vector<std::vector<float>> full_grads[2];
    for (int which = 0; which < 2; ++which) {
        zero_grad(full);
        std::unique_ptr<Trainer> tr = which == 0 ? std::make_unique<Trainer>(*model, &full, tc, cb)
                                                 : std::make_unique<Trainer>(*model, &full, tc);
        tr->forward(tt, targets, nullptr);
        tr->backward(d_losses.data(), d_hidden.data(), 1.f);
        for (const ParamTensor& T : full.tensors()) full_grads[which].push_back(T.grad);
    }
    CHECK(full_grads[0] == full_grads[1]);

    for (const char* op : kOps) {
        if (cb.calls[op] == 0) std::fprintf(stderr, "    op %s was never dispatched through the backend\n", op);
        CHECK(cb.calls[op] > 0);
    }
    // Nothing was counted under a name the list above does not know.
    CHECK_EQ(cb.calls.size(), sizeof(kOps) / sizeof(kOps[0]));
}
