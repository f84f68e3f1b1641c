// The engine's memory discipline on a device, checked without one: the device-sim backend runs
// the CPU kernels but keeps "device" memory in its own allocations (host_memory() is false) and
// counts every upload and download. A model on it uploads each weight once at load; a session's
// logits equal the CPU session's bit for bit (same kernels, same order); a decode step moves only
// its batch in (token ids and row metadata) and only what the caller asks for out.
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

TEST(device_sim_training_and_adapters_refuse_device_memory_clearly) {
    write_model(SL4J_TYPE_F32);
    TransferCounts c;
    auto model = LlamaModel::load(sim_model_path(SL4J_TYPE_F32), make_device_sim_backend(&c));
    LoraConfig lc;
    lc.r = 2;
    LoraAdapter lora(model->hparams(), lc);
    TrainConfig tc;
    tc.batch = 1;
    tc.seq_len = 4;
    int32_t status = 0;
    std::string message;
    try {
        Trainer tr(*model, &lora, tc);
    } catch (const Error& e) {
        status = e.status();
        message = e.what();
    }
    CHECK_EQ(status, SL4J_ERR_UNSUPPORTED);
    CHECK(message.find("host memory") != std::string::npos);
    LlamaSession s(*model, 1, 8);
    status = 0;
    try {
        s.set_lora(&lora, true);
    } catch (const Error& e) {
        status = e.status();
    }
    CHECK_EQ(status, SL4J_ERR_UNSUPPORTED);
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
