// The engine's memory discipline on a device, checked without one: the device-sim backend runs
// the CPU kernels but keeps "device" memory in its own allocations (host_memory() is false) and
// counts every upload and download. A model on it uploads each weight once at load; a session's
// logits equal the CPU session's bit for bit (same kernels, same order); a decode step moves only
// its batch in (token ids and row metadata) and only what the caller asks for out. Training (LoRA
// and full parameters) on it equals the CPU's bit for bit, and a step moves only its batch in and
// its row losses and norms out.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "../bench/random_weights.h"
#include "backend/backend.h"
#include "core/error.h"
#include "core/types.h"
#include "model/llama_model.h"
#include "model/sampler.h"
#include "model/session.h"
#include "stackllama4j.h"
#include "testing.h"
#include "train/adamw.h"
#include "train/full.h"
#include "train/lora.h"
#include "train/trainer.h"

using namespace sl4j;

namespace {

std::string sim_model_path(int32_t type) { return "/tmp/sl4j_device_sim_test_" + std::to_string(type) + ".gguf"; }

// A random GQA model.
void write_model(int32_t type) {
    bench::RandomLlama spec = bench::small_gqa(type);
    spec.tied = type != SL4J_TYPE_Q8_0;
    spec.freq_factors = type == SL4J_TYPE_Q4_K;
    spec.seed = uint64_t(type) + 11;
    bench::write_random_llama(sim_model_path(type), spec);
}

// Bytes a device copy of the weights holds: each matrix once in its stored type (a tied output
// shares the embedding), the norms and the RoPE factors in F32.
int64_t weight_bytes(const LlamaModel& m) {
    const LlamaHparams& h = m.hparams();
    const LlamaWeights& w = m.weights();
    auto bytes = [](const Weight& W) { return type_row_bytes(W.type, W.in) * W.out; };
    int64_t n = bytes(w.tok_embd) + (w.tied_output ? 0 : bytes(w.output));
    for (const LayerWeights& L : w.layers)
        for (const Weight* W : {&L.wq, &L.wk, &L.wv, &L.wo, &L.gate, &L.up, &L.down}) n += bytes(*W);
    n += (2 * h.n_layers + 1) * h.dim * 4;
    n += int64_t(h.rope_freq_factors.size()) * 4;
    return n;
}

struct Outputs {
    std::vector<float> logits, hidden, logprobs;
};

// A prefill of two sequences (packed document starts, outputs on some rows only), then two
// decode steps of both sequences with every output.
Outputs run(const LlamaModel& model, int32_t kv_type) {
    LlamaSession s(model, 2, 48, kv_type);
    Outputs o;
    std::vector<int32_t> tokens, seqs;
    std::vector<int64_t> doc;
    std::vector<int8_t> out;
    for (int i = 0; i < 30; ++i) {
        tokens.push_back(int32_t((i * 41 + 7) % 300));
        seqs.push_back(i < 18 ? 0 : 1);
        doc.push_back(i >= 9 && i < 18 ? 9 : 0);
        out.push_back(i % 4 == 1 || i == 29 ? 1 : 0);
    }
    auto keep = [&]() {
        o.logits.insert(o.logits.end(), s.logits().begin(), s.logits().end());
        o.hidden.insert(o.hidden.end(), s.hidden().begin(), s.hidden().end());
        for (int64_t r = 0; r < s.n_outputs(); ++r) o.logprobs.push_back(s.logprob(r, int32_t((r * 13) % 300)));
    };
    s.decode(tokens.data(), seqs.data(), out.data(), doc.data(), int64_t(tokens.size()), true);
    keep();
    for (int step = 0; step < 2; ++step) {
        const int32_t t[2] = {int32_t(3 + step), int32_t(250 - step)}, q[2] = {1, 0};
        s.decode(t, q, nullptr, nullptr, 2, true);
        keep();
    }
    return o;
}

}  // namespace

TEST(device_sim_model_uploads_each_weight_once_and_sessions_match_cpu) {
    for (int32_t type : {SL4J_TYPE_F32, SL4J_TYPE_Q8_0, SL4J_TYPE_Q4_K}) {
        write_model(type);
        auto cpu = LlamaModel::load(sim_model_path(type));
        TransferCounts counts;
        auto sim = LlamaModel::load(sim_model_path(type), make_device_sim_backend(&counts));
        // Load: every weight uploaded once, nothing read back; the CPU model copies nothing.
        const int64_t want = weight_bytes(*cpu);
        std::fprintf(stderr, "    type %-2d: %lld weight bytes uploaded in %lld uploads\n", type,
                     (long long)counts.upload_bytes, (long long)counts.uploads);
        CHECK_EQ(counts.upload_bytes, want);
        CHECK_EQ(sim->device_bytes(), want);
        CHECK_EQ(counts.downloads, 0);
        CHECK_EQ(cpu->device_bytes(), 0);
        CHECK(sim->weights().layers[0].wq.data != cpu->weights().layers[0].wq.data);
        CHECK(!sim->backend().host_memory() && cpu->backend().host_memory());
        for (int32_t kv : {SL4J_TYPE_F16, SL4J_TYPE_F32}) {
            const Outputs a = run(*cpu, kv), b = run(*sim, kv);
            CHECK(!a.logits.empty() && !a.hidden.empty());
            CHECK(a.logits == b.logits);
            CHECK(a.hidden == b.hidden);
            CHECK(a.logprobs == b.logprobs);
        }
        std::remove(sim_model_path(type).c_str());
    }
}

TEST(device_sim_decode_step_moves_only_the_batch_in_and_what_is_asked_out) {
    write_model(SL4J_TYPE_Q4_K);
    TransferCounts c;
    auto model = LlamaModel::load(sim_model_path(SL4J_TYPE_Q4_K), make_device_sim_backend(&c));
    const int64_t V = model->hparams().n_vocab;
    c = TransferCounts();
    LlamaSession s(*model, 2, 32);
    CHECK_EQ(c.uploads + c.downloads, 0);  // the KV cache is allocated on the device, not uploaded
    const int32_t prompt[6] = {1, 2, 3, 4, 5, 6}, seqs[6] = {0, 0, 0, 1, 1, 1};
    s.decode(prompt, seqs, nullptr, nullptr, 6, true);

    // One decode step of both sequences: in, the two token ids (4 bytes each) and per row its
    // sequence (4), position (8), document start (8) and KV-cache offset (8): five uploads. Out,
    // only the ids embedding range-checks (a GPU reads them back to check them).
    const int64_t row_in = 4 + 4 + 8 + 8 + 8;
    c = TransferCounts();
    const int32_t step[2] = {7, 8}, both[2] = {0, 1};
    s.decode(step, both, nullptr, nullptr, 2, true);
    CHECK_EQ(c.uploads, 5);
    CHECK_EQ(c.upload_bytes, 2 * row_in);
    CHECK_EQ(c.downloads, 1);
    CHECK_EQ(c.download_bytes, 2 * 4);
    // The chosen tokens' log-probabilities: one float each, computed on the device.
    c = TransferCounts();
    const float lp0 = s.logprob(0, 9), lp1 = s.logprob(1, 10);
    CHECK(lp0 < 0 && lp1 < 0);
    CHECK_EQ(c.downloads, 2);
    CHECK_EQ(c.download_bytes, 2 * 4);
    CHECK_EQ(c.uploads, 0);
    // A row of logits for a host-side sampler: that row alone.
    c = TransferCounts();
    const float* row = s.logits_row(1);
    CHECK_EQ(c.download_bytes, V * 4);
    CHECK_EQ(c.downloads, 1);
    // Greedy picks on the device: one token id and its log-prob per row come back (8 bytes),
    // the same as the argmax of the row and the log-prob the session computes for it.
    c = TransferCounts();
    int32_t picks[2];
    float lps[2];
    s.greedy(picks, lps);
    CHECK_EQ(c.download_bytes, 2 * 8);
    CHECK_EQ(c.uploads, 0);
    int32_t best = 0;
    for (int64_t i = 1; i < V; ++i)
        if (row[i] > row[best]) best = int32_t(i);
    CHECK_EQ(picks[1], best);
    CHECK_EQ(lps[1], s.logprob(1, best));
    // Batch 1 decode and its greedy pick: one row in (32 bytes); out, the id embedding checks,
    // then the token and its log-prob.
    c = TransferCounts();
    const int32_t one = picks[0];
    s.decode(&one, nullptr, nullptr, nullptr, 1, true);
    s.greedy(picks, lps);
    CHECK_EQ(c.upload_bytes, row_in);
    CHECK_EQ(c.download_bytes, 4 + 8);
    std::remove(sim_model_path(SL4J_TYPE_Q4_K).c_str());
}

namespace {

// Three samplers of different controls for a seeded sampled decode: temperature, top-k and top-p;
// repetition / frequency / presence penalties over a window with a logit bias; min-p.
std::vector<std::unique_ptr<TokenSampler>> make_samplers(int64_t n_vocab, uint64_t seed) {
    std::vector<std::unique_ptr<TokenSampler>> out;
    sl4j_sampler_params a = sampler_default_params();
    a.temperature = 0.8f, a.top_k = 40, a.top_p = 0.9f, a.seed = seed;
    sl4j_sampler_params b = sampler_default_params();
    b.temperature = 1.2f, b.repeat_penalty = 1.3f, b.frequency_penalty = 0.2f, b.presence_penalty = 0.1f;
    b.penalty_last_n = 16, b.seed = seed + 1;
    sl4j_sampler_params c = sampler_default_params();
    c.temperature = 0.7f, c.min_p = 0.05f, c.seed = seed + 2;
    for (const sl4j_sampler_params& p : {a, b, c}) out.push_back(std::make_unique<TokenSampler>(p, n_vocab));
    const int32_t ids[] = {5, 17};
    const float bias[] = {2.0f, -INFINITY};
    out[1]->set_logit_bias(ids, bias, 2);
    return out;
}

struct Sampled {
    std::vector<int32_t> tokens;
    std::vector<float> logprobs;
};

// A prefill of three sequences, then `steps` sampled decode steps of all three: each step one
// batched pick on the backend (LlamaSession::sample), accepted into each sampler's window.
// host_path: pick each row with TokenSampler::sample over the row on the host instead.
Sampled sample_steps(const LlamaModel& model, int steps, bool host_path) {
    const int64_t V = model.hparams().n_vocab;
    LlamaSession s(model, 3, 64);
    auto samplers = make_samplers(V, 41);
    const int32_t prompt[6] = {1, 20, 3, 40, 5, 60}, seqs[6] = {0, 0, 1, 1, 2, 2};
    const int8_t outs[6] = {0, 1, 0, 1, 0, 1};
    s.decode(prompt, seqs, outs, nullptr, 6, true);
    Sampled r;
    TokenSampler* ptrs[3] = {samplers[0].get(), samplers[1].get(), samplers[2].get()};
    const int32_t rows[3] = {0, 1, 2}, all[3] = {0, 1, 2};
    for (int step = 0; step < steps; ++step) {
        int32_t t[3];
        float lp[3];
        if (host_path) {
            for (int i = 0; i < 3; ++i) t[i] = ptrs[i]->sample(s.logits_row(i), -1, &lp[i], 0, nullptr, nullptr);
        } else {
            s.sample(ptrs, rows, nullptr, 3, t, lp);
        }
        for (int i = 0; i < 3; ++i) {
            ptrs[i]->accept(t[i]);
            r.tokens.push_back(t[i]);
            r.logprobs.push_back(lp[i]);
        }
        s.decode(t, all, nullptr, nullptr, 3, true);
    }
    return r;
}

}  // namespace

// A sampled decode on the device: the same picks and log-probs as the CPU backend, bit for bit
// (the device-sim backend runs the CPU's kernels in the same order, so its logits are the CPU's),
// and the same as the host sampler over downloaded rows (one implementation of the pick).
TEST(device_sim_sampling_matches_cpu_for_a_fixed_seed_over_many_steps) {
    write_model(SL4J_TYPE_Q8_0);
    auto cpu = LlamaModel::load(sim_model_path(SL4J_TYPE_Q8_0));
    TransferCounts c;
    auto sim = LlamaModel::load(sim_model_path(SL4J_TYPE_Q8_0), make_device_sim_backend(&c));
    const int steps = 40;
    const Sampled a = sample_steps(*cpu, steps, false), b = sample_steps(*sim, steps, false),
                  h = sample_steps(*cpu, steps, true);
    CHECK_EQ(int64_t(a.tokens.size()), int64_t(3 * steps));
    CHECK(a.tokens == b.tokens);
    CHECK(a.logprobs == b.logprobs);
    CHECK(a.tokens == h.tokens);
    CHECK(a.logprobs == h.logprobs);
    // Not a constant stream: the draws vary, and the log-probs are the model's (< 0).
    int distinct = 0;
    for (size_t i = 1; i < a.tokens.size(); ++i) distinct += a.tokens[i] != a.tokens[i - 1];
    CHECK(distinct > steps);
    for (float lp : a.logprobs) CHECK(lp < 0.f);
    std::remove(sim_model_path(SL4J_TYPE_Q8_0).c_str());
}

// A temperature + top-k + top-p decode step on the device moves the batch in, the picks'
// controls (and penalised tokens) in, and one token and log-prob per row out: no logits row.
TEST(device_sim_sampled_decode_step_moves_controls_in_and_only_the_picks_out) {
    write_model(SL4J_TYPE_Q4_K);
    TransferCounts c;
    auto model = LlamaModel::load(sim_model_path(SL4J_TYPE_Q4_K), make_device_sim_backend(&c));
    const int64_t V = model->hparams().n_vocab;
    LlamaSession s(*model, 2, 32);
    const int32_t prompt[6] = {1, 2, 3, 4, 5, 6}, seqs[6] = {0, 0, 0, 1, 1, 1};
    const int8_t outs[6] = {0, 0, 1, 0, 0, 1};
    s.decode(prompt, seqs, outs, nullptr, 6, true);
    sl4j_sampler_params p = sampler_default_params();
    p.temperature = 0.8f, p.top_k = 40, p.top_p = 0.9f, p.seed = 3;
    TokenSampler s0(p, V), s1(p, V);
    TokenSampler* both[2] = {&s0, &s1};
    const int32_t rows[2] = {0, 1}, step_seqs[2] = {0, 1};
    int32_t t[2];
    float lp[2];

    // The step: decode (five uploads of the batch, the ids embedding reads back), then the picks:
    // one upload of two 56-byte controls, one 16-byte read of two ids and two log-probs.
    const int64_t row_in = 4 + 4 + 8 + 8 + 8;
    c = TransferCounts();
    const int32_t step[2] = {7, 8};
    s.decode(step, step_seqs, nullptr, nullptr, 2, true);
    s.sample(both, rows, nullptr, 2, t, lp);
    CHECK_EQ(c.uploads, 5 + 1);
    CHECK_EQ(c.upload_bytes, 2 * row_in + 2 * 56);
    CHECK_EQ(c.downloads, 1 + 1);
    CHECK_EQ(c.download_bytes, 2 * 4 + 2 * 8);
    for (int i = 0; i < 2; ++i) {
        CHECK(t[i] >= 0 && t[i] < V);
        CHECK_NEAR(lp[i], s.logprob(i, t[i]), 1e-6);
    }
    // With a penalty window: the distinct penalised tokens go up too (12 bytes each), in one more upload.
    sl4j_sampler_params q = p;
    q.repeat_penalty = 1.3f;
    TokenSampler pen(q, V);
    for (int32_t tok : {4, 9, 4, 11}) pen.accept(tok);
    TokenSampler* one[1] = {&pen};
    c = TransferCounts();
    s.sample(one, rows, nullptr, 1, t, lp);
    CHECK_EQ(c.uploads, 2);
    CHECK_EQ(c.upload_bytes, 56 + 3 * 12);
    CHECK_EQ(c.downloads, 1);
    CHECK_EQ(c.download_bytes, 8);
    // The host sampler over a downloaded row (what a pick with top-n alternatives does): the row comes back.
    c = TransferCounts();
    float row_lp = 0;
    const int32_t again = s1.sample(s.logits_row(1), -1, &row_lp, 0, nullptr, nullptr);
    CHECK(again >= 0 && again < V);
    CHECK_EQ(c.download_bytes, V * 4);
    std::remove(sim_model_path(SL4J_TYPE_Q4_K).c_str());
}

namespace {

// Deterministic values for every tensor of a parameter set (LoRA's B too, so every path carries
// signal), uploaded once per tensor.
void fill_params(ParamSet& p) {
    for (size_t t = 0; t < p.tensors().size(); ++t) {
        ParamTensor& T = p.tensors()[t];
        std::vector<float> v(static_cast<size_t>(T.size()));
        for (int64_t i = 0; i < T.size(); ++i) v[size_t(i)] = bench::random_uniform(t * 131 + 7, uint64_t(i), 0.05f);
        T.w.upload(v.data());
    }
}

LoraConfig every_target_lora() {
    LoraConfig c;
    c.r = 4;
    c.targets = (1u << kLoraNumTargets) - 1;
    c.dropout = 0.1f;
    return c;
}

struct Batch {
    std::vector<int32_t> tokens, targets;
    std::vector<int64_t> doc;
};

// B sequences of T rows: ignored targets every 7th row, a second document from position 10.
Batch batch(int64_t B, int64_t T, uint64_t salt) {
    Batch b;
    for (int64_t i = 0; i < B * T; ++i) {
        b.tokens.push_back(int32_t((i * 53 + 3 + int64_t(salt) * 17) % 300));
        b.targets.push_back(i % 7 == 3 ? kIgnoreIndex : int32_t((i * 29 + 1 + int64_t(salt) * 5) % 300));
        b.doc.push_back(i % T >= 10 ? 10 : 0);
    }
    return b;
}

// One SFT step as the C API runs it: forward, mean loss, backward of the mean, clipping at 1,
// AdamW. Returns the loss; *norm gets the norm before clipping.
double sft_step(Trainer& tr, ParamSet& params, const Batch& b, double* norm) {
    AdamWParams ap;
    ap.lr = 1e-2f;
    zero_grad(params);
    tr.forward(b.tokens.data(), b.targets.data(), b.doc.data());
    int64_t counted = 0;
    const double loss = tr.mean_loss(&counted);
    std::vector<float> d(static_cast<size_t>(tr.rows()), 1.f / float(counted));
    tr.backward(d.data(), nullptr, 1.f);
    *norm = clip_grad_norm(params, 1.0);
    adamw_step(params, ap);
    return loss;
}

struct TrainRun {
    std::vector<double> losses, norms;
    std::vector<float> nlp, hidden, entropy, kl;
    std::vector<std::vector<float>> tensors;  // per tensor: value, gradient, m, v
};

// Four LoRA SFT steps on the model's backend, then PPO's passes: a no-grad forward with entropy
// (row losses, hidden states), the exact KL to the adapter-off reference, and a backward from
// both the row losses and the hidden states (a value head's gradient).
TrainRun train_lora(const LlamaModel& m, bool checkpointing) {
    TrainRun out;
    LoraAdapter lora(m.hparams(), every_target_lora(), m.backend());
    fill_params(lora);
    TrainConfig tc;
    tc.batch = 2;
    tc.seq_len = 16;
    tc.checkpointing = checkpointing;
    Trainer tr(m, &lora, tc);
    for (int step = 0; step < 4; ++step) {
        double norm = 0;
        out.losses.push_back(sft_step(tr, lora, batch(tc.batch, tc.seq_len, 0), &norm));  // one batch: the loss falls
        out.norms.push_back(norm);
    }
    const Batch b = batch(tc.batch, tc.seq_len, 9);
    tr.set_entropy(true);
    tr.set_training(false);
    tr.forward(b.tokens.data(), b.targets.data(), b.doc.data(), false);
    out.nlp = tr.row_losses();
    out.hidden = tr.hidden();
    out.entropy = tr.row_entropy();
    out.kl.resize(static_cast<size_t>(tr.rows()));
    tr.infer_kl(b.tokens.data(), b.targets.data(), b.doc.data(), out.kl.data());
    tr.forward(b.tokens.data(), b.targets.data(), b.doc.data());
    std::vector<float> d(static_cast<size_t>(tr.rows())), dh(out.hidden.size());
    for (size_t i = 0; i < d.size(); ++i) d[i] = float(int64_t(i % 5) - 2) * 0.01f;
    for (size_t i = 0; i < dh.size(); ++i) dh[i] = bench::random_uniform(5, uint64_t(i), 0.01f);
    zero_grad(lora);
    tr.backward(d.data(), dh.data(), 0.5f);
    for (const ParamTensor& T : lora.tensors())
        for (const ParamBuffer* f : {&T.w, &T.grad, &T.m, &T.v}) out.tensors.push_back(f->download());
    return out;
}

}  // namespace

// LoRA training with the model, the adapter (values, gradients, AdamW moments) and every trainer
// buffer in device-sim memory equals training on the CPU bit for bit: the same CPU kernels run in
// the same order on the same values, and transfers are exact copies, so any difference would be a
// buffer the engine mixed up or a transfer it dropped. SFT steps' losses and gradient norms, PPO's
// log-probs, hidden states, entropies and KL, a backward from row losses and hidden states, and
// every tensor afterwards.
TEST(device_sim_lora_training_matches_cpu_bit_for_bit) {
    for (int32_t type : {SL4J_TYPE_Q8_0, SL4J_TYPE_Q4_K}) {
        write_model(type);
        auto cpu = LlamaModel::load(sim_model_path(type));
        TransferCounts c;
        auto sim = LlamaModel::load(sim_model_path(type), make_device_sim_backend(&c));
        const bool ckpt = type == SL4J_TYPE_Q4_K;
        const TrainRun want = train_lora(*cpu, ckpt), got = train_lora(*sim, ckpt);
        std::fprintf(stderr, "    type %-2d%s: loss %.4f -> %.4f, %zu tensor fields, %lld downloads\n", type,
                     ckpt ? " (checkpointing)" : "", want.losses.front(), want.losses.back(), want.tensors.size(),
                     (long long)c.downloads);
        CHECK(want.losses.back() < want.losses.front());
        CHECK(got.losses == want.losses);
        CHECK(got.norms == want.norms);
        CHECK(got.nlp == want.nlp);
        CHECK(got.hidden == want.hidden);
        CHECK(got.entropy == want.entropy);
        CHECK(got.kl == want.kl);
        double kl_sum = 0;
        for (float k : want.kl) kl_sum += k;
        CHECK(kl_sum > 0);
        CHECK(got.tensors == want.tensors);
        std::remove(sim_model_path(type).c_str());
    }
}

// What crosses per training step with everything on the device. Creation: the adapter uploads A's
// initial values (B starts at zero on the device), the trainer its rows' sequences and positions.
// A warm SFT step (forward, mean loss, backward, clipping, AdamW) then uploads exactly the token
// ids, document starts, targets and loss gradients, and downloads exactly the token ids the
// embedding range-checks, the targets cross-entropy range-checks, the row losses the mean is
// taken over, and one sum of squares per tensor: no activation, logit, gradient or weight moves.
TEST(device_sim_training_step_moves_only_the_batch_in_and_scalars_out) {
    write_model(SL4J_TYPE_Q4_K);
    TransferCounts c;
    auto m = LlamaModel::load(sim_model_path(SL4J_TYPE_Q4_K), make_device_sim_backend(&c));
    c = TransferCounts();
    LoraAdapter lora(m->hparams(), every_target_lora(), m->backend());
    const int64_t n_tensors = int64_t(lora.tensors().size());
    int64_t a_bytes = 0;
    for (int64_t t = 0; t < n_tensors; t += 2) a_bytes += lora.tensors()[size_t(t)].size() * 4;
    CHECK_EQ(c.uploads, n_tensors / 2);
    CHECK_EQ(c.upload_bytes, a_bytes);
    CHECK_EQ(c.downloads, 0);
    TrainConfig tc;
    tc.batch = 2;
    tc.seq_len = 16;
    const int64_t N = tc.batch * tc.seq_len;
    c = TransferCounts();
    Trainer tr(*m, &lora, tc);
    CHECK_EQ(c.uploads, 2);
    CHECK_EQ(c.upload_bytes, N * (4 + 8));
    CHECK_EQ(c.downloads, 0);
    CHECK_EQ(tr.head_rows(), N);  // one head chunk: one cross-entropy range check
    for (int step = 0; step < 3; ++step) {
        c = TransferCounts();
        double norm = 0;
        sft_step(tr, lora, batch(tc.batch, tc.seq_len, uint64_t(step)), &norm);
        std::fprintf(stderr, "    step %d: %lld uploads (%lld bytes), %lld downloads (%lld bytes), norm %.4f\n", step,
                     (long long)c.uploads, (long long)c.upload_bytes, (long long)c.downloads,
                     (long long)c.download_bytes, norm);
        CHECK(norm > 0);
        CHECK_EQ(c.uploads, 4);
        CHECK_EQ(c.upload_bytes, N * (4 + 8 + 4 + 4));
        CHECK_EQ(c.downloads, 3 + n_tensors);
        CHECK_EQ(c.download_bytes, 3 * N * 4 + 8 * n_tensors);
    }
    // Reading the adapter (a save or checkpoint) downloads each field asked for, once.
    c = TransferCounts();
    const std::vector<float> a0 = lora.tensors()[0].w;
    CHECK_EQ(c.downloads, 1);
    CHECK_EQ(c.download_bytes, int64_t(a0.size() * 4));
    std::remove(sim_model_path(SL4J_TYPE_Q4_K).c_str());
}

// Full-parameter training on the device: every weight decoded once into device-sim memory, three
// SFT steps equal the CPU's bit for bit (losses, norms, every tensor), and a step moves what a
// LoRA step does (the embedding's scatter-add reads its token ids on the device).
TEST(device_sim_full_parameter_training_matches_cpu_bit_for_bit) {
    write_model(SL4J_TYPE_Q8_0);  // untied output: both the embedding and the output train
    auto cpu = LlamaModel::load(sim_model_path(SL4J_TYPE_Q8_0));
    TransferCounts c;
    auto sim = LlamaModel::load(sim_model_path(SL4J_TYPE_Q8_0), make_device_sim_backend(&c));
    TrainConfig tc;
    tc.batch = 2;
    tc.seq_len = 16;
    tc.checkpointing = true;
    const int64_t N = tc.batch * tc.seq_len;
    std::vector<double> losses[2], norms[2];
    std::vector<std::vector<float>> tensors[2];
    for (int which = 0; which < 2; ++which) {
        const LlamaModel& m = which == 0 ? *cpu : *sim;
        FullParams full(m);
        CHECK(&full.backend() == &m.backend());
        Trainer tr(m, &full, tc);
        for (int step = 0; step < 3; ++step) {
            c = TransferCounts();
            double norm = 0;
            losses[which].push_back(sft_step(tr, full, batch(tc.batch, tc.seq_len, uint64_t(step)), &norm));
            norms[which].push_back(norm);
            if (which == 1) {
                const int64_t n_tensors = int64_t(full.tensors().size());
                CHECK_EQ(c.uploads, 4);
                CHECK_EQ(c.upload_bytes, N * (4 + 8 + 4 + 4));
                CHECK_EQ(c.downloads, 3 + n_tensors);
                CHECK_EQ(c.download_bytes, 3 * N * 4 + 8 * n_tensors);
            }
        }
        for (const ParamTensor& T : full.tensors()) tensors[which].push_back(T.w.download());
    }
    std::fprintf(stderr, "    loss %.4f -> %.4f, %zu tensors\n", losses[0].front(), losses[0].back(),
                 tensors[0].size());
    CHECK(losses[0].back() < losses[0].front());
    CHECK(losses[1] == losses[0]);
    CHECK(norms[1] == norms[0]);
    CHECK(tensors[1] == tensors[0]);
    std::remove(sim_model_path(SL4J_TYPE_Q8_0).c_str());
}

// A session on the device runs an adapter made on the device (logits equal the CPU session with
// the same adapter on the CPU, bit for bit); an adapter in other memory is refused naming both
// backends, by the session and by a trainer.
TEST(device_sim_session_runs_a_device_adapter_and_refuses_a_host_one) {
    write_model(SL4J_TYPE_F32);
    auto cpu = LlamaModel::load(sim_model_path(SL4J_TYPE_F32));
    TransferCounts c;
    auto sim = LlamaModel::load(sim_model_path(SL4J_TYPE_F32), make_device_sim_backend(&c));
    LoraAdapter on_cpu(cpu->hparams(), every_target_lora(), cpu->backend());
    LoraAdapter on_sim(sim->hparams(), every_target_lora(), sim->backend());
    fill_params(on_cpu);
    fill_params(on_sim);
    std::vector<int32_t> tokens;
    std::vector<int8_t> outs;
    for (int i = 0; i < 12; ++i) {
        tokens.push_back(int32_t((i * 41 + 7) % 300));
        outs.push_back(1);
    }
    std::vector<float> logits[2];
    for (int which = 0; which < 2; ++which) {
        LlamaSession s(which == 0 ? *cpu : *sim, 1, 16);
        s.set_lora(which == 0 ? &on_cpu : &on_sim, true);
        s.decode(tokens.data(), nullptr, outs.data(), nullptr, int64_t(tokens.size()), true);
        logits[which] = s.logits();
    }
    CHECK(!logits[0].empty());
    CHECK(logits[1] == logits[0]);
    LlamaSession s(*sim, 1, 16);
    int32_t status = 0;
    std::string message;
    try {
        s.set_lora(&on_cpu, true);
    } catch (const Error& e) {
        status = e.status();
        message = e.what();
    }
    CHECK_EQ(status, SL4J_ERR_INVALID_ARGUMENT);
    CHECK(message.find("device-sim") != std::string::npos && message.find("CPU") != std::string::npos);
    TrainConfig tc;
    tc.batch = 1;
    tc.seq_len = 4;
    status = 0;
    try {
        Trainer tr(*sim, &on_cpu, tc);
    } catch (const Error& e) {
        status = e.status();
        message = e.what();
    }
    CHECK_EQ(status, SL4J_ERR_INVALID_ARGUMENT);
    CHECK(message.find("trainable tensors live on CPU") != std::string::npos);
    std::remove(sim_model_path(SL4J_TYPE_F32).c_str());
}

// The device flag of the C API: CPU always; CUDA refused with a reason when no GPU is usable;
// AUTO picks the GPU when one is usable, else the CPU, and names its pick in one line.
TEST(model_device_cpu_cuda_auto_through_the_c_api) {
    write_model(SL4J_TYPE_F32);
    const std::string path = sim_model_path(SL4J_TYPE_F32);
    sl4j_model_params p = sl4j_model_default_params();
    CHECK_EQ(p.device, SL4J_DEVICE_AUTO);
    sl4j_model* m = nullptr;
    p.device = SL4J_DEVICE_CPU;
    CHECK_EQ(sl4j_model_load(path.c_str(), &p, &m), SL4J_OK);
    CHECK_EQ(sl4j_model_device(m), SL4J_DEVICE_CPU);
    CHECK_EQ(sl4j_model_device_bytes(m), 0);
    CHECK(std::string(sl4j_model_notice(m)).empty());
    sl4j_model_free(m);

    m = nullptr;
    p.device = SL4J_DEVICE_AUTO;
    CHECK_EQ(sl4j_model_load(path.c_str(), &p, &m), SL4J_OK);
    const std::string notice = sl4j_model_notice(m);
    std::fprintf(stderr, "    auto: %s\n", notice.c_str());
    CHECK(notice.find('\n') == std::string::npos);
    if (sl4j_cuda_device_count() == 0) {
        CHECK_EQ(sl4j_model_device(m), SL4J_DEVICE_CPU);
        CHECK(notice.find("running on the CPU") != std::string::npos);
    } else {
        CHECK_EQ(sl4j_model_device(m), SL4J_DEVICE_CUDA);
        CHECK(notice.find("running on the GPU") != std::string::npos);
        CHECK(sl4j_model_device_bytes(m) > 0);
    }
    sl4j_model_free(m);

    if (sl4j_cuda_device_count() == 0) {
        m = nullptr;
        p.device = SL4J_DEVICE_CUDA;
        CHECK_EQ(sl4j_model_load(path.c_str(), &p, &m), SL4J_ERR_BACKEND);
        CHECK(m == nullptr);
        const std::string err = sl4j_last_error();
        std::fprintf(stderr, "    cuda: %s\n", err.c_str());
        CHECK(err.find("device cuda asked") != std::string::npos);
    }
    std::remove(path.c_str());
}
