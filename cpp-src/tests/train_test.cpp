// LoRA training against independent references: PyTorch float64 autograd (loss, every LoRA
// gradient, one AdamW step; fixture from scripts/reference/lora_fixture.py, tolerance: per
// tensor max |engine - torch| ≤ 1e-4 · max |torch|), whole-model finite differences on LoRA
// entries, checkpointing = no checkpointing, adapter off = base model, session with an attached
// adapter = training forward, and an overfit run on stories260K.
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cpu/ops.h"
#include "cpu/ops_backward.h"
#include "model/llama_model.h"
#include "model/session.h"
#include "testing.h"
#include "train/adamw.h"
#include "train/lora.h"
#include "train/trainer.h"

using namespace sl4j;

namespace {

const char* kModel = "java/src/test/resources/fixtures/models/gqa_f32.gguf";
const char* kFixture = "java/src/test/resources/fixtures/lora/gqa_f32_lora.txt";

std::map<std::string, std::vector<double>> read_records(const std::string& path) {
    std::ifstream in(path);
    if (!in) sl4j_test::skip("fixture " + path + " is absent");
    std::map<std::string, std::vector<double>> out;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ss(line);
        std::string name;
        size_t n = 0;
        ss >> name >> n;
        std::vector<double> v(n);
        for (double& x : v) ss >> x;
        out[name] = v;
    }
    return out;
}

template <typename T>
std::vector<T> as(const std::vector<double>& v) {
    return std::vector<T>(v.begin(), v.end());
}

// max |a - b| ≤ rel · max |b|
void check_close(const std::string& what, const std::vector<float>& a, const std::vector<double>& b, double rel) {
    CHECK_EQ(a.size(), b.size());
    double err = 0, ref = 0;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
        err = std::max(err, std::fabs(double(a[i]) - b[i]));
        ref = std::max(ref, std::fabs(b[i]));
    }
    if (!(err <= rel * ref)) std::fprintf(stderr, "    %s: max error %.3g, max value %.3g\n", what.c_str(), err, ref);
    CHECK(ref > 0);
    CHECK(err <= rel * ref);
}

LoraConfig all_targets(int64_t r, float alpha) {
    LoraConfig c;
    c.r = r;
    c.alpha = alpha;
    c.dropout = 0.f;
    c.targets = (1u << kLoraNumTargets) - 1;
    return c;
}

// The integers of the JSON array `key` in a small fixture file.
std::vector<int32_t> read_ints(const std::string& path, const std::string& key) {
    std::ifstream in(path);
    if (!in) sl4j_test::skip("fixture " + path + " is absent");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    const size_t open = text.find('[', text.find("\"" + key + "\""));
    std::stringstream body(text.substr(open + 1, text.find(']', open) - open - 1));
    std::vector<int32_t> out;
    std::string item;
    while (std::getline(body, item, ',')) out.push_back(std::stoi(item));
    return out;
}

// Random non-zero B so that every gradient (A's included) is non-zero.
void randomize_b(LoraAdapter& lora, uint64_t seed) {
    for (LoraTensor& T : lora.tensors())
        if (T.name.back() == 'b')
            for (int64_t i = 0; i < T.size(); ++i)
                T.w[i] = float((double(mix64(seed + uint64_t(i) * 7 + T.name.size()) >> 11) / double(1ull << 53) - 0.5) * 0.1);
}

struct Batch {
    int64_t B = 2, T = 9;
    std::vector<int32_t> tokens, targets;
    std::vector<int64_t> doc_start;
};

Batch fixture_batch(std::map<std::string, std::vector<double>>& f) {
    Batch b;
    b.tokens = as<int32_t>(f["batch.tokens"]);
    b.targets = as<int32_t>(f["batch.targets"]);
    b.doc_start = as<int64_t>(f["batch.doc_start"]);
    return b;
}

double loss_of(Trainer& tr, const Batch& b) {
    tr.forward(b.tokens.data(), b.targets.data(), b.doc_start.data());
    return tr.mean_loss(nullptr);
}

// Native-loss training step: mean CE and its backward.
double ce_step(Trainer& tr, const Batch& b) {
    tr.forward(b.tokens.data(), b.targets.data(), b.doc_start.data());
    int64_t counted = 0;
    double loss = tr.mean_loss(&counted);
    std::vector<float> d(size_t(tr.rows()), 1.f / float(counted));
    tr.backward(d.data(), nullptr, 1.f);
    return loss;
}

// The trainer's gradient of entry i of T against a central difference of the mean loss (step
// 1e-2: the forward is float32); tolerance 2e-2 relative plus abs_tol.
void check_entry_by_central_difference(Trainer& tr, const Batch& b, ParamTensor& T, int64_t i, double abs_tol) {
    const float w0 = T.w[i], h = 1e-2f;
    T.w[i] = w0 + h;
    double lp = loss_of(tr, b);
    T.w[i] = w0 - h;
    double lm = loss_of(tr, b);
    T.w[i] = w0;
    const double num = (lp - lm) / (2.0 * double(h));
    if (!(std::fabs(num - T.grad[i]) <= 2e-2 * std::fabs(num) + abs_tol))
        std::fprintf(stderr, "    %s[%lld]: analytic %.6g numeric %.6g\n", T.name.c_str(), (long long)i, double(T.grad[i]),
                     num);
    CHECK(std::fabs(num - T.grad[i]) <= 2e-2 * std::fabs(num) + abs_tol);
}

}  // namespace

TEST(lora_grads_and_adamw_match_torch_autograd) {
    auto f = read_records(kFixture);
    auto model = LlamaModel::load(kModel);
    const auto& cfg = f["config.r_alpha_B_T"];
    LoraAdapter lora(model->hparams(), all_targets(int64_t(cfg[0]), float(cfg[1])));
    for (LoraTensor& T : lora.tensors()) {
        auto it = f.find("init." + T.name);
        CHECK(it != f.end());
        if (it == f.end()) return;
        T.w = as<float>(it->second);
    }
    Batch b = fixture_batch(f);
    TrainConfig tc;
    tc.batch = int64_t(cfg[2]);
    tc.seq_len = int64_t(cfg[3]);
    Trainer tr(*model, &lora, tc);
    double loss = ce_step(tr, b);
    int64_t counted = 0;
    tr.mean_loss(&counted);
    CHECK_NEAR(loss, f["loss"][0], 1e-4 * f["loss"][0]);
    CHECK_EQ(counted, int64_t(f["loss"][1]));
    for (LoraTensor& T : lora.tensors()) check_close("grad " + T.name, T.grad, f["grad." + T.name], 1e-4);
    const auto& a = f["adamw.lr_beta1_beta2_eps_wd"];
    AdamWParams p;
    p.lr = float(a[0]);
    p.beta1 = float(a[1]);
    p.beta2 = float(a[2]);
    p.eps = float(a[3]);
    p.weight_decay = float(a[4]);
    adamw_step(lora, p);
    for (LoraTensor& T : lora.tensors()) check_close("adamw " + T.name, T.w, f["adamw." + T.name], 1e-4);
}

TEST(lora_whole_model_finite_differences) {
    auto f = read_records(kFixture);
    auto model = LlamaModel::load(kModel);
    LoraAdapter lora(model->hparams(), all_targets(4, 8.f));
    randomize_b(lora, 5);
    Batch b = fixture_batch(f);
    TrainConfig tc;
    tc.batch = b.B;
    tc.seq_len = b.T;
    Trainer tr(*model, &lora, tc);
    ce_step(tr, b);
    // A few entries of A and B in the first and last layers, from several targets. The forward
    // is float32, so the central difference uses a largish step; tolerance 2e-2 relative.
    int checked = 0;
    for (size_t ti : {size_t(0), size_t(1), size_t(5), size_t(12), size_t(13), lora.tensors().size() - 1}) {
        LoraTensor& T = lora.tensors()[ti];
        for (int64_t i : {int64_t(0), T.size() / 2 + 1, T.size() - 1}) {
            check_entry_by_central_difference(tr, b, T, i, 2e-3);
            ++checked;
        }
    }
    CHECK_EQ(checked, 18);
}

TEST(lora_hidden_gradient_from_caller) {
    // Loss = Σ c·hidden (a value head's gradient pushed in from Java) by finite differences.
    auto f = read_records(kFixture);
    auto model = LlamaModel::load(kModel);
    LoraConfig lc = all_targets(4, 8.f);
    lc.targets = (1u << kLoraQ) | (1u << kLoraV);
    LoraAdapter lora(model->hparams(), lc);
    randomize_b(lora, 9);
    Batch b = fixture_batch(f);
    TrainConfig tc;
    tc.batch = b.B;
    tc.seq_len = b.T;
    Trainer tr(*model, &lora, tc);
    const int64_t n = tr.rows() * model->hparams().dim;
    std::vector<float> c(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) c[i] = float(std::sin(double(i) * 0.37));
    auto value = [&] {
        tr.forward(b.tokens.data(), b.targets.data(), b.doc_start.data());
        double s = 0;
        for (int64_t i = 0; i < n; ++i) s += double(c[i]) * tr.hidden()[i];
        return s;
    };
    value();
    tr.backward(nullptr, c.data(), 1.f);
    LoraTensor& A = lora.tensors()[0];
    for (int64_t i : {int64_t(3), A.size() - 2}) {
        const float w0 = A.w[i], h = 1e-2f;
        A.w[i] = w0 + h;
        double vp = value();
        A.w[i] = w0 - h;
        double vm = value();
        A.w[i] = w0;
        const double num = (vp - vm) / (2.0 * double(h));
        CHECK(std::fabs(num - A.grad[i]) <= 2e-2 * std::fabs(num) + 2e-3);
    }
}

TEST(lora_checkpointing_gives_the_same_gradients) {
    auto f = read_records(kFixture);
    auto model = LlamaModel::load(kModel);
    LoraConfig lc = all_targets(4, 8.f);
    lc.dropout = 0.1f;  // masks must be reproduced by the recomputation
    LoraAdapter l1(model->hparams(), lc), l2(model->hparams(), lc);
    randomize_b(l1, 3);
    randomize_b(l2, 3);
    Batch b = fixture_batch(f);
    TrainConfig tc;
    tc.batch = b.B;
    tc.seq_len = b.T;
    Trainer t1(*model, &l1, tc);
    tc.checkpointing = true;
    Trainer t2(*model, &l2, tc);
    CHECK_EQ(ce_step(t1, b), ce_step(t2, b));
    for (size_t i = 0; i < l1.tensors().size(); ++i)
        for (size_t j = 0; j < l1.tensors()[i].grad.size(); ++j)
            if (l1.tensors()[i].grad[j] != l2.tensors()[i].grad[j]) {
                CHECK_EQ(l1.tensors()[i].grad[j], l2.tensors()[i].grad[j]);
                return;
            }
    CHECK(grad_norm(l1) > 0);
}

TEST(lora_disabled_and_attached_session_match_the_right_model) {
    auto model = LlamaModel::load(kModel);
    LoraAdapter lora(model->hparams(), all_targets(4, 8.f));
    randomize_b(lora, 11);
    const int64_t T = 7, V = model->hparams().n_vocab;
    std::vector<int32_t> tokens = {1, 17, 42, 5, 200, 9, 33}, targets(T);
    for (int64_t t = 0; t < T; ++t) targets[t] = t + 1 < T ? tokens[t + 1] : 0;
    TrainConfig tc;
    tc.seq_len = T;
    Trainer tr(*model, &lora, tc);
    for (bool on : {false, true}) {
        tr.set_adapter_enabled(on);
        tr.forward(tokens.data(), targets.data(), nullptr);
        LlamaSession s(*model, 1, 16, SL4J_TYPE_F32);  // the trainer's keys and values are F32
        s.set_lora(&lora, on);
        s.decode(tokens.data(), nullptr, nullptr, nullptr, T, true);
        for (int64_t t = 0; t < T; ++t)
            CHECK_NEAR(-tr.row_losses()[t], cpu::log_softmax_at(s.logits().data() + t * V, V, targets[t]), 1e-4);
        if (!on) {  // and the plain session (no adapter) agrees too
            LlamaSession base(*model, 1, 16, SL4J_TYPE_F32);
            base.decode(tokens.data(), nullptr, nullptr, nullptr, T, true);
            for (int64_t i = 0; i < T * V; ++i)
                if (base.logits()[i] != s.logits()[i]) {
                    CHECK_EQ(base.logits()[i], s.logits()[i]);
                    break;
                }
        }
    }
    tr.set_adapter_enabled(false);
    tr.forward(tokens.data(), targets.data(), nullptr);
    std::vector<float> d(T, 1.f);
    EXPECT_THROWS(tr.backward(d.data(), nullptr, 1.f));
}

TEST(lora_overfits_stories260K) {
    std::string dir = sl4j_test::shared_dir();
    if (dir.empty()) sl4j_test::missing_shared("../shared is absent: stories260K model not available");
    auto model = LlamaModel::load(dir + "/models/stories260K/stories260K.gguf");
    LoraAdapter lora(model->hparams(), all_targets(16, 32.f));
    const int64_t T = 100;
    // Text the model can produce (random ids include tokens it never learned, whose tiny
    // embeddings a frozen output norm cannot lift): the reference greedy story, read backwards,
    // so the model has not seen this sequence.
    std::vector<int32_t> story = read_ints("java/src/test/resources/fixtures/stories260K_greedy.json", "greedy_ids");
    CHECK(int64_t(story.size()) >= T);
    if (int64_t(story.size()) < T) return;
    std::vector<int32_t> tokens(T), targets(T);
    tokens[0] = 1;
    for (int64_t t = 1; t < T; ++t) tokens[t] = story[size_t(T - t)];
    for (int64_t t = 0; t < T; ++t) targets[t] = t + 1 < T ? tokens[t + 1] : cpu::kIgnoreIndex;
    TrainConfig tc;
    tc.seq_len = T;
    Trainer tr(*model, &lora, tc);
    AdamWParams p;
    p.lr = 3e-3f;
    p.weight_decay = 0.f;
    Batch b;
    b.B = 1;
    b.T = T;
    b.tokens = tokens;
    b.targets = targets;
    b.doc_start.assign(T, 0);
    double first = 0, loss = 0;
    for (int step = 0; step < 300; ++step) {
        zero_grad(lora);
        loss = ce_step(tr, b);
        if (step == 0) first = loss;
        clip_grad_norm(lora, 1.0);
        adamw_step(lora, p);
        if (loss < 0.01) break;
    }
    std::fprintf(stderr, "    overfit: loss %.4f -> %.4f after %lld steps\n", first, loss, (long long)lora.adam_steps);
    CHECK(first > 2.0);  // an unseen sequence: high loss before training
    CHECK(loss < 0.02);
}

namespace {

// Central differences of the mean CE loss over a few entries of every full-parameter tensor
// against the trainer's gradient. The forward is float32: step 1e-2, tolerance 2e-2 relative.
void full_finite_differences(const char* model_path, int64_t* checked_out) {
    auto f = read_records(kFixture);
    if (!std::ifstream(model_path)) sl4j_test::skip(std::string("fixture ") + model_path + " is absent");
    auto model = LlamaModel::load(model_path);
    FullParams full(*model);
    Batch b = fixture_batch(f);
    TrainConfig tc;
    tc.batch = b.B;
    tc.seq_len = b.T;
    Trainer tr(*model, &full, tc);
    // Same loss as the base model before any step.
    Trainer base(*model, static_cast<LoraAdapter*>(nullptr), tc);
    CHECK_NEAR(loss_of(tr, b), loss_of(base, b), 1e-6);
    ce_step(tr, b);
    const int64_t dim = model->hparams().dim;
    int64_t checked = 0;
    for (ParamTensor& T : full.tensors()) {
        std::vector<int64_t> at = {0, T.size() / 2 + 1, T.size() - 1};
        // Embedding rows of tokens in the batch (input and, when tied, output gradient).
        if (T.name == "token_embd.weight") at = {b.tokens[0] * dim, b.tokens[3] * dim + dim / 2, T.size() - 1};
        for (int64_t i : at) {
            check_entry_by_central_difference(tr, b, T, i, 2e-4);
            ++checked;
        }
        double g = 0;
        for (float x : T.grad) g += double(x) * x;
        if (!(g > 0)) std::fprintf(stderr, "    %s: zero gradient\n", T.name.c_str());
        CHECK(g > 0);
    }
    *checked_out = checked;
}

}  // namespace

TEST(full_params_whole_model_finite_differences_tied) {
    auto model = LlamaModel::load(kModel);
    CHECK(model->weights().tied_output);
    int64_t checked = 0;
    full_finite_differences(kModel, &checked);
    CHECK_EQ(checked, 3 * (1 + 9 * model->hparams().n_layers + 1));
}

TEST(full_params_whole_model_finite_differences_untied_f16) {
    const char* path = "java/src/test/resources/fixtures/models/untied_f16.gguf";
    auto model = LlamaModel::load(path);
    CHECK(!model->weights().tied_output);
    int64_t checked = 0;
    full_finite_differences(path, &checked);
    CHECK_EQ(checked, 3 * (1 + 9 * model->hparams().n_layers + 2));
}

TEST(full_params_checkpointing_and_grad_scale) {
    // Checkpointing gives the same gradients; grad_scale 0.5 gives half of them.
    auto f = read_records(kFixture);
    auto model = LlamaModel::load(kModel);
    Batch b = fixture_batch(f);
    std::vector<std::vector<float>> g[3];
    for (int run = 0; run < 3; ++run) {
        FullParams full(*model);
        TrainConfig tc;
        tc.batch = b.B;
        tc.seq_len = b.T;
        tc.checkpointing = run == 1;
        Trainer tr(*model, &full, tc);
        tr.forward(b.tokens.data(), b.targets.data(), b.doc_start.data());
        int64_t counted = 0;
        tr.mean_loss(&counted);
        std::vector<float> d(size_t(tr.rows()), 1.f / float(counted));
        tr.backward(d.data(), nullptr, run == 2 ? 0.5f : 1.f);
        for (const ParamTensor& T : full.tensors()) g[run].push_back(T.grad);
    }
    CHECK(g[0] == g[1]);
    for (size_t t = 0; t < g[0].size(); ++t)
        for (size_t i = 0; i < g[0][t].size(); ++i) CHECK_NEAR(g[2][t][i], 0.5f * g[0][t][i], 1e-6 * (1 + std::fabs(g[0][t][i])));
}

TEST(full_params_training_lowers_the_loss) {
    auto f = read_records(kFixture);
    auto model = LlamaModel::load(kModel);
    FullParams full(*model);
    Batch b = fixture_batch(f);
    TrainConfig tc;
    tc.batch = b.B;
    tc.seq_len = b.T;
    Trainer tr(*model, &full, tc);
    AdamWParams p;
    p.lr = 3e-3f;
    double first = 0, last = 0;
    for (int step = 0; step < 30; ++step) {
        zero_grad(full);
        last = ce_step(tr, b);
        if (step == 0) first = last;
        clip_grad_norm(full, 1.0);
        adamw_step(full, p);
    }
    CHECK_EQ(full.adam_steps, 30);
    std::fprintf(stderr, "    full-parameter overfit: loss %.4f -> %.4f\n", first, last);
    CHECK(last < 0.5 * first);
}

namespace {

// Float64 references: entropy of softmax(l) and KL(softmax(a) ‖ softmax(b)) from log-softmax rows.
std::vector<double> log_softmax64(const float* l, int64_t n) {
    double mx = -INFINITY;
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, double(l[i]));
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += std::exp(double(l[i]) - mx);
    std::vector<double> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out[size_t(i)] = double(l[i]) - mx - std::log(s);
    return out;
}
double entropy64(const float* l, int64_t n) {
    double h = 0;
    for (double lp : log_softmax64(l, n)) h -= std::exp(lp) * lp;
    return h;
}
double kl64(const float* a, const float* b, int64_t n) {
    const auto p = log_softmax64(a, n), q = log_softmax64(b, n);
    double kl = 0;
    for (size_t i = 0; i < p.size(); ++i) kl += std::exp(p[i]) * (p[i] - q[i]);
    return kl;
}

}  // namespace

TEST(entropy_and_kl_rows_match_float64) {
    const int64_t V = 3001, R = 6;
    std::vector<float> a(size_t(R * V)), b(size_t(R * V));
    for (int64_t i = 0; i < R * V; ++i) {
        const double u = double(mix64(uint64_t(i)) >> 11) / double(1ull << 53), w = double(mix64(uint64_t(i) + 99991) >> 11) / double(1ull << 53);
        const double amp = 1.0 + 6.0 * double(i / V);  // row r: logits in ±(1 + 6r): flat to peaked
        a[size_t(i)] = float((u - 0.5) * 2 * amp + 40.0);  // an offset: the max shift must handle it
        b[size_t(i)] = float((w - 0.5) * 2 * amp);
    }
    // row 5: one dominant token (entropy near 0) and a logit so low its probability underflows
    a[size_t(5 * V + 7)] = 200.f;
    a[size_t(5 * V + 8)] = -1e30f;
    std::vector<int32_t> targets(size_t(R), 0);
    targets[2] = kIgnoreIndex;
    std::vector<float> h(static_cast<size_t>(R)), kl(static_cast<size_t>(R)), self(static_cast<size_t>(R));
    cpu::entropy_forward(h.data(), a.data(), targets.data(), R, V);
    cpu::kl_forward(kl.data(), a.data(), b.data(), R, V);
    cpu::kl_forward(self.data(), a.data(), a.data(), R, V);
    for (int64_t r = 0; r < R; ++r) {
        const float* ar = a.data() + r * V;
        const double he = r == 2 ? 0.0 : entropy64(ar, V), ke = kl64(ar, b.data() + r * V, V);
        if (!(std::fabs(h[r] - he) <= 1e-5 * std::max(1.0, he) && std::fabs(kl[r] - ke) <= 1e-5 * std::max(1.0, ke)))
            std::fprintf(stderr, "    row %lld: entropy %.9g vs %.9g, kl %.9g vs %.9g\n", (long long)r, h[r], he, kl[r], ke);
        CHECK(std::fabs(h[r] - he) <= 1e-5 * std::max(1.0, he));
        CHECK(std::fabs(kl[r] - ke) <= 1e-5 * std::max(1.0, ke));
        CHECK(std::fabs(self[r]) <= 1e-6);  // KL(p ‖ p) = 0
        CHECK(std::isfinite(h[r]) && std::isfinite(kl[r]));
    }
    CHECK(h[0] > 7.5f);         // near log(3001) = 8.007 for flat logits
    CHECK(h[5] < 1e-6f);        // one token holds all the mass
    CHECK_EQ(h[2], 0.f);        // an ignored row
    // targets NULL: every row
    cpu::entropy_forward(h.data(), a.data(), nullptr, R, V);
    CHECK(std::fabs(h[2] - entropy64(a.data() + 2 * V, V)) <= 1e-5 * entropy64(a.data() + 2 * V, V));
}

// The trainer's per-row entropy (training forward) and its KL(adapter on ‖ adapter off) against
// float64 references on an F32-KV session's logits with the adapter attached and detached.
TEST(trainer_entropy_and_kl_match_float64_on_session_logits) {
    auto model = LlamaModel::load(kModel);
    LoraAdapter lora(model->hparams(), all_targets(4, 8.f));
    randomize_b(lora, 23);
    const int64_t T = 7, V = model->hparams().n_vocab;
    const std::vector<int32_t> tokens = {1, 17, 42, 5, 200, 9, 33};
    std::vector<int32_t> targets(T, kIgnoreIndex);
    for (int64_t t = 2; t + 1 < T; ++t) targets[t] = tokens[t + 1];  // rows 2..5 count, as a response's would
    TrainConfig tc;
    tc.seq_len = T;
    Trainer tr(*model, &lora, tc);
    tr.set_entropy(true);
    tr.forward(tokens.data(), targets.data(), nullptr);
    const std::vector<float> entropy = tr.row_entropy();
    const std::vector<float> hidden_on = tr.hidden();
    const uint64_t calls = tr.forward_count();
    std::vector<float> kl(size_t(T), -1.f);
    tr.infer_kl(tokens.data(), targets.data(), nullptr, kl.data());
    CHECK_EQ(tr.forward_count(), calls);  // the KL passes draw no dropout masks
    CHECK(tr.hidden() == hidden_on);      // hidden() holds the policy's states
    std::vector<float> logits[2];
    for (bool on : {false, true}) {
        LlamaSession s(*model, 1, 16, SL4J_TYPE_F32);
        s.set_lora(&lora, on);
        s.decode(tokens.data(), nullptr, nullptr, nullptr, T, true);
        logits[on] = s.logits();
    }
    double kl_sum = 0;
    for (int64_t t = 0; t < T; ++t) {
        const bool counted = targets[t] != kIgnoreIndex;
        const double he = counted ? entropy64(logits[1].data() + t * V, V) : 0.0;
        const double ke = counted ? kl64(logits[1].data() + t * V, logits[0].data() + t * V, V) : 0.0;
        if (!(std::fabs(entropy[t] - he) <= 1e-4 && std::fabs(kl[t] - ke) <= 1e-4 * std::max(1.0, ke)))
            std::fprintf(stderr, "    row %lld: entropy %.7g vs %.7g, kl %.7g vs %.7g\n", (long long)t, entropy[t], he, kl[t], ke);
        CHECK(std::fabs(entropy[t] - he) <= 1e-4);
        CHECK(std::fabs(kl[t] - ke) <= 1e-4 * std::max(1.0, ke));
        kl_sum += ke;
    }
    CHECK(kl_sum > 1e-4);  // the adapter changes the distribution: the test sees the KL
    // no adapter: refused
    Trainer base(*model, static_cast<LoraAdapter*>(nullptr), tc);
    EXPECT_THROWS(base.infer_kl(tokens.data(), targets.data(), nullptr, kl.data()));
}
