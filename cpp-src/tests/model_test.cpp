// Model-level checks of the forward pass that need no Java: greedy decoding of the real
// stories260K model against the reference implementation's ids, and KV-cache consistency.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../bench/random_weights.h"
#include "core/types.h"
#include "cpu/repack.h"
#include "model/llama_model.h"
#include "model/session.h"
#include "testing.h"

namespace {

std::string stories_path() {
    std::string dir = sl4j_test::shared_dir();
    if (dir.empty()) sl4j_test::missing_shared("../shared is absent: stories260K model not available");
    return dir + "/models/stories260K/stories260K.gguf";
}

// The integers of a JSON array named `key` in a small fixture file.
std::vector<int32_t> json_int_array(const std::string& path, const std::string& key) {
    std::ifstream in(path);
    if (!in) sl4j_test::skip("fixture " + path + " is absent");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    size_t at = text.find("\"" + key + "\"");
    size_t open = text.find('[', at), close = text.find(']', open);
    std::vector<int32_t> out;
    std::stringstream body(text.substr(open + 1, close - open - 1));
    std::string item;
    while (std::getline(body, item, ',')) out.push_back(std::stoi(item));
    return out;
}

int32_t argmax(const float* v, int64_t n) {
    int32_t best = 0;
    for (int64_t i = 1; i < n; ++i)
        if (v[i] > v[best]) best = static_cast<int32_t>(i);
    return best;
}

}  // namespace

TEST(stories260K_greedy_matches_reference_ids) {
    auto model = sl4j::LlamaModel::load(stories_path());
    auto expected = json_int_array("java/src/test/resources/fixtures/stories260K_greedy.json", "greedy_ids");
    sl4j::LlamaSession s(*model, 1, 512);
    int32_t tok = 1;  // BOS
    const int64_t V = model->hparams().n_vocab;
    for (size_t i = 0; i < expected.size(); ++i) {
        s.decode(&tok, nullptr, nullptr, nullptr, 1, true);
        tok = argmax(s.logits().data(), V);
        if (tok != expected[i]) {
            CHECK_EQ(tok, expected[i]);
            std::fprintf(stderr, "    first mismatch at generated token %zu\n", i);
            return;
        }
    }
}

// Decoding a prompt token by token through the cache gives the logits of one full forward,
// and two sequences decoded side by side give the same as each alone.
TEST(kv_cache_decode_equals_full_forward_and_batching_is_independent) {
    auto model = sl4j::LlamaModel::load(stories_path());
    const int64_t V = model->hparams().n_vocab;
    std::vector<int32_t> a = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376};
    std::vector<int32_t> b = {1, 300, 301, 302};
    sl4j::LlamaSession full(*model, 1, 64);
    full.decode(a.data(), nullptr, nullptr, nullptr, (int64_t)a.size(), true);
    std::vector<float> ref = full.logits();

    sl4j::LlamaSession step(*model, 2, 64);
    // interleave: sequence 1 gets b's tokens in the same batches as a's first tokens
    for (size_t i = 0; i < a.size(); ++i) {
        std::vector<int32_t> toks = {a[i]}, seqs = {0};
        if (i < b.size()) {
            toks.push_back(b[i]);
            seqs.push_back(1);
        }
        step.decode(toks.data(), seqs.data(), nullptr, nullptr, (int64_t)toks.size(), true);
        for (int64_t j = 0; j < V; ++j) CHECK_NEAR(step.logits()[j], ref[i * V + j], 1e-4);
    }
    sl4j::LlamaSession alone(*model, 1, 64);
    alone.decode(b.data(), nullptr, nullptr, nullptr, (int64_t)b.size(), true);
    sl4j::LlamaSession both(*model, 2, 64);
    std::vector<int32_t> toks = {a[0], a[1], b[0], b[1], b[2], b[3]}, seqs = {0, 0, 1, 1, 1, 1};
    both.decode(toks.data(), seqs.data(), nullptr, nullptr, 6, true);
    for (int64_t r = 0; r < 4; ++r)
        for (int64_t j = 0; j < V; ++j) CHECK_NEAR(both.logits()[(2 + r) * V + j], alone.logits()[r * V + j], 1e-4);
    CHECK_EQ(both.length(0), 2);
    CHECK_EQ(both.length(1), 4);
}

TEST(decode_rejects_bad_tokens_and_full_context_without_changing_the_cache) {
    auto model = sl4j::LlamaModel::load(stories_path());
    sl4j::LlamaSession s(*model, 1, 4);
    int32_t bad[2] = {1, 100000};
    EXPECT_THROWS(s.decode(bad, nullptr, nullptr, nullptr, 2, true));
    CHECK_EQ(s.length(0), 0);
    int32_t ok[4] = {1, 2, 3, 4};
    s.decode(ok, nullptr, nullptr, nullptr, 4, false);
    CHECK_EQ(s.length(0), 4);
    EXPECT_THROWS(s.decode(ok, nullptr, nullptr, nullptr, 1, true));
    CHECK_EQ(s.length(0), 4);
}

// The fast precision on a Q4_0 model whose matrices prepare_fast repacked (cpu/repack.h) gives the
// same logits, bit for bit, as on the stored rows (SL4J_REPACK=0), in prefill and in decode; the
// exact precision of the repacked model still reads the mapped original, its pages released and
// read back, and gives its own logits unchanged. Untied output of 300 rows: a ragged last group.
TEST(fast_session_on_repacked_q4_0_weights_equals_the_stored_rows) {
    using namespace sl4j;
    for (bool tied : {false, true}) {
        bench::RandomLlama spec = bench::small_gqa(SL4J_TYPE_Q4_0);
        spec.tied = tied;
        spec.seed = 29;
        const std::string path = "/tmp/sl4j_model_test_repack_" + std::to_string(tied) + ".gguf";
        bench::write_random_llama(path, spec);
        setenv("SL4J_REPACK", "0", 1);
        auto plain = LlamaModel::load(path);
        LlamaSession sp(*plain, 1, 64, SL4J_TYPE_F32);
        sp.set_precision(cpu::Precision::kFast);
        unsetenv("SL4J_REPACK");
        CHECK_EQ(plain->repacked_bytes(), (int64_t)0);
        auto packed = LlamaModel::load(path);
        LlamaSession sr(*packed, 1, 64, SL4J_TYPE_F32);
        sr.set_precision(cpu::Precision::kFast);
        const LlamaHparams& h = packed->hparams();
        int64_t want = 0;
        for (const LayerWeights& L : packed->weights().layers)
            for (const Weight* W : {&L.wq, &L.wk, &L.wv, &L.wo, &L.gate, &L.up, &L.down}) {
                CHECK(W->packed != nullptr);
                want += cpu::repack_bytes(W->type, W->out, W->in);
            }
        want += cpu::repack_bytes(SL4J_TYPE_Q4_0, h.n_vocab, h.dim);
        CHECK_EQ(packed->repacked_bytes(), want);
        CHECK(packed->weights().tok_embd.packed == nullptr && packed->weights().output.packed != nullptr);
        const std::vector<int32_t> prompt = {1, 17, 250, 3, 99, 42, 7, 8, 299, 120, 5, 6, 64};
        sp.decode(prompt.data(), nullptr, nullptr, nullptr, (int64_t)prompt.size(), true);
        sr.decode(prompt.data(), nullptr, nullptr, nullptr, (int64_t)prompt.size(), true);
        CHECK(sp.logits().size() == sr.logits().size());
        CHECK(std::memcmp(sp.logits().data(), sr.logits().data(), sp.logits().size() * 4) == 0);
        for (int32_t t : {11, 230, 77}) {
            sp.decode(&t, nullptr, nullptr, nullptr, 1, true);
            sr.decode(&t, nullptr, nullptr, nullptr, 1, true);
            CHECK(std::memcmp(sp.logits().data(), sr.logits().data(), sp.logits().size() * 4) == 0);
        }
        // the exact precision on both models: the same bits, the repacked model's from the file
        LlamaSession ep(*plain, 1, 64, SL4J_TYPE_F32), er(*packed, 1, 64, SL4J_TYPE_F32);
        ep.decode(prompt.data(), nullptr, nullptr, nullptr, (int64_t)prompt.size(), true);
        er.decode(prompt.data(), nullptr, nullptr, nullptr, (int64_t)prompt.size(), true);
        CHECK(std::memcmp(ep.logits().data(), er.logits().data(), ep.logits().size() * 4) == 0);
        std::remove(path.c_str());
    }
}
