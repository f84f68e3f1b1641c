// C API: LoRA adapters, trainers and AdamW.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "api/guard.h"
#include "api/handles.h"
#include "cpu/ops_backward.h"
#include "train/adamw.h"
#include "train/memory_plan.h"

using namespace sl4j;

namespace {

LoraTensor& tensor_at(sl4j_lora* lora, int64_t i) {
    auto& ts = lora->impl->tensors();
    SL4J_CHECK_ARG(i >= 0 && i < int64_t(ts.size()), "LoRA tensor index %lld is outside [0, %zu)", (long long)i,
                   ts.size());
    return ts[size_t(i)];
}

ParamBuffer& field_of(LoraTensor& t, int32_t field) {
    switch (field) {
        case SL4J_LORA_VALUE: return t.w;
        case SL4J_LORA_GRAD: return t.grad;
        case SL4J_LORA_ADAM_M: return t.m;
        case SL4J_LORA_ADAM_V: return t.v;
        default:
            SL4J_FAIL(SL4J_ERR_INVALID_ARGUMENT, "LoRA field %d is not one of VALUE=0, GRAD=1, ADAM_M=2, ADAM_V=3",
                      field);
    }
}

AdamWParams adamw_of(const sl4j_adamw_params* p) {
    sl4j_adamw_params q = p ? *p : sl4j_adamw_default_params();
    AdamWParams a;
    a.lr = q.lr;
    a.beta1 = q.beta1;
    a.beta2 = q.beta2;
    a.eps = q.eps;
    a.weight_decay = q.weight_decay;
    return a;
}

}  // namespace

extern "C" {

struct sl4j_lora_params sl4j_lora_default_params(void) {
    sl4j_lora_params p;
    p.r = 16;
    p.alpha = 32.f;
    p.dropout = 0.05f;
    p.targets = SL4J_LORA_Q | SL4J_LORA_V;
    p.seed = 42;
    return p;
}

int32_t sl4j_lora_init(const sl4j_model* model, const struct sl4j_lora_params* params, sl4j_lora** out) {
    return guard([&] {
        SL4J_CHECK_HANDLE(model);
        SL4J_CHECK_HANDLE(out);
        *out = nullptr;
        sl4j_lora_params p = params ? *params : sl4j_lora_default_params();
        LoraConfig c;
        c.r = p.r;
        c.alpha = p.alpha;
        c.dropout = p.dropout;
        c.targets = p.targets;
        c.seed = p.seed;
        auto l = std::make_unique<sl4j_lora>();
        auto impl = std::make_unique<LoraAdapter>(model->impl->hparams(), c, model->impl->backend());
        l->lora = impl.get();
        l->impl = std::move(impl);
        *out = l.release();
    });
}

int32_t sl4j_lora_init_full(const sl4j_model* model, sl4j_lora** out) {
    return guard([&] {
        SL4J_CHECK_HANDLE(model);
        SL4J_CHECK_HANDLE(out);
        *out = nullptr;
        auto l = std::make_unique<sl4j_lora>();
        auto impl = std::make_unique<FullParams>(*model->impl);
        l->full = impl.get();
        l->impl = std::move(impl);
        *out = l.release();
    });
}

int32_t sl4j_lora_is_full(const sl4j_lora* lora) { return lora != nullptr && lora->full != nullptr ? 1 : 0; }

void sl4j_lora_free(sl4j_lora* lora) { delete lora; }

int32_t sl4j_lora_get_params(const sl4j_lora* lora, struct sl4j_lora_params* out) {
    return guard([&] {
        SL4J_CHECK_HANDLE(lora);
        SL4J_CHECK_HANDLE(out);
        SL4J_CHECK_ARG(lora->lora != nullptr, "these are full parameters, not a LoRA adapter: they have no LoRA settings");
        const LoraConfig& c = lora->lora->config();
        out->r = int32_t(c.r);
        out->alpha = c.alpha;
        out->dropout = c.dropout;
        out->targets = c.targets;
        out->seed = c.seed;
    });
}

int64_t sl4j_lora_n_tensors(const sl4j_lora* lora) { return lora ? int64_t(lora->impl->tensors().size()) : 0; }

const char* sl4j_lora_tensor_name(const sl4j_lora* lora, int64_t i) {
    if (lora == nullptr || i < 0 || i >= sl4j_lora_n_tensors(lora)) return nullptr;
    return lora->impl->tensors()[size_t(i)].name.c_str();
}

int32_t sl4j_lora_tensor_dims(const sl4j_lora* lora, int64_t i, int64_t dims[2]) {
    return guard([&] {
        SL4J_CHECK_HANDLE(lora);
        SL4J_CHECK_HANDLE(dims);
        const LoraTensor& t = tensor_at(const_cast<sl4j_lora*>(lora), i);
        dims[0] = t.cols;  // ggml order: innermost first
        dims[1] = t.rows;
    });
}

int64_t sl4j_lora_tensor_n_elements(const sl4j_lora* lora, int64_t i) {
    if (lora == nullptr || i < 0 || i >= sl4j_lora_n_tensors(lora)) return -1;
    return lora->impl->tensors()[size_t(i)].size();
}

int64_t sl4j_lora_find_tensor(const sl4j_lora* lora, const char* name) {
    if (lora == nullptr || name == nullptr) return -1;
    const auto& ts = lora->impl->tensors();
    for (size_t i = 0; i < ts.size(); ++i)
        if (ts[i].name == name) return int64_t(i);
    return -1;
}

int32_t sl4j_lora_get(const sl4j_lora* lora, int64_t i, int32_t field, float* dst, int64_t n) {
    return guard([&] {
        SL4J_CHECK_HANDLE(lora);
        SL4J_CHECK_HANDLE(dst);
        LoraTensor& t = tensor_at(const_cast<sl4j_lora*>(lora), i);
        ParamBuffer& v = field_of(t, field);
        SL4J_CHECK_ARG(n == t.size(), "LoRA tensor %s has %lld elements, got n=%lld", t.name.c_str(),
                       (long long)t.size(), (long long)n);
        v.backend().download(dst, v.data(), n * int64_t(sizeof(float)));
    });
}

int32_t sl4j_lora_set(sl4j_lora* lora, int64_t i, int32_t field, const float* src, int64_t n) {
    return guard([&] {
        SL4J_CHECK_HANDLE(lora);
        SL4J_CHECK_HANDLE(src);
        LoraTensor& t = tensor_at(lora, i);
        ParamBuffer& v = field_of(t, field);
        SL4J_CHECK_ARG(n == t.size(), "LoRA tensor %s has %lld elements, got n=%lld", t.name.c_str(),
                       (long long)t.size(), (long long)n);
        for (int64_t j = 0; j < n; ++j)
            SL4J_CHECK_ARG(std::isfinite(src[j]), "LoRA tensor %s: element %lld is not finite", t.name.c_str(),
                           (long long)j);
        v.upload(src);
    });
}

int32_t sl4j_lora_zero_grad(sl4j_lora* lora) {
    return guard([&] {
        SL4J_CHECK_HANDLE(lora);
        zero_grad(*lora->impl);
    });
}

int32_t sl4j_lora_grad_norm(const sl4j_lora* lora, double* out) {
    return guard([&] {
        SL4J_CHECK_HANDLE(lora);
        SL4J_CHECK_HANDLE(out);
        *out = grad_norm(*lora->impl);
    });
}

int32_t sl4j_lora_clip_grad_norm(sl4j_lora* lora, double max_norm, double* pre_clip_norm) {
    return guard([&] {
        SL4J_CHECK_HANDLE(lora);
        const double n = clip_grad_norm(*lora->impl, max_norm);
        if (pre_clip_norm) *pre_clip_norm = n;
    });
}

struct sl4j_adamw_params sl4j_adamw_default_params(void) {
    sl4j_adamw_params p;
    p.lr = 1e-4f;
    p.beta1 = 0.9f;
    p.beta2 = 0.999f;
    p.eps = 1e-8f;
    p.weight_decay = 0.01f;
    return p;
}

int32_t sl4j_lora_adamw_step(sl4j_lora* lora, const struct sl4j_adamw_params* params) {
    return guard([&] {
        SL4J_CHECK_HANDLE(lora);
        adamw_step(*lora->impl, adamw_of(params));
    });
}

int64_t sl4j_lora_adamw_steps(const sl4j_lora* lora) { return lora ? lora->impl->adam_steps : -1; }

int32_t sl4j_lora_set_adamw_steps(sl4j_lora* lora, int64_t steps) {
    return guard([&] {
        SL4J_CHECK_HANDLE(lora);
        SL4J_CHECK_ARG(steps >= 0, "AdamW step count must be >= 0, got %lld", (long long)steps);
        lora->impl->adam_steps = steps;
    });
}

int32_t sl4j_adamw_update_f32(float* param, const float* grad, float* m, float* v, int64_t n, int64_t step,
                              const struct sl4j_adamw_params* params) {
    return guard([&] {
        SL4J_CHECK_ARG(n >= 0, "n must be >= 0, got %lld", (long long)n);
        SL4J_CHECK_ARG(n == 0 || (param && grad && m && v), "adamw_update_f32: NULL array");
        adamw_update(param, grad, m, v, n, step, adamw_of(params));
    });
}

int32_t sl4j_session_set_lora(sl4j_session* session, const sl4j_lora* lora, int32_t enabled) {
    return guard([&] {
        SL4J_CHECK_HANDLE(session);
        SL4J_CHECK_ARG(lora == nullptr || lora->lora != nullptr,
                       "a session takes a LoRA adapter; full parameters are saved as a model and loaded");
        session->impl->set_lora(lora ? lora->lora : nullptr, enabled != 0);
    });
}

struct sl4j_trainer_params sl4j_trainer_default_params(void) {
    sl4j_trainer_params p;
    p.batch = 1;
    p.seq_len = 1024;
    p.checkpointing = 0;
    return p;
}

int32_t sl4j_trainer_init(const sl4j_model* model, sl4j_lora* lora, const struct sl4j_trainer_params* params,
                          sl4j_trainer** out) {
    return guard([&] {
        SL4J_CHECK_HANDLE(model);
        SL4J_CHECK_HANDLE(out);
        *out = nullptr;
        sl4j_trainer_params p = params ? *params : sl4j_trainer_default_params();
        TrainConfig c;
        c.batch = p.batch;
        c.seq_len = p.seq_len;
        c.checkpointing = p.checkpointing != 0;
        auto t = std::make_unique<sl4j_trainer>();
        t->dim = model->impl->hparams().dim;
        if (lora != nullptr && lora->full != nullptr)
            t->impl = std::make_unique<Trainer>(*model->impl, lora->full, c);
        else
            t->impl = std::make_unique<Trainer>(*model->impl, lora ? lora->lora : nullptr, c);
        *out = t.release();
    });
}

void sl4j_trainer_free(sl4j_trainer* trainer) { delete trainer; }

int32_t sl4j_trainer_set_adapter_enabled(sl4j_trainer* trainer, int32_t enabled) {
    return guard([&] {
        SL4J_CHECK_HANDLE(trainer);
        trainer->impl->set_adapter_enabled(enabled != 0);
    });
}

int32_t sl4j_trainer_set_training(sl4j_trainer* trainer, int32_t training) {
    return guard([&] {
        SL4J_CHECK_HANDLE(trainer);
        trainer->impl->set_training(training != 0);
    });
}

int32_t sl4j_trainer_set_entropy(sl4j_trainer* trainer, int32_t on) {
    return guard([&] {
        SL4J_CHECK_HANDLE(trainer);
        trainer->impl->set_entropy(on != 0);
    });
}

int32_t sl4j_trainer_entropy(const sl4j_trainer* trainer, float* dst) {
    return guard([&] {
        SL4J_CHECK_HANDLE(trainer);
        SL4J_CHECK_HANDLE(dst);
        const Trainer& tr = *trainer->impl;
        SL4J_CHECK_ARG(tr.entropy_on(), "entropy is off: call sl4j_trainer_set_entropy(trainer, 1) before the forward");
        std::copy_n(tr.row_entropy().data(), tr.rows(), dst);
    });
}

int32_t sl4j_trainer_infer_kl(sl4j_trainer* trainer, const int32_t* tokens, const int32_t* targets,
                              const int64_t* doc_start, float* kl) {
    return guard([&] {
        SL4J_CHECK_HANDLE(trainer);
        SL4J_CHECK_HANDLE(tokens);
        SL4J_CHECK_HANDLE(targets);
        SL4J_CHECK_HANDLE(kl);
        trainer->impl->infer_kl(tokens, targets, doc_start, kl);
    });
}

int64_t sl4j_trainer_forward_count(const sl4j_trainer* trainer) {
    return trainer ? static_cast<int64_t>(trainer->impl->forward_count()) : -1;
}

int32_t sl4j_trainer_set_forward_count(sl4j_trainer* trainer, int64_t count) {
    return guard([&] {
        SL4J_CHECK_HANDLE(trainer);
        SL4J_CHECK_ARG(count >= 0, "forward count must be >= 0, got %lld", (long long)count);
        trainer->impl->set_forward_count(static_cast<uint64_t>(count));
    });
}

static void ce(sl4j_trainer* trainer, const int32_t* tokens, const int32_t* targets, const int64_t* doc_start,
               bool backward, float grad_scale, double* loss, int64_t* n_counted) {
    SL4J_CHECK_HANDLE(trainer);
    SL4J_CHECK_HANDLE(tokens);
    SL4J_CHECK_HANDLE(targets);
    Trainer& tr = *trainer->impl;
    tr.forward(tokens, targets, doc_start, backward);  // evaluation keeps nothing
    int64_t counted = 0;
    const double l = tr.mean_loss(&counted);
    if (backward && counted > 0) {
        std::vector<float> d(size_t(tr.rows()), 1.f / float(counted));
        tr.backward(d.data(), nullptr, grad_scale);
    }
    if (loss) *loss = l;
    if (n_counted) *n_counted = counted;
}

int32_t sl4j_trainer_step_ce(sl4j_trainer* trainer, const int32_t* tokens, const int32_t* targets,
                             const int64_t* doc_start, float grad_scale, double* loss, int64_t* n_counted) {
    return guard([&] { ce(trainer, tokens, targets, doc_start, true, grad_scale, loss, n_counted); });
}

int32_t sl4j_trainer_eval_ce(sl4j_trainer* trainer, const int32_t* tokens, const int32_t* targets,
                             const int64_t* doc_start, double* loss, int64_t* n_counted) {
    return guard([&] { ce(trainer, tokens, targets, doc_start, false, 1.f, loss, n_counted); });
}

static void forward_out(sl4j_trainer* trainer, const int32_t* tokens, const int32_t* targets,
                        const int64_t* doc_start, float* logprobs, float* hidden, bool keep) {
    SL4J_CHECK_HANDLE(trainer);
    SL4J_CHECK_HANDLE(tokens);
    SL4J_CHECK_ARG(logprobs == nullptr || targets != nullptr, "log-probs need targets");
    Trainer& tr = *trainer->impl;
    tr.forward(tokens, targets, doc_start, keep);
    if (logprobs)
        for (int64_t r = 0; r < tr.rows(); ++r) logprobs[r] = -tr.row_losses()[r];
    if (hidden) tr.read_hidden(hidden);  // straight from the backend, no host copy kept
}

int32_t sl4j_trainer_forward(sl4j_trainer* trainer, const int32_t* tokens, const int32_t* targets,
                             const int64_t* doc_start, float* logprobs, float* hidden) {
    return guard([&] { forward_out(trainer, tokens, targets, doc_start, logprobs, hidden, true); });
}

int32_t sl4j_trainer_infer(sl4j_trainer* trainer, const int32_t* tokens, const int32_t* targets,
                           const int64_t* doc_start, float* logprobs, float* hidden) {
    return guard([&] { forward_out(trainer, tokens, targets, doc_start, logprobs, hidden, false); });
}

int64_t sl4j_trainer_buffer_bytes(const sl4j_trainer* trainer) {
    return trainer ? trainer->impl->buffer_bytes() : -1;
}

int32_t sl4j_trainer_backward(sl4j_trainer* trainer, const float* d_logprobs, const float* d_hidden,
                              float grad_scale) {
    return guard([&] {
        SL4J_CHECK_HANDLE(trainer);
        Trainer& tr = *trainer->impl;
        std::vector<float> d;
        if (d_logprobs) {
            d.resize(size_t(tr.rows()));
            for (int64_t r = 0; r < tr.rows(); ++r) d[r] = -d_logprobs[r];  // row loss = -logprob
        }
        tr.backward(d_logprobs ? d.data() : nullptr, d_hidden, grad_scale);
    });
}

struct sl4j_memory_plan_params sl4j_memory_plan_default_params(void) {
    sl4j_memory_plan_params p{};
    p.mode = SL4J_PLAN_GENERATE;
    p.lora_r = 16;
    p.lora_targets = SL4J_LORA_Q | SL4J_LORA_V;
    p.kv_type = SL4J_TYPE_F16;
    p.device = SL4J_DEVICE_CPU;
    return p;
}

int32_t sl4j_memory_plan(const struct sl4j_model_info* info, const struct sl4j_memory_plan_params* params,
                         struct sl4j_memory_plan_result* out) {
    return guard([&] {
        SL4J_CHECK_HANDLE(info);
        SL4J_CHECK_HANDLE(out);
        SL4J_CHECK_ARG(info->n_vocab > 0 && info->dim > 0 && info->n_layers > 0 && info->n_kv_heads > 0 &&
                           info->head_dim > 0 && info->ffn > 0 && info->n_rot >= 0,
                       "memory plan: the model shape needs positive n_vocab, dim, n_layers, n_kv_heads, head_dim, ffn");
        LlamaHparams h;
        h.n_vocab = info->n_vocab;
        h.dim = info->dim;
        h.n_layers = info->n_layers;
        h.n_heads = info->n_heads;
        h.n_kv_heads = info->n_kv_heads;
        h.head_dim = info->head_dim;
        h.ffn = info->ffn;
        h.n_rot = info->n_rot;
        memory_plan(h, info->tied_output != 0, params ? *params : sl4j_memory_plan_default_params(), out);
    });
}

}  // extern "C"
