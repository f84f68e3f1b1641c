// C API: models and decoding sessions.
#include <algorithm>
#include <cmath>
#include <memory>

#include "api/guard.h"
#include "api/handles.h"
#include "model/finite_check.h"

using namespace sl4j;

extern "C" {

struct sl4j_model_params sl4j_model_default_params(void) {
    sl4j_model_params p;
    p.device = SL4J_DEVICE_AUTO;
    p.cuda_device = 0;
    return p;
}

int32_t sl4j_model_load(const char* path, const struct sl4j_model_params* params, sl4j_model** out) {
    return guard([&] {
        SL4J_CHECK_HANDLE(path);
        SL4J_CHECK_HANDLE(out);
        *out = nullptr;
        sl4j_model_params p = params ? *params : sl4j_model_default_params();
        auto m = std::make_unique<sl4j_model>();
        m->impl = LlamaModel::load(path, choose_backend(p.device, p.cuda_device, &m->notice));
        *out = m.release();
    });
}

void sl4j_model_free(sl4j_model* model) { delete model; }
int32_t sl4j_model_device(const sl4j_model* model) { return model ? model->impl->backend().device() : -1; }
const char* sl4j_model_backend_name(const sl4j_model* model) {
    return model ? model->impl->backend().name().c_str() : "";
}
const char* sl4j_model_notice(const sl4j_model* model) { return model ? model->notice.c_str() : ""; }
int64_t sl4j_model_device_bytes(const sl4j_model* model) { return model ? model->impl->device_bytes() : -1; }

int32_t sl4j_model_get_info(const sl4j_model* model, struct sl4j_model_info* out) {
    return guard([&] {
        SL4J_CHECK_HANDLE(model);
        SL4J_CHECK_HANDLE(out);
        const LlamaHparams& h = model->impl->hparams();
        out->n_vocab = h.n_vocab;
        out->dim = h.dim;
        out->n_layers = h.n_layers;
        out->n_heads = h.n_heads;
        out->n_kv_heads = h.n_kv_heads;
        out->head_dim = h.head_dim;
        out->ffn = h.ffn;
        out->n_rot = h.n_rot;
        out->n_ctx_train = h.n_ctx_train;
        out->rope_base = h.rope_base;
        out->rms_eps = h.rms_eps;
        out->tied_output = model->impl->weights().tied_output ? 1 : 0;
        out->weight_type = model->impl->weights().layers[0].wq.type;
    });
}

int32_t sl4j_model_check_finite(const sl4j_model* model) {
    return guard([&] {
        SL4J_CHECK_HANDLE(model);
        int64_t element = 0;
        float value = 0.f;
        int64_t i = find_nonfinite(model->impl->file(), &element, &value);
        if (i >= 0)
            SL4J_FAIL(SL4J_ERR_FORMAT, "%s: tensor %s holds a non-finite value (%s) at element %lld: the model is damaged",
                      model->impl->file().path().c_str(), model->impl->file().tensors()[static_cast<size_t>(i)].name.c_str(),
                      std::isnan(value) ? "nan" : value > 0 ? "inf" : "-inf", (long long)element);
    });
}

struct sl4j_session_params sl4j_session_default_params(void) {
    sl4j_session_params p;
    p.n_seq = 1;
    p.n_ctx = 2048;
    p.kv_type = SL4J_TYPE_F16;
    p.precision = SL4J_PRECISION_EXACT;
    return p;
}

int32_t sl4j_session_init_params(sl4j_model* model, const struct sl4j_session_params* params, sl4j_session** out) {
    return guard([&] {
        SL4J_CHECK_HANDLE(model);
        SL4J_CHECK_HANDLE(out);
        *out = nullptr;
        const sl4j_session_params p = params ? *params : sl4j_session_default_params();
        auto s = std::make_unique<sl4j_session>();
        SL4J_CHECK_ARG(p.precision == SL4J_PRECISION_EXACT || p.precision == SL4J_PRECISION_FAST,
                       "session precision must be SL4J_PRECISION_EXACT (0) or SL4J_PRECISION_FAST (1), got %d",
                       p.precision);
        s->impl = std::make_unique<LlamaSession>(*model->impl, p.n_seq, p.n_ctx, p.kv_type);
        s->impl->set_precision(p.precision == SL4J_PRECISION_FAST ? cpu::Precision::kFast : cpu::Precision::kExact);
        *out = s.release();
    });
}

int32_t sl4j_session_init(sl4j_model* model, int32_t n_seq, int32_t n_ctx, sl4j_session** out) {
    sl4j_session_params p = sl4j_session_default_params();
    p.n_seq = n_seq;
    p.n_ctx = n_ctx;
    return sl4j_session_init_params(model, &p, out);
}

int64_t sl4j_session_kv_bytes(const sl4j_session* session) { return session ? session->impl->kv_bytes() : -1; }

void sl4j_session_free(sl4j_session* session) { delete session; }

int32_t sl4j_session_decode(sl4j_session* session, const int32_t* tokens, const int32_t* seq_ids,
                            const int8_t* outputs, const int64_t* doc_start, int32_t n_tokens,
                            int32_t want_logits) {
    return guard([&] {
        SL4J_CHECK_HANDLE(session);
        session->impl->decode(tokens, seq_ids, outputs, doc_start, n_tokens, want_logits != 0);
    });
}

int32_t sl4j_session_n_outputs(const sl4j_session* session) {
    return session ? static_cast<int32_t>(session->impl->n_outputs()) : 0;
}

int32_t sl4j_session_get_logits(const sl4j_session* session, float* dst, int64_t n) {
    return guard([&] {
        SL4J_CHECK_HANDLE(session);
        SL4J_CHECK_HANDLE(dst);
        const LlamaSession& s = *session->impl;
        SL4J_CHECK_ARG(s.has_logits(), "the last decode did not compute logits");
        const int64_t want = s.n_outputs() * s.model().hparams().n_vocab;
        SL4J_CHECK_ARG(n == want, "get_logits needs room for %lld floats, got %lld", (long long)want, (long long)n);
        std::copy_n(s.logits().data(), want, dst);
    });
}

int32_t sl4j_session_get_hidden(const sl4j_session* session, float* dst, int64_t n) {
    return guard([&] {
        SL4J_CHECK_HANDLE(session);
        SL4J_CHECK_HANDLE(dst);
        const LlamaSession& s = *session->impl;
        const int64_t want = s.n_outputs() * s.model().hparams().dim;
        SL4J_CHECK_ARG(n == want, "get_hidden needs room for %lld floats, got %lld", (long long)want, (long long)n);
        std::copy_n(s.hidden().data(), want, dst);
    });
}

int32_t sl4j_session_get_logprobs(const sl4j_session* session, const int32_t* targets, float* dst, int32_t n) {
    return guard([&] {
        SL4J_CHECK_HANDLE(session);
        SL4J_CHECK_HANDLE(targets);
        SL4J_CHECK_HANDLE(dst);
        const LlamaSession& s = *session->impl;
        SL4J_CHECK_ARG(s.has_logits(), "the last decode did not compute logits");
        SL4J_CHECK_ARG(n == s.n_outputs(), "get_logprobs needs %lld targets, got %d", (long long)s.n_outputs(), n);
        const int64_t V = s.model().hparams().n_vocab;
        for (int32_t i = 0; i < n; ++i) {
            SL4J_CHECK_ARG(targets[i] >= 0 && targets[i] < V, "target %d at row %d is outside the vocabulary",
                           targets[i], i);
            dst[i] = s.logprob(i, targets[i]);
        }
    });
}

int32_t sl4j_session_length(const sl4j_session* session, int32_t seq) {
    if (session == nullptr || seq < 0 || seq >= session->impl->n_seq()) return -1;
    return static_cast<int32_t>(session->impl->length(seq));
}

int32_t sl4j_session_truncate(sl4j_session* session, int32_t seq, int32_t len) {
    return guard([&] {
        SL4J_CHECK_HANDLE(session);
        if (seq == -1) {
            SL4J_CHECK_ARG(len == 0, "truncating every sequence is only possible to length 0");
            session->impl->reset(-1);
        } else {
            session->impl->truncate(seq, len);
        }
    });
}

}  // extern "C"
