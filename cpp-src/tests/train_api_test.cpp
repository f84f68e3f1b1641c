// The training C API: adapter tensor names/dims in llama.cpp's LoRA GGUF form, get/set, the two
// loss modes giving the same gradients, accumulation, clipping, AdamW on caller arrays, the
// session with an attached adapter, and errors as status codes.
#include <cmath>
#include <string>
#include <vector>

#include "stackllama4j.h"
#include "testing.h"

namespace {

const char* kModel = "java/src/test/resources/fixtures/models/gqa_f32.gguf";

std::vector<float> all_grads(sl4j_lora* lora) {
    std::vector<float> out;
    for (int64_t i = 0; i < sl4j_lora_n_tensors(lora); ++i) {
        std::vector<float> g(size_t(sl4j_lora_tensor_n_elements(lora, i)));
        CHECK_EQ(sl4j_lora_get(lora, i, SL4J_LORA_GRAD, g.data(), int64_t(g.size())), 0);
        out.insert(out.end(), g.begin(), g.end());
    }
    return out;
}

}  // namespace

TEST(train_api_end_to_end) {
    sl4j_model* model = nullptr;
    CHECK_EQ(sl4j_model_load(kModel, nullptr, &model), 0);
    if (!model) return;
    sl4j_model_info info;
    sl4j_model_get_info(model, &info);
    sl4j_lora_params lp = sl4j_lora_default_params();
    CHECK_EQ(lp.r, 16);
    CHECK_EQ(lp.targets, uint32_t(SL4J_LORA_Q | SL4J_LORA_V));
    lp.r = 4;
    lp.dropout = 0.f;
    lp.targets = SL4J_LORA_Q | SL4J_LORA_V | SL4J_LORA_DOWN;
    sl4j_lora* lora = nullptr;
    CHECK_EQ(sl4j_lora_init(model, &lp, &lora), 0);
    CHECK_EQ(sl4j_lora_n_tensors(lora), info.n_layers * 3 * 2);
    CHECK(std::string(sl4j_lora_tensor_name(lora, 0)) == "blk.0.attn_q.weight.lora_a");
    CHECK(std::string(sl4j_lora_tensor_name(lora, 3)) == "blk.0.attn_v.weight.lora_b");
    int64_t dims[2];
    sl4j_lora_tensor_dims(lora, 0, dims);  // A of q: {in, r}
    CHECK_EQ(dims[0], info.dim);
    CHECK_EQ(dims[1], int64_t(4));
    sl4j_lora_tensor_dims(lora, 3, dims);  // B of v: {r, out = kv_dim}
    CHECK_EQ(dims[0], int64_t(4));
    CHECK_EQ(dims[1], info.n_kv_heads * info.head_dim);
    CHECK_EQ(sl4j_lora_find_tensor(lora, "blk.1.ffn_down.weight.lora_b"), sl4j_lora_n_tensors(lora) - 1);
    // B starts at zero; give every B a value so every gradient is non-zero.
    for (int64_t i = 1; i < sl4j_lora_n_tensors(lora); i += 2) {
        std::vector<float> b(size_t(sl4j_lora_tensor_n_elements(lora, i)));
        for (size_t j = 0; j < b.size(); ++j) b[j] = 0.03f * float(std::cos(double(j) + double(i)));
        CHECK_EQ(sl4j_lora_set(lora, i, SL4J_LORA_VALUE, b.data(), int64_t(b.size())), 0);
    }

    sl4j_trainer_params tp = sl4j_trainer_default_params();
    tp.batch = 2;
    tp.seq_len = 6;
    sl4j_trainer* tr = nullptr;
    CHECK_EQ(sl4j_trainer_init(model, lora, &tp, &tr), 0);
    const int64_t N = 12;
    std::vector<int32_t> tokens = {1, 5, 9, 33, 2, 7, 1, 200, 100, 4, 4, 8}, targets(N);
    for (int64_t r = 0; r < N; ++r) targets[r] = r % 6 == 5 ? -100 : tokens[r + 1];
    std::vector<int64_t> doc(N, 0);
    doc[10] = doc[11] = 3;
    double loss = 0;
    int64_t counted = 0;
    CHECK_EQ(sl4j_trainer_step_ce(tr, tokens.data(), targets.data(), doc.data(), 1.f, &loss, &counted), 0);
    CHECK_EQ(counted, int64_t(10));
    CHECK(loss > 0);
    std::vector<float> g_native = all_grads(lora);

    // Java-side loss: the same mean CE pushed in as d loss / d logprobs.
    CHECK_EQ(sl4j_lora_zero_grad(lora), 0);
    std::vector<float> logprobs(N), hidden(N * info.dim), d(N);
    CHECK_EQ(sl4j_trainer_forward(tr, tokens.data(), targets.data(), doc.data(), logprobs.data(), hidden.data()), 0);
    double mean = 0;
    for (int64_t r = 0; r < N; ++r) {
        mean -= logprobs[r] / 10.0;
        d[r] = targets[r] == -100 ? 0.f : -0.1f;
    }
    CHECK_NEAR(mean, loss, 1e-5 * loss);
    CHECK_EQ(sl4j_trainer_backward(tr, d.data(), nullptr, 1.f), 0);
    std::vector<float> g_java = all_grads(lora);
    CHECK_EQ(g_java.size(), g_native.size());
    for (size_t i = 0; i < g_java.size(); ++i) CHECK_NEAR(g_java[i], g_native[i], 1e-6 + 1e-5 * std::fabs(g_native[i]));
    // A second backward of the same forward is refused.
    CHECK_EQ(sl4j_trainer_backward(tr, d.data(), nullptr, 1.f), int32_t(SL4J_ERR_INVALID_ARGUMENT));

    // Accumulation: another step with grad_scale 1 doubles the gradients; clipping reports the norm.
    CHECK_EQ(sl4j_trainer_step_ce(tr, tokens.data(), targets.data(), doc.data(), 1.f, nullptr, nullptr), 0);
    std::vector<float> g2 = all_grads(lora);
    for (size_t i = 0; i < g2.size(); ++i) CHECK_NEAR(g2[i], 2 * g_native[i], 1e-6 + 1e-5 * std::fabs(g_native[i]));
    double norm = 0, pre = 0, after = 0;
    CHECK_EQ(sl4j_lora_grad_norm(lora, &norm), 0);
    CHECK_EQ(sl4j_lora_clip_grad_norm(lora, norm / 4, &pre), 0);
    CHECK_NEAR(pre, norm, 1e-12);
    sl4j_lora_grad_norm(lora, &after);
    CHECK_NEAR(after, norm / 4, 1e-4 * norm);
    sl4j_adamw_params ap = sl4j_adamw_default_params();
    ap.lr = 1e-3f;
    CHECK_EQ(sl4j_lora_adamw_step(lora, &ap), 0);
    CHECK_EQ(sl4j_lora_adamw_steps(lora), int64_t(1));

    // The session with the adapter attached computes the trainer's log-probs (sequence 0).
    sl4j_trainer_set_training(tr, 0);
    CHECK_EQ(sl4j_trainer_forward(tr, tokens.data(), targets.data(), nullptr, logprobs.data(), nullptr), 0);
    sl4j_session* s = nullptr;
    sl4j_session_params sp = sl4j_session_default_params();
    sp.n_ctx = 16;
    sp.kv_type = SL4J_TYPE_F32;  // the trainer keeps keys and values in F32: an exact comparison
    CHECK_EQ(sl4j_session_init_params(model, &sp, &s), 0);
    CHECK_EQ(sl4j_session_set_lora(s, lora, 1), 0);
    CHECK_EQ(sl4j_session_decode(s, tokens.data(), nullptr, nullptr, nullptr, 5, 1), 0);
    std::vector<float> lp_s(5);
    CHECK_EQ(sl4j_session_get_logprobs(s, targets.data(), lp_s.data(), 5), 0);
    for (int r = 0; r < 5; ++r) CHECK_NEAR(lp_s[r], logprobs[r], 1e-4);

    // Errors are status codes with a message.
    float x = 0;
    CHECK_EQ(sl4j_lora_get(lora, 999, SL4J_LORA_VALUE, &x, 1), int32_t(SL4J_ERR_INVALID_ARGUMENT));
    CHECK_EQ(sl4j_lora_get(lora, 0, 7, &x, 1), int32_t(SL4J_ERR_INVALID_ARGUMENT));
    CHECK(std::string(sl4j_last_error()).find("field") != std::string::npos);
    CHECK_EQ(sl4j_lora_set(lora, 0, SL4J_LORA_VALUE, &x, 1), int32_t(SL4J_ERR_INVALID_ARGUMENT));
    targets[0] = 100000;
    CHECK_EQ(sl4j_trainer_step_ce(tr, tokens.data(), targets.data(), nullptr, 1.f, nullptr, nullptr),
             int32_t(SL4J_ERR_INVALID_ARGUMENT));
    lp.r = 0;
    sl4j_lora* bad = nullptr;
    CHECK_EQ(sl4j_lora_init(model, &lp, &bad), int32_t(SL4J_ERR_INVALID_ARGUMENT));
    CHECK(bad == nullptr);

    sl4j_session_free(s);
    sl4j_trainer_free(tr);
    sl4j_lora_free(lora);
    sl4j_model_free(model);
}

TEST(train_api_adamw_on_caller_arrays_matches_hand_computation) {
    // One step from m = v = 0: m̂ = g, v̂ = g², so p ← p(1 - lr·wd) - lr·g/(|g| + eps).
    float p[2] = {1.f, -2.f}, g[2] = {0.5f, -4.f}, m[2] = {0, 0}, v[2] = {0, 0};
    sl4j_adamw_params a = sl4j_adamw_default_params();
    a.lr = 0.1f;
    a.weight_decay = 0.5f;
    CHECK_EQ(sl4j_adamw_update_f32(p, g, m, v, 2, 1, &a), 0);
    CHECK_NEAR(p[0], 1.0 * 0.95 - 0.1, 1e-6);
    CHECK_NEAR(p[1], -2.0 * 0.95 + 0.1, 1e-6);
    CHECK_NEAR(m[0], 0.05, 1e-7);
    CHECK_NEAR(v[1], 0.001 * 16, 1e-6);
    CHECK_EQ(sl4j_adamw_update_f32(p, g, m, v, 2, 0, &a), int32_t(SL4J_ERR_INVALID_ARGUMENT));
}
