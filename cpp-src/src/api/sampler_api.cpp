// C API: native token sampling over a session's logits.
#include <algorithm>
#include <memory>
#include <vector>

#include "api/guard.h"
#include "api/handles.h"

using namespace sl4j;

extern "C" {

struct sl4j_sampler_params sl4j_sampler_default_params(void) { return sampler_default_params(); }

int32_t sl4j_sampler_init(const sl4j_model* model, const struct sl4j_sampler_params* params, sl4j_sampler** out) {
    return guard([&] {
        SL4J_CHECK_HANDLE(model);
        SL4J_CHECK_HANDLE(out);
        *out = nullptr;
        auto s = std::make_unique<sl4j_sampler>();
        s->impl = std::make_unique<TokenSampler>(params ? *params : sampler_default_params(), model->impl->hparams().n_vocab);
        *out = s.release();
    });
}

void sl4j_sampler_free(sl4j_sampler* sampler) { delete sampler; }

int32_t sl4j_sampler_set_logit_bias(sl4j_sampler* sampler, const int32_t* tokens, const float* bias, int32_t n) {
    return guard([&] {
        SL4J_CHECK_HANDLE(sampler);
        sampler->impl->set_logit_bias(tokens, bias, n);
    });
}

int32_t sl4j_sampler_accept(sl4j_sampler* sampler, int32_t token) {
    return guard([&] {
        SL4J_CHECK_HANDLE(sampler);
        sampler->impl->accept(token);
    });
}

int32_t sl4j_sampler_sample(sl4j_sampler* sampler, const sl4j_session* session, int32_t row, int32_t banned,
                            int32_t n_top, int32_t* token, float* logprob, int32_t* top_ids, float* top_logprobs) {
    return guard([&] {
        SL4J_CHECK_HANDLE(sampler);
        SL4J_CHECK_HANDLE(session);
        SL4J_CHECK_HANDLE(token);
        const LlamaSession& s = *session->impl;
        const int64_t V = s.model().hparams().n_vocab;
        SL4J_CHECK_ARG(sampler->impl->n_vocab() == V, "the sampler was made for %lld tokens, the session's model has %lld",
                       (long long)sampler->impl->n_vocab(), (long long)V);
        SL4J_CHECK_ARG(s.has_logits(), "the last decode did not compute logits");
        SL4J_CHECK_ARG(row >= 0 && row < s.n_outputs(), "row %d is outside the last decode's %lld output rows", row,
                       (long long)s.n_outputs());
        if (n_top == 0) {  // picked by the session's backend: on a device only the pick comes back
            TokenSampler* one = sampler->impl.get();
            float lp = 0;
            s.sample(&one, &row, &banned, 1, token, &lp);
            if (logprob != nullptr) *logprob = lp;
        } else {  // the top-n alternatives read the row on the host
            *token = sampler->impl->sample(s.logits_row(row), banned, logprob, n_top, top_ids, top_logprobs);
        }
    });
}

int32_t sl4j_sampler_sample_batch(sl4j_sampler* const* samplers, const sl4j_session* session, const int32_t* rows,
                                  const int32_t* banned, int32_t n, int32_t* tokens, float* logprobs) {
    return guard([&] {
        SL4J_CHECK_HANDLE(session);
        SL4J_CHECK_ARG(n >= 0, "n must be >= 0, got %d", n);
        if (n == 0) return;
        SL4J_CHECK_ARG(samplers != nullptr && rows != nullptr && tokens != nullptr,
                       "sample_batch needs samplers, rows and room for the tokens");
        std::vector<TokenSampler*> impl(static_cast<size_t>(n));
        for (int32_t i = 0; i < n; ++i) {
            SL4J_CHECK_ARG(samplers[i] != nullptr, "samplers[%d] is NULL", i);
            impl[size_t(i)] = samplers[i]->impl.get();
        }
        std::vector<float> lp(static_cast<size_t>(n));
        session->impl->sample(impl.data(), rows, banned, n, tokens, lp.data());
        if (logprobs != nullptr) std::copy(lp.begin(), lp.end(), logprobs);
    });
}

}  // extern "C"
