#include "train/adamw.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/kernel_math.h"

namespace sl4j {

namespace {

// The step's scalars, once the hyperparameters are checked.
AdamWStep checked_step(int64_t t, const AdamWParams& a) {
    SL4J_CHECK_ARG(t >= 1, "AdamW step must be >= 1, got %lld", (long long)t);
    SL4J_CHECK_ARG(a.beta1 >= 0 && a.beta1 < 1 && a.beta2 >= 0 && a.beta2 < 1 && a.eps > 0 && a.lr >= 0 &&
                       a.weight_decay >= 0,
                   "AdamW needs 0 <= beta1, beta2 < 1, eps > 0, lr >= 0, weight_decay >= 0 (got %g %g %g %g %g)",
                   double(a.beta1), double(a.beta2), double(a.eps), double(a.lr), double(a.weight_decay));
    return adamw_step_scalars(a.lr, a.beta1, a.beta2, a.eps, a.weight_decay, t);
}

}  // namespace

void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, int64_t t, const AdamWParams& a) {
    const AdamWStep s = checked_step(t, a);
    for (int64_t i = 0; i < n; ++i) adamw_elem(p + i, g[i], m + i, v + i, s);
}

void adamw_step(ParamSet& params, const AdamWParams& a) {
    const int64_t t = params.adam_steps + 1;
    const AdamWStep s = checked_step(t, a);
    for (ParamTensor& T : params.tensors())
        params.backend().adamw(T.w.data(), T.grad.data(), T.m.data(), T.v.data(), T.size(), s);
    params.adam_steps = t;
}

double grad_norm(const ParamSet& params) {
    double ss = 0;
    for (const ParamTensor& T : params.tensors()) ss += params.backend().sum_squares(T.grad.data(), T.size());
    return std::sqrt(ss);
}

double clip_grad_norm(ParamSet& params, double max_norm) {
    SL4J_CHECK_ARG(max_norm > 0, "max gradient norm must be positive, got %g", max_norm);
    const double norm = grad_norm(params);
    const double coef = max_norm / (norm + 1e-6);
    // In F32, as torch.nn.utils.clip_grad_norm_ multiplies by its clamped coefficient tensor.
    if (coef < 1.0)
        for (ParamTensor& T : params.tensors()) params.backend().scale(T.grad.data(), float(coef), T.size());
    return norm;
}

void zero_grad(ParamSet& params) {
    for (ParamTensor& T : params.tensors())
        params.backend().fill_zero(T.grad.data(), T.size() * int64_t(sizeof(float)));
}

}  // namespace sl4j
