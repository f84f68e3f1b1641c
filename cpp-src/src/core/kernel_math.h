// The per-element formulas of the transformer ops, for the host and the device (SL4J_HD): the CPU
// kernels (cpu/ops*.cpp, train/adamw.cpp) and the CUDA kernels (cuda/) call these, so each formula
// has one implementation. Reductions over a row (sums of squares, softmax sums) are the callers':
// a CPU loop and a GPU block add in different orders, so results agree to rounding, not bits.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/hash.h"
#include "core/hd.h"

namespace sl4j {

// ---- RMSNorm ----

// 1/rms of a row from its sum of squares (accumulated in double), rounded once at the end: the
// exact precision, the trainer and every reference.
SL4J_HD inline float rmsnorm_inv_rms(double sum_sq, int64_t dim, float eps) {
    return float(1.0 / sqrt(sum_sq / double(dim) + eps));
}
// The same rounded as ggml's rms_norm rounds it (the fast precision, to match llama.cpp): the
// mean to float, then 1/sqrtf(mean + eps) in float. Bit for bit the same normalised row as
// llama.cpp's matters there: a Q4_0 embedding row normalised puts whole groups of values on exact
// half-steps of the 8-bit activation grid, where one ulp of the scale decides the rounding of all
// of them. Past float's range (a diverging run) it stays in double, so 1/rms stays nonzero and the
// overflow shows downstream instead of normalising the row to zeros.
SL4J_HD inline float rmsnorm_inv_rms_ggml(double sum_sq, int64_t dim, float eps) {
    const double mean = sum_sq / double(dim);
    if (mean < 3.0e38) return 1.0f / sqrtf(float(mean) + eps);
    return float(1.0 / sqrt(mean + eps));
}
// One output element: x·(1/rms)·w.
SL4J_HD inline float rmsnorm_elem(float x, float inv_rms, float w) { return x * inv_rms * w; }
// Backward, per row: c = (Σ g·w·x)·s³/dim; per element: dx += g·w·s - c·x (s = 1/rms).
SL4J_HD inline double rmsnorm_backward_coef(double dot_gwx, double inv_rms, int64_t dim) {
    return dot_gwx * inv_rms * inv_rms * inv_rms / double(dim);
}
SL4J_HD inline float rmsnorm_backward_elem(float g, float w, float x, double inv_rms, double coef) {
    return float(double(g) * w * inv_rms - coef * x);
}

// Weight gradient, one row's term of element i: g·x·s (summed over rows in double).
SL4J_HD inline double rmsnorm_weight_grad_term(float g, float x, float inv_rms) { return double(g) * x * inv_rms; }

// ---- Embedding ----

// Backward, one element of a scatter-add: a table gradient d gains alpha·g of a row naming it.
SL4J_HD inline float embedding_grad_elem(float d, float g, float alpha) { return d + alpha * g; }

// ---- RoPE ----

// θ of pair i (< n_rot/2) at position pos: (pos / linear_factor) · base^(-2i/n_rot) / freq_factor,
// freq_factor = 1 without Llama-3 frequency factors (rope_freqs.weight).
SL4J_HD inline double rope_theta(int64_t pos, int64_t i, int64_t n_rot, double base, double linear_factor,
                                 float freq_factor) {
    double inv_freq = pow(base, -2.0 * double(i) / double(n_rot));
    inv_freq /= freq_factor;
    return (double(pos) / linear_factor) * inv_freq;
}
// Rotates the pair (a, b) by the angle with cosine cos_t and sine sin_t (sin_t negated = inverse).
SL4J_HD inline void rope_rotate_pair(float* a, float* b, float cos_t, float sin_t) {
    const float x = *a, y = *b;
    *a = x * cos_t - y * sin_t;
    *b = x * sin_t + y * cos_t;
}

// ---- SwiGLU ----

SL4J_HD inline float sigmoid(float g) { return 1.f / (1.f + expf(-g)); }
// silu(gate)·up.
SL4J_HD inline float swiglu_elem(float g, float u) { return g / (1.f + expf(-g)) * u; }
// Gradients of silu(g)·u given the output gradient d.
SL4J_HD inline void swiglu_backward_elem(float d, float g, float u, float* dg, float* du) {
    const float sig = sigmoid(g);
    const float silu = g * sig;
    *du = d * silu;
    *dg = d * u * sig * (1.f + g * (1.f - sig));
}

// ---- Softmax ----

// One step of the online softmax: a running max m and running sum l (of exp(s - m)) meet scores
// whose max is new_max. Sets m = max(m, new_max), rescales l to it and returns the factor the
// caller must apply to anything else accumulated against the old max (the attention output).
// Then the caller adds p = exp(s - m) of each new score to l (and p·v to its accumulator).
// Starting state: m = -inf, l = 0.
SL4J_HD inline float online_softmax_rescale(float* m, float* l, float new_max) {
    const float m_new = new_max > *m ? new_max : *m;
    const float a = (*m == -INFINITY) ? 0.f : expf(*m - m_new);
    *l *= a;
    *m = m_new;
    return a;
}
// Cross-entropy of one row from its max, Σ exp(l - max) (in double) and the target's logit.
SL4J_HD inline float crossentropy_loss(double exp_sum, float max, float target_logit) {
    return float(log(exp_sum) - double(target_logit - max));
}
// Entropy -Σ p log p of softmax(l) from S = Σ exp(l - max) and W = Σ exp(l - max)·(l - max), both
// in double: log p = (l - max) - log S, so H = log S - W / S.
SL4J_HD inline float softmax_entropy(double exp_sum, double weighted_sum) {
    return float(log(exp_sum) - weighted_sum / exp_sum);
}
// Term i of W for the entropy (e = exp(l - max), d = l - max); 0 where e underflows to 0
// (a -inf logit would otherwise give 0 · -inf).
SL4J_HD inline double entropy_term(float e, float d) { return e == 0.f ? 0.0 : double(e) * d; }
// KL(p ‖ q) of p = softmax(a), q = softmax(b) from Sa = Σ exp(a - ma), Sb = Σ exp(b - mb) and
// U = Σ exp(a - ma)·((a - ma) - (b - mb)), in double:
// Σ p (log p - log q) = U / Sa - log Sa + log Sb.
SL4J_HD inline float softmax_kl(double exp_sum_p, double exp_sum_q, double weighted_sum) {
    return float(weighted_sum / exp_sum_p - log(exp_sum_p) + log(exp_sum_q));
}
// Term i of U (e = exp(a - ma), da = a - ma, db = b - mb); 0 where p's term underflows to 0.
SL4J_HD inline double kl_term(float e, float da, float db) { return e == 0.f ? 0.0 : double(e) * (double(da) - db); }

// ---- Dropout ----

// Element i of a call with mask seed `seed` is kept when mix64(seed ^ mix64(i)) >= threshold,
// threshold = dropout_keep_threshold(p) (the integer form of double(hash) >= p·2^64).
SL4J_HD inline bool dropout_kept(uint64_t threshold, uint64_t seed, int64_t i) {
    return mix64(seed ^ mix64(uint64_t(i))) >= threshold;
}
// Smallest h with double(h) >= p·2^64 (rounding to double is monotonic, so a binary search).
inline uint64_t dropout_keep_threshold(float p) {
    const double bound = double(p) * 18446744073709551616.0;
    uint64_t lo = 0, hi = ~uint64_t(0);  // double(hi) = 2^64 >= bound: the answer is in [lo, hi]
    while (lo < hi) {
        const uint64_t mid = lo + (hi - lo) / 2;
        if (double(mid) >= bound)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

// ---- AdamW ----

// The per-step scalars of AdamW at 1-based step t (computed once on the host).
struct AdamWStep {
    float decay;         // 1 - lr·weight_decay
    float step;          // lr / (1 - β1^t)
    float inv_sqrt_bc2;  // 1 / sqrt(1 - β2^t)
    float beta1, beta2, eps;
};
inline AdamWStep adamw_step_scalars(float lr, float beta1, float beta2, float eps, float weight_decay, int64_t t) {
    const double bc1 = 1.0 - std::pow(double(beta1), double(t));
    const double bc2 = 1.0 - std::pow(double(beta2), double(t));
    return {1.f - lr * weight_decay, float(double(lr) / bc1), float(1.0 / std::sqrt(bc2)), beta1, beta2, eps};
}
// One parameter: p -= lr·wd·p; m, v moments; p -= step·m / (sqrt(v)/sqrt(bc2) + eps).
SL4J_HD inline void adamw_elem(float* p, float g, float* m, float* v, const AdamWStep& s) {
    *p *= s.decay;
    *m = s.beta1 * *m + (1.f - s.beta1) * g;
    *v = s.beta2 * *v + (1.f - s.beta2) * g * g;
    *p -= s.step * *m / (sqrtf(*v) * s.inv_sqrt_bc2 + s.eps);
}

}  // namespace sl4j
