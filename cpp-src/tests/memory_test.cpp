// Memory bounds of the trainer: the output head runs in row chunks (a 128k vocabulary never
// materialises rows × vocab logits; chunked results equal one-chunk results), and a no-grad
// forward allocates one layer's buffers and its outputs only (the trainer's counting hook
// buffer_bytes() sees every buffer it holds), with results equal to a keeping forward's.
// An F16 KV cache stays within a stated tolerance of an F32 one over a 4096-position context.
// The memory plan (sl4j_memory_plan) is the same arithmetic: checked against the trainer's counted
// buffers and against hand-computed 7B and 8B shapes (LoRA and full-parameter).
//
// This file replaces the global operator new/delete of engine_tests with a counting allocator
// (malloc underneath; live bytes and a resettable peak, by malloc_usable_size), so a test can see
// every C++ allocation of a pass, not only the buffers a class chooses to count.
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <new>
#include <string>
#include <vector>

#include "../bench/plan_targets.h"
#include "core/hash.h"
#include "stackllama4j.h"
#include "gguf/gguf.h"
#include "model/finite_check.h"
#include "model/llama_model.h"
#include "model/session.h"
#include "testing.h"
#include "train/lora.h"
#include "train/memory_plan.h"
#include "train/trainer.h"

using namespace sl4j;

namespace {
std::atomic<int64_t> g_live{0}, g_peak{0};

void* counted(void* p) {
    if (p == nullptr) throw std::bad_alloc();
    const int64_t live = g_live.fetch_add(int64_t(malloc_usable_size(p))) + int64_t(malloc_usable_size(p));
    for (int64_t peak = g_peak.load(); live > peak && !g_peak.compare_exchange_weak(peak, live);) {}
    return p;
}
void uncounted(void* p) {
    if (p == nullptr) return;
    g_live.fetch_sub(int64_t(malloc_usable_size(p)));
    std::free(p);
}
// Starts a measurement: the peak restarts from the bytes live now, which it returns.
int64_t reset_peak() {
    const int64_t live = g_live.load();
    g_peak.store(live);
    return live;
}
}  // namespace

void* operator new(std::size_t n) { return counted(std::malloc(n ? n : 1)); }
void* operator new(std::size_t n, std::align_val_t a) {
    const std::size_t al = std::size_t(a);
    return counted(std::aligned_alloc(al, (n + al - 1) / al * al));
}
void operator delete(void* p) noexcept { uncounted(p); }
void operator delete(void* p, std::size_t) noexcept { uncounted(p); }
void operator delete(void* p, std::align_val_t) noexcept { uncounted(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { uncounted(p); }

namespace {

const char* kModel = "java/src/test/resources/fixtures/models/gqa_f32.gguf";

float uniform(uint64_t seed, uint64_t i, float scale) {
    return float((double(mix64(seed * 0x9E3779B97F4A7C15ull + i) >> 11) / double(1ull << 53) - 0.5) * 2 * scale);
}

// A small random F32 LLaMA GGUF with a large vocabulary, written to /tmp.
std::string write_model(int64_t vocab, int64_t dim, int64_t layers, int64_t heads, int64_t kv_heads, int64_t ffn) {
    GgufWriter w;
    w.set("general.architecture", GgufValue::of_str("llama"));
    w.set("llama.embedding_length", GgufValue::of_uint(SL4J_GGUF_UINT32, uint64_t(dim)));
    w.set("llama.block_count", GgufValue::of_uint(SL4J_GGUF_UINT32, uint64_t(layers)));
    w.set("llama.attention.head_count", GgufValue::of_uint(SL4J_GGUF_UINT32, uint64_t(heads)));
    w.set("llama.attention.head_count_kv", GgufValue::of_uint(SL4J_GGUF_UINT32, uint64_t(kv_heads)));
    w.set("llama.feed_forward_length", GgufValue::of_uint(SL4J_GGUF_UINT32, uint64_t(ffn)));
    uint64_t seed = 1;
    auto add = [&](const std::string& name, int64_t in, int64_t out, float scale, bool ones) {
        std::vector<float> v(size_t(in * out));
        for (size_t i = 0; i < v.size(); ++i) v[i] = ones ? 1.f : uniform(seed, i, scale);
        ++seed;
        std::vector<int64_t> dims = out == 1 ? std::vector<int64_t>{in} : std::vector<int64_t>{in, out};
        w.add_tensor(name, SL4J_TYPE_F32, dims, v.data(), v.size() * sizeof(float));
    };
    const int64_t kv = dim / heads * kv_heads;
    const float s = 1.f / float(dim);
    add("token_embd.weight", dim, vocab, 1.f, false);
    for (int64_t l = 0; l < layers; ++l) {
        std::string p = "blk." + std::to_string(l) + ".";
        add(p + "attn_norm.weight", dim, 1, 0, true);
        add(p + "attn_q.weight", dim, dim, s * 4, false);
        add(p + "attn_k.weight", dim, kv, s * 4, false);
        add(p + "attn_v.weight", dim, kv, s * 4, false);
        add(p + "attn_output.weight", dim, dim, s * 4, false);
        add(p + "ffn_norm.weight", dim, 1, 0, true);
        add(p + "ffn_gate.weight", dim, ffn, s * 4, false);
        add(p + "ffn_up.weight", dim, ffn, s * 4, false);
        add(p + "ffn_down.weight", ffn, dim, s * 4, false);
    }
    add("output_norm.weight", dim, 1, 0, true);
    add("output.weight", dim, vocab, 0.5f, false);
    const std::string path = "/tmp/sl4j_memory_test_" + std::to_string(getpid()) + "_v" + std::to_string(vocab) + ".gguf";
    w.write(path);
    return path;
}

LoraConfig lora_config() {
    LoraConfig c;
    c.r = 4;
    c.alpha = 8;
    c.dropout = 0.f;
    c.targets = (1u << kLoraNumTargets) - 1;
    return c;
}

void randomize_b(LoraAdapter& lora) {
    for (LoraTensor& T : lora.tensors())
        if (T.name.back() == 'b')
            for (int64_t i = 0; i < T.size(); ++i) T.w[i] = uniform(7, uint64_t(i) + T.name.size() * 131, 0.05f);
}

struct Rows {
    std::vector<int32_t> tokens, targets;
};

// B·T random tokens; every third target ignored.
Rows random_rows(int64_t n, int64_t vocab, uint64_t seed) {
    Rows r;
    for (int64_t i = 0; i < n; ++i) {
        r.tokens.push_back(int32_t(mix64(seed + uint64_t(i)) % uint64_t(vocab)));
        r.targets.push_back(i % 3 == 2 ? kIgnoreIndex : int32_t(mix64(seed * 31 + uint64_t(i)) % uint64_t(vocab)));
    }
    return r;
}

// Every adapter tensor's gradient.
std::vector<std::vector<float>> grads(const LoraAdapter& lora) {
    std::vector<std::vector<float>> g;
    for (const LoraTensor& T : lora.tensors()) g.push_back(T.grad);
    return g;
}

// One LoRA step (mean CE backward) with the head in chunks of head_rows; returns losses and grads.
void ce_step(const LlamaModel& m, int64_t B, int64_t T, int64_t head_rows, const Rows& rows,
             std::vector<float>* losses, std::vector<std::vector<float>>* g, int64_t* logits_bytes) {
    LoraAdapter lora(m.hparams(), lora_config());
    randomize_b(lora);
    TrainConfig tc;
    tc.batch = B;
    tc.seq_len = T;
    tc.head_rows = head_rows;
    Trainer tr(m, &lora, tc);
    tr.forward(rows.tokens.data(), rows.targets.data(), nullptr);
    int64_t counted = 0;
    tr.mean_loss(&counted);
    std::vector<float> d(size_t(tr.rows()), 1.f / float(counted));
    tr.backward(d.data(), nullptr, 1.f);
    *losses = tr.row_losses();
    *g = grads(lora);
    *logits_bytes = tr.logits_bytes();
}

}  // namespace

// At vocab 128256 the head's logits buffer stays within kHeadChunkBytes (not B·T × vocab), and
// chunked losses and gradients equal those of a head run as one chunk bit for bit (rows of a
// product are independent; every chunk's logits are recomputed identically in backward).
TEST(head_chunks_bound_logits_at_128k_vocab) {
    const int64_t V = 128256, B = 2, T = 160;  // 320 rows: 164 MB of logits in one piece
    const std::string path = write_model(V, 32, 1, 4, 2, 64);
    auto m = LlamaModel::load(path);
    Rows rows = random_rows(B * T, V, 5);
    std::vector<float> l_chunk, l_one;
    std::vector<std::vector<float>> g_chunk, g_one;
    int64_t bytes_chunk = 0, bytes_one = 0;
    ce_step(*m, B, T, 0, rows, &l_chunk, &g_chunk, &bytes_chunk);
    CHECK(bytes_chunk <= kHeadChunkBytes);
    CHECK(bytes_chunk < B * T * V * int64_t(sizeof(float)) / 2);
    CHECK_EQ(head_chunk_rows(B * T, V), kHeadChunkBytes / (V * 4));
    ce_step(*m, B, T, B * T, rows, &l_one, &g_one, &bytes_one);
    CHECK_EQ(bytes_one, B * T * V * int64_t(sizeof(float)));
    CHECK(l_chunk == l_one);
    CHECK(g_chunk == g_one);
    bool nonzero = false;
    for (auto& g : g_chunk)
        for (float x : g) nonzero |= x != 0.f;
    CHECK(nonzero);
    std::remove(path.c_str());
}

// Chunks of at most 11 rows over 29 rows on the fixture model (three chunks of 9-10 rows, ignored
// rows inside them) equal one chunk.
TEST(head_chunks_of_eleven_rows_equal_one_chunk) {
    auto m = LlamaModel::load(kModel);
    const int64_t B = 1, T = 29;
    Rows rows = random_rows(B * T, m->hparams().n_vocab, 9);
    std::vector<float> l5, l1;
    std::vector<std::vector<float>> g5, g1;
    int64_t b5 = 0, b1 = 0;
    ce_step(*m, B, T, 11, rows, &l5, &g5, &b5);
    ce_step(*m, B, T, 0, rows, &l1, &g1, &b1);
    CHECK_EQ(b5, 11 * m->hparams().n_vocab * int64_t(sizeof(float)));
    CHECK(l5 == l1);
    CHECK(g5 == g1);
}

// A no-grad forward holds x, the scratch row block, one layer's activations, the hidden states,
// the losses, rope tables and the logits chunk, and nothing per layer; its results equal a keeping
// forward's bit for bit; the keeping forward then adds at least the other layers' activations.
// The same through the counting allocator (every operator new of the process): once warm, a
// no-grad forward allocates less than a quarter of one layer's activations at its peak, a keeping
// forward at least every layer's input and the other five layers' activations.
TEST(no_grad_forward_allocates_no_activations) {
    const int64_t V = 1000, dim = 64, layers = 6, ffn = 96, B = 2, T = 32, N = B * T;
    const std::string path = write_model(V, dim, layers, 4, 2, ffn);
    auto m = LlamaModel::load(path);
    const LlamaHparams& h = m->hparams();
    LoraAdapter lora(h, lora_config());
    randomize_b(lora);
    TrainConfig tc;
    tc.batch = B;
    tc.seq_len = T;
    Trainer tr(*m, &lora, tc);
    tr.set_training(false);
    const int64_t f = sizeof(float), kv = h.kv_dim(), r = lora_config().r;
    // one layer by hand: xn1, att, x_mid, xn2, q (dim); k, v (kv); gate, up, hact (ffn); inv1, inv2; u (r) × 7
    const int64_t layer = N * (5 * dim + 2 * kv + 3 * ffn + 2 + kLoraNumTargets * r) * f;
    // outputs and one-layer scratch: x, tmp, hidden (dim), inv_f, losses, rope (n_rot), logits chunk,
    // and the int rows (tokens, seq, targets: 4 bytes; pos, first: 8 bytes)
    const int64_t rest = N * (3 * dim + 2 + h.n_rot) * f + tr.logits_bytes() + N * (4 + 4 + 4 + 8 + 8);
    const int64_t at_init = tr.buffer_bytes();
    CHECK_EQ(at_init, layer + rest);
    const TrainerBytes plan = trainer_bytes(h, B, T, false, r, lora_config().targets);
    CHECK_EQ(plan.layer, layer);
    CHECK_EQ(plan.no_grad(), at_init);
    Rows rows = random_rows(N, V, 3);
    tr.forward(rows.tokens.data(), rows.targets.data(), nullptr, false);
    CHECK_EQ(tr.buffer_bytes(), at_init);
    const std::vector<float> loss_infer = tr.row_losses(), hidden_infer = tr.hidden();
    EXPECT_THROWS(tr.backward(nullptr, hidden_infer.data(), 1.f));  // nothing kept: refused
    // Warm now: thread pool, backend. The CPU kernels' per-thread scratch grows on whichever worker
    // first runs a chunk of a given size, so a second pass may still grow one worker's buffer; the
    // scratch only grows, so a warm pass that leaves nothing comes within a few passes. The peak is
    // that pass's.
    int64_t no_grad_peak = 0, no_grad_left = 1;
    int passes = 0;
    while (no_grad_left > 0 && passes < 8) {
        const int64_t before = reset_peak();
        tr.forward(rows.tokens.data(), rows.targets.data(), nullptr, false);
        no_grad_peak = g_peak.load() - before, no_grad_left = g_live.load() - before;
        ++passes;
        CHECK(tr.row_losses() == loss_infer);
    }
    std::fprintf(stderr, "    warm no-grad passes until nothing was left allocated: %d\n", passes);
    const int64_t before_keep = reset_peak();
    tr.forward(rows.tokens.data(), rows.targets.data(), nullptr, true);
    const int64_t keep_peak = g_peak.load() - before_keep;
    std::fprintf(stderr, "    allocated at the peak: no-grad forward %lld bytes, keeping forward %lld (one layer %lld)\n",
                 (long long)no_grad_peak, (long long)keep_peak, (long long)layer);
    CHECK(no_grad_peak < layer / 4);
    CHECK(no_grad_left <= 0);
    CHECK(keep_peak >= (layers - 1) * layer + layers * N * dim * f);
    CHECK(tr.buffer_bytes() >= at_init + (layers - 1) * layer + layers * N * dim * f);
    CHECK_EQ(tr.buffer_bytes(), plan.grad());
    CHECK(tr.row_losses() == loss_infer);
    CHECK(tr.hidden() == hidden_infer);
    // PPO's extras, as the plan counts them: the training trainer's per-row entropy (N floats) and
    // the full KL estimator's buffers on the no-grad trainer (both passes' hidden states, a second
    // logits chunk and its per-row KL)
    int64_t buffers = tr.buffer_bytes();
    tr.set_entropy(true);
    CHECK_EQ(tr.buffer_bytes(), buffers + N * f);
    buffers = tr.buffer_bytes();
    std::vector<float> kl(static_cast<size_t>(N));
    tr.infer_kl(rows.tokens.data(), rows.targets.data(), nullptr, kl.data());
    const int64_t kl_bytes = tr.buffer_bytes() - buffers;
    CHECK_EQ(kl_bytes, 2 * N * dim * f + tr.logits_bytes() + tr.head_rows() * f);
    sl4j_model_info info{};
    info.n_vocab = V;
    info.dim = dim;
    info.n_layers = layers;
    info.n_heads = h.n_heads;
    info.n_kv_heads = h.n_kv_heads;
    info.head_dim = h.head_dim;
    info.ffn = ffn;
    info.n_rot = h.n_rot;
    sl4j_memory_plan_params pp = sl4j_memory_plan_default_params();
    pp.mode = SL4J_PLAN_PPO;
    pp.batch = 1;
    pp.seq_len = 8;
    pp.infer_batch = B;
    pp.infer_seq_len = T;
    sl4j_memory_plan_result without{}, with{};
    CHECK_EQ(sl4j_memory_plan(&info, &pp, &without), 0);
    pp.full_kl = 1;
    CHECK_EQ(sl4j_memory_plan(&info, &pp, &with), 0);
    CHECK_EQ(with.total - without.total, kl_bytes);
    std::remove(path.c_str());
}

// Full-parameter training: FullParams holds full_floats() values (each with gradient and two
// moments), and a full trainer's buffers after a keeping forward are the plan's (no LoRA u).
TEST(full_parameter_plan_matches_full_params_and_trainer) {
    const int64_t V = 300, dim = 32, layers = 3, ffn = 80, B = 2, T = 16;
    const std::string path = write_model(V, dim, layers, 4, 2, ffn);
    auto m = LlamaModel::load(path);
    const LlamaHparams& h = m->hparams();
    CHECK(!m->weights().tied_output);
    FullParams full(*m);
    int64_t floats = 0;
    for (const ParamTensor& t : full.tensors()) {
        floats += t.size();
        CHECK_EQ(int64_t(t.grad.size() + t.m.size() + t.v.size()), 3 * t.size());
    }
    // by hand: 2 · 300 · 32 (embeddings, output) + 3 · (2·32 + 2·32·32 + 2·16·32 + 3·80·32) + 32
    CHECK_EQ(floats, int64_t(2 * 300 * 32 + 3 * (64 + 2048 + 1024 + 7680) + 32));
    CHECK_EQ(full_floats(h, false), floats);
    CHECK_EQ(full_floats(h, true), floats - V * dim);
    for (bool ckpt : {false, true}) {
        TrainConfig tc;
        tc.batch = B;
        tc.seq_len = T;
        tc.checkpointing = ckpt;
        Trainer tr(*m, &full, tc);
        Rows rows = random_rows(B * T, V, 4);
        tr.forward(rows.tokens.data(), rows.targets.data(), nullptr, true);
        std::vector<float> d(size_t(tr.rows()), 1.f / float(tr.rows()));
        tr.backward(d.data(), nullptr, 1.f);
        CHECK_EQ(tr.buffer_bytes(), trainer_bytes(h, B, T, ckpt, 0, 0).grad());
    }
    std::remove(path.c_str());
}

// RssFile of /proc/self/status in bytes (file-backed resident pages: mapped model weights).
int64_t rss_file_bytes() {
    FILE* f = std::fopen("/proc/self/status", "r");
    if (f == nullptr) return -1;
    char line[256];
    int64_t kb = -1;
    while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "RssFile: %lld kB", reinterpret_cast<long long*>(&kb)) == 1) break;
    std::fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

// The load-time finite check reads every weight and leaves them out of the resident set: after
// it the mapped file adds less than an eighth of its size to RssFile, while summing the same
// mapping (what the check did before releasing) makes more than half of it resident.
TEST(finite_check_releases_the_pages_it_reads) {
    const std::string path = write_model(16000, 512, 2, 8, 8, 1024);  // 2 × 32 MiB of embeddings and output
    const int64_t file = int64_t(std::ifstream(path, std::ios::binary | std::ios::ate).tellg());
    auto g = GgufFile::open(path);
    if (rss_file_bytes() < 0) {
        std::fprintf(stderr, "    no RssFile in /proc/self/status: not measured\n");
        std::remove(path.c_str());
        return;
    }
    int64_t element = 0;
    float value = 0;
    const int64_t before = rss_file_bytes();
    CHECK_EQ(find_nonfinite(*g, &element, &value), int64_t(-1));
    const int64_t after_check = rss_file_bytes() - before;
    double sum = 0;
    for (int64_t i = 0; i < int64_t(g->tensors().size()); ++i) {
        const uint8_t* d = g->tensor_data(i);
        for (uint64_t b = 0; b < g->tensors()[size_t(i)].n_bytes; b += 4096) sum += d[b];
    }
    const int64_t after_sum = rss_file_bytes() - before;
    std::fprintf(stderr, "    RssFile growth over a %lld-byte file: after the check %lld, after a plain read %lld (%g)\n",
                 (long long)file, (long long)after_check, (long long)after_sum, sum);
    CHECK(after_check < file / 8);
    CHECK(after_sum > file / 2);
    std::remove(path.c_str());
}

// An F16 KV cache holds half the bytes of an F32 one and its logits stay within 2e-4 of the
// largest |logit| of the F32 cache's over a 4096-position context (prefill in 512-token batches,
// then single-token decode steps), and the greedy tokens agree.
TEST(f16_kv_cache_logits_match_f32_over_4096_positions) {
    const int64_t V = 512, ctx = 4096;
    const std::string path = write_model(V, 64, 2, 4, 2, 96);
    auto m = LlamaModel::load(path);
    LlamaSession s16(*m, 1, ctx, SL4J_TYPE_F16), s32(*m, 1, ctx, SL4J_TYPE_F32);
    CHECK_EQ(s16.kv_bytes() * 2, s32.kv_bytes());
    CHECK_EQ(s32.kv_bytes(), int64_t(2 * 2 * ctx * m->hparams().kv_dim() * 4));
    std::vector<int32_t> tokens(static_cast<size_t>(ctx));
    for (int64_t i = 0; i < ctx; ++i) tokens[size_t(i)] = int32_t(mix64(uint64_t(i) + 11) % uint64_t(V));
    double worst = 0, scale = 0;
    int64_t agree = 0, compared = 0;
    auto compare = [&]() {
        const std::vector<float>&a = s16.logits(), &b = s32.logits();
        CHECK_EQ(a.size(), b.size());
        for (int64_t r = 0; r * V < int64_t(b.size()); ++r) {
            int32_t ia = 0, ib = 0;
            for (int64_t j = 0; j < V; ++j) {
                worst = std::max(worst, std::fabs(double(a[r * V + j]) - b[r * V + j]));
                scale = std::max(scale, std::fabs(double(b[r * V + j])));
                if (a[r * V + j] > a[r * V + ia]) ia = int32_t(j);
                if (b[r * V + j] > b[r * V + ib]) ib = int32_t(j);
            }
            agree += ia == ib;
            ++compared;
        }
    };
    const int64_t prefill = ctx - 8;
    for (int64_t p = 0; p < prefill; p += 512) {
        const int64_t n = std::min<int64_t>(512, prefill - p);
        s16.decode(tokens.data() + p, nullptr, nullptr, nullptr, n, true);
        s32.decode(tokens.data() + p, nullptr, nullptr, nullptr, n, true);
        compare();
    }
    for (int64_t p = prefill; p < ctx; ++p) {
        s16.decode(tokens.data() + p, nullptr, nullptr, nullptr, 1, true);
        s32.decode(tokens.data() + p, nullptr, nullptr, nullptr, 1, true);
        compare();
    }
    std::fprintf(stderr, "    F16 vs F32 KV cache: max |Δlogit| %.3g of max |logit| %.3g; greedy agrees %lld/%lld\n",
                 worst, scale, (long long)agree, (long long)compared);
    CHECK_EQ(s16.length(0), ctx);
    CHECK(scale > 0);
    CHECK(worst > 0);  // the F16 path really ran
    CHECK(worst <= 2e-4 * scale);
    CHECK(agree >= compared * 99 / 100);
    std::remove(path.c_str());
}

namespace {
// The LLaMA-2-7B shape as sl4j_model_get_info reports it.
sl4j_model_info llama2_7b_info() {
    sl4j_model_info info{};
    info.n_vocab = 32000;
    info.dim = 4096;
    info.n_layers = 32;
    info.n_heads = 32;
    info.n_kv_heads = 32;
    info.head_dim = 128;
    info.ffn = 11008;
    info.n_rot = 128;
    return info;
}
}  // namespace

// The memory plan of LLaMA-2-7B shapes against figures computed by hand.
TEST(memory_plan_of_7b_shapes_matches_hand_arithmetic) {
    sl4j_model_info info = llama2_7b_info();
    // sft: 1 × 512, LoRA r16 on q and v, with checkpointing
    sl4j_memory_plan_params p = sl4j_memory_plan_default_params();
    p.mode = SL4J_PLAN_SFT;
    p.weight_bytes = 3825065984;
    p.batch = 1;
    p.seq_len = 512;
    p.checkpointing = 1;
    sl4j_memory_plan_result m{};
    CHECK_EQ(sl4j_memory_plan(&info, &p, &m), 0);
    // LoRA: 32 layers × (q: 16·(4096+4096) + v: 16·(4096+4096)) = 8,388,608 floats
    CHECK_EQ(m.lora, int64_t(8388608) * 4);
    CHECK_EQ(m.gradients, int64_t(8388608) * 4);
    CHECK_EQ(m.optimizer, int64_t(8388608) * 8);
    // one layer, 512 rows: 4·512·(5·4096 + 2·4096 + 3·11008 + 2 + 2·16) = 126,423,040
    const int64_t layer = 126423040;
    // kept with checkpointing: 32 inputs + one recompute copy of 512 × 4096 floats
    CHECK_EQ(m.activations_checkpointed, int64_t(33) * 512 * 4096 * 4);
    CHECK_EQ(m.activations, m.activations_checkpointed);
    // without: 32 inputs + 31 more layers
    CHECK_EQ(m.activations_full, int64_t(32) * 512 * 4096 * 4 + 31 * layer);
    // logits: 64 MiB / (32000 · 4) = 524 rows ≥ 512: all 512 rows
    CHECK_EQ(m.logits_chunk, int64_t(512) * 32000 * 4);
    // base: ints 28·512 (tokens, seq, targets 4 bytes; pos, first 8), rope 128, x/tmp/hidden, 2 → 4·512·(128 + 3·4096 + 2) + 14336 + layer; backward 4·512·(1 + 4·4096 + 2·4096 + 3·11008)
    CHECK_EQ(m.scratch, int64_t(14336) + int64_t(4) * 512 * (128 + 3 * 4096 + 2) + layer +
                            int64_t(4) * 512 * (1 + 4 * 4096 + 2 * 4096 + 3 * 11008));
    CHECK_EQ(m.kv_cache, 0);
    CHECK_EQ(m.total, m.weights + m.activations + m.lora + m.gradients + m.optimizer + m.logits_chunk + m.scratch);

    // generate: 8 sequences of 4096 positions, F16 cache: 2 · 32 · 8 · 4096 · 4096 · 2 bytes = 16 GiB
    sl4j_memory_plan_params g = sl4j_memory_plan_default_params();
    g.weight_bytes = 3825065984;
    g.kv_seqs = 8;
    g.kv_ctx = 4096;
    g.prefill_rows = 8 * 64;
    CHECK_EQ(sl4j_memory_plan(&info, &g, &m), 0);
    CHECK_EQ(m.kv_cache, int64_t(16) << 30);
    g.kv_type = SL4J_TYPE_F32;
    CHECK_EQ(sl4j_memory_plan(&info, &g, &m), 0);
    CHECK_EQ(m.kv_cache, int64_t(32) << 30);
    // 512 prefill rows: 4·(5·4096 + 2·4096 + 2·11008 + 128) + 20 each; 8 output rows of 2·4096 + 32000 floats
    CHECK_EQ(m.scratch, int64_t(512) * (4 * (5 * 4096 + 2 * 4096 + 2 * 11008 + 128) + 20) + int64_t(8) * 4 * (2 * 4096 + 32000));
    CHECK_EQ(m.lora + m.gradients + m.optimizer + m.activations, 0);

    // Llama-3-8B head: vocab 128256 at 4 × 128 rows: 64 MiB / (128256 · 4) = 130 rows per chunk
    info.n_vocab = 128256;
    p.batch = 4;
    p.seq_len = 128;
    CHECK_EQ(sl4j_memory_plan(&info, &p, &m), 0);
    CHECK_EQ(m.logits_chunk, int64_t(130) * 128256 * 4);
    p.mode = 9;
    CHECK(sl4j_memory_plan(&info, &p, &m) != 0);
}

// Full-parameter plans (pretrain, sft --full) of the LLaMA-2-7B and Llama-3-8B shapes by hand:
// their parameter counts are the published 6,738,415,616 and 8,030,261,248.
TEST(memory_plan_full_parameter_7b_8b_matches_hand_arithmetic) {
    sl4j_model_info info = llama2_7b_info();
    sl4j_memory_plan_params p = sl4j_memory_plan_default_params();
    p.mode = SL4J_PLAN_FULL;
    p.weight_bytes = 13476839424;  // the F16 file
    p.batch = 1;
    p.seq_len = 512;
    p.checkpointing = 1;
    p.lora_r = 0;  // unused
    sl4j_memory_plan_result m{};
    CHECK_EQ(sl4j_memory_plan(&info, &p, &m), 0);
    // 2·32000·4096 + 32·(2·4096 + 2·4096² + 2·4096² + 3·11008·4096) + 4096
    const int64_t P7 = int64_t(2) * 32000 * 4096 + int64_t(32) * (8192 + 4 * 16777216LL + 3 * 45088768LL) + 4096;
    CHECK_EQ(P7, int64_t(6738415616));
    CHECK_EQ(m.lora, P7 * 4);          // F32 values
    CHECK_EQ(m.gradients, P7 * 4);     // F32 gradients
    CHECK_EQ(m.optimizer, P7 * 8);     // AdamW m and v
    CHECK_EQ(m.weights, int64_t(13476839424));
    // one layer, 512 rows, no LoRA u: 4·512·(5·4096 + 2·4096 + 3·11008 + 2) = 126,357,504
    const int64_t layer = 126357504;
    CHECK_EQ(m.activations, int64_t(33) * 512 * 4096 * 4);
    CHECK_EQ(m.activations_full, int64_t(32) * 512 * 4096 * 4 + 31 * layer);
    CHECK_EQ(m.logits_chunk, int64_t(512) * 32000 * 4);
    CHECK_EQ(m.scratch, int64_t(14336) + int64_t(4) * 512 * (128 + 3 * 4096 + 2) + layer +
                            int64_t(4) * 512 * (1 + 4 * 4096 + 2 * 4096 + 3 * 11008));
    CHECK_EQ(m.total, m.weights + m.activations + m.lora + m.gradients + m.optimizer + m.logits_chunk + m.scratch);
    // 16 bytes per parameter: 100.4 GiB of training state for a 7B model
    CHECK_EQ(m.lora + m.gradients + m.optimizer, P7 * 16);

    // Llama-3-8B: vocab 128256, 8 KV heads (kv 1024), ffn 14336; untied, then tied
    info.n_vocab = 128256;
    info.n_kv_heads = 8;
    info.ffn = 14336;
    CHECK_EQ(sl4j_memory_plan(&info, &p, &m), 0);
    const int64_t P8 = int64_t(2) * 128256 * 4096 + int64_t(32) * (8192 + 2 * 16777216LL + 2 * 4194304LL + 3 * 58720256LL) + 4096;
    CHECK_EQ(P8, int64_t(8030261248));
    CHECK_EQ(m.lora, P8 * 4);
    CHECK_EQ(m.optimizer, P8 * 8);
    info.tied_output = 1;
    CHECK_EQ(sl4j_memory_plan(&info, &p, &m), 0);
    CHECK_EQ(m.lora, (P8 - int64_t(128256) * 4096) * 4);
    // a LoRA plan ignores tied_output
    p.mode = SL4J_PLAN_SFT;
    p.lora_r = 16;
    CHECK_EQ(sl4j_memory_plan(&info, &p, &m), 0);
    CHECK_EQ(m.lora, int64_t(32) * 16 * (4096 + 4096 + 4096 + 1024) * 4);
}

// The 7B targets on a 24 GB card, planned with device = CUDA (the shapes gpu_bench prints): LoRA
// r16 SFT 1024 × 4 with checkpointing, and a PPO step of 8 × (256 prompt + 128 response) with the
// policy, reference (adapter off), value and reward passes on one trunk. The device/host split
// adds up to the CPU plan plus the mapped file (held on both sides) and the CUDA reserve.
TEST(memory_plan_device_split_7b_q4k_fits_24gb) {
    sl4j_model_info info = llama2_7b_info();
    // Q4_K: 144 bytes per 256 weights; rows of 4096 → 2304 bytes, rows of 11008 → 43 blocks, 6192 bytes.
    // token_embd and output (32000 rows each), F32 norms (2·32 + 1 of 4096), per layer q, k, v, o,
    // gate, up (rows of 4096) and down (4096 rows of 11008).
    const int64_t weights = int64_t(2) * 2304 * 32000 + int64_t(4) * 4096 * 65 +
                            int64_t(32) * (int64_t(2304) * (4 * 4096 + 2 * 11008) + int64_t(6192) * 4096);
    CHECK_EQ(weights, int64_t(3791273984));
    sl4j_memory_plan_params sft = bench::sft_7b_target(), ppo = bench::ppo_7b_target();
    CHECK_EQ(sft.device, SL4J_DEVICE_CPU);
    for (sl4j_memory_plan_params* p : {&sft, &ppo}) {
        p->weight_bytes = weights;
        p->runtime_bytes = int64_t(300) << 20;  // a JVM's baseline
    }
    for (sl4j_memory_plan_params* p : {&sft, &ppo}) {
        sl4j_memory_plan_result cpu{}, cuda{};
        CHECK_EQ(sl4j_memory_plan(&info, p, &cpu), 0);
        CHECK_EQ(cpu.device, 0);
        CHECK_EQ(cpu.device_reserve, 0);
        p->device = SL4J_DEVICE_CUDA;
        CHECK_EQ(sl4j_memory_plan(&info, p, &cuda), 0);
        // the parts are where they are: only total and device move
        CHECK_EQ(cuda.weights, cpu.weights);
        CHECK_EQ(cuda.scratch, cpu.scratch);
        CHECK_EQ(cuda.device_reserve, int64_t(SL4J_PLAN_CUDA_RESERVE_BYTES));
        CHECK_EQ(cuda.device + cuda.total, cpu.total + cpu.weights + cuda.device_reserve);
        // the host keeps the runtime, the mapped file and the caller's copies (PPO: 2·8·512 + 2·16·512
        // rows of 4096 floats, 8·512 entropies; SFT: none)
        const int64_t caller = p == &ppo ? int64_t(4) * (2 * 8 * 512 * 4096 + 2 * 16 * 512 * 4096 + 8 * 512) : 0;
        CHECK_EQ(cuda.total, cuda.runtime + cuda.weights + caller);
        CHECK_EQ(cuda.device, cuda.weights + cuda.kv_cache + cuda.activations + cuda.lora + cuda.gradients +
                                  cuda.optimizer + cuda.logits_chunk + cuda.scratch - caller + cuda.device_reserve);
        std::printf("  7B Q4_K %s on CUDA: device %.3f GB, host %.3f GB\n", p == &sft ? "sft 4x1024 ckpt" : "ppo 8x(256+128)",
                    double(cuda.device) / 1e9, double(cuda.total) / 1e9);
        CHECK(cuda.device < int64_t(24000000000));
    }
    ppo.device = 7;
    sl4j_memory_plan_result m{};
    CHECK(sl4j_memory_plan(&info, &ppo, &m) != 0);
}
