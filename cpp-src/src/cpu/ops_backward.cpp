#include "cpu/ops_backward.h"

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/kernel_math.h"
#include "cpu/matmul.h"
#include "cpu/kernels.h"
#include "cpu/ops.h"
#include "cpu/threadpool.h"

namespace sl4j::cpu {

void embedding_backward(float* dtable, const float* dout, const int32_t* tokens, int64_t n_rows, int64_t dim,
                        float alpha) {
    // Sequential over rows: two rows of the same token write the same table row.
    for (int64_t r = 0; r < n_rows; ++r) {
        float* d = dtable + int64_t(tokens[r]) * dim;
        for (int64_t i = 0; i < dim; ++i) d[i] = embedding_grad_elem(d[i], dout[r * dim + i], alpha);
    }
}

void rmsnorm_weight_backward(float* dw, const float* dout, const float* x, const float* inv_rms, int64_t n_rows,
                             int64_t dim, float alpha) {
    parallel_for(dim, 16, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            double s = 0;
            for (int64_t r = 0; r < n_rows; ++r) s += rmsnorm_weight_grad_term(dout[r * dim + i], x[r * dim + i], inv_rms[r]);
            dw[i] += float(alpha * s);
        }
    });
}

void rmsnorm_backward(float* dx, const float* dout, const float* x, const float* w, const float* inv_rms,
                      int64_t n_rows, int64_t dim) {
    parallel_for(n_rows, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float* xr = x + r * dim;
            const float* g = dout + r * dim;
            const double s = inv_rms[r];
            // y_i = x_i·s·w_i with s = (mean x² + eps)^-1/2, so ds/dx_j = -s³·x_j/dim.
            double dot = 0;
            for (int64_t i = 0; i < dim; ++i) dot += double(g[i]) * w[i] * xr[i];
            const double c = rmsnorm_backward_coef(dot, s, dim);
            float* d = dx + r * dim;
            for (int64_t i = 0; i < dim; ++i) d[i] += rmsnorm_backward_elem(g[i], w[i], xr[i], s, c);
        }
    });
}

void rope_backward(float* dx, const float* cs, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t n_rot) {
    rope_rotate(dx, cs, n_rows, n_heads, head_dim, n_rot, -1.f);
}

void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) {
    parallel_for(n, 4096, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) swiglu_backward_elem(dout[i], gate[i], up[i], dgate + i, dup + i);
    });
}

void residual_backward(float* dy, const float* dx, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dy[i] += dx[i];
}

void attention_backward(float* dq, float* dk_cache, float* dv_cache, const float* dout, const float* q,
                        const float* k_cache, const float* v_cache, const int32_t* seq, const int64_t* pos,
                        const int64_t* first_pos, int64_t n_rows, int64_t n_seq, int64_t n_heads,
                        int64_t n_kv_heads, int64_t head_dim, int64_t seq_stride) {
    const int64_t kv_dim = n_kv_heads * head_dim;
    const int64_t group = n_heads / n_kv_heads;
    const float scale = float(1.0 / std::sqrt(double(head_dim)));
    const KernelTable& kt = kernels_for(simd());
    // One task per (sequence, kv head): dk/dv of that pair are written by this task only.
    parallel_for(n_seq * n_kv_heads, 1, [&](int64_t t0, int64_t t1) {
        std::vector<float> p, dp;
        for (int64_t t = t0; t < t1; ++t) {
            const int64_t s = t / n_kv_heads, kvh = t % n_kv_heads;
            const float* kbase = k_cache + s * seq_stride + kvh * head_dim;
            const float* vbase = v_cache + s * seq_stride + kvh * head_dim;
            float* dkbase = dk_cache + s * seq_stride + kvh * head_dim;
            float* dvbase = dv_cache + s * seq_stride + kvh * head_dim;
            for (int64_t r = 0; r < n_rows; ++r) {
                if (seq[r] != s) continue;
                const int64_t lo = first_pos ? first_pos[r] : 0, hi = pos[r];
                p.resize(size_t(hi - lo + 1));
                dp.resize(p.size());
                for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
                    const float* qh = q + (r * n_heads + h) * head_dim;
                    const float* g = dout + (r * n_heads + h) * head_dim;
                    float* dqh = dq + (r * n_heads + h) * head_dim;
                    // Recompute the softmax row exactly as the forward did.
                    attention_probs(p.data(), qh, kbase + lo * kv_dim, kv_dim, hi - lo + 1, head_dim, scale);
                    // dp_j = g·v_j;  ds_j = p_j·(dp_j - Σ_i p_i·dp_i);  dv_j += p_j·g.
                    float pdp = 0;
                    for (int64_t j = lo; j <= hi; ++j) {
                        const float d = kt.dot(g, vbase + j * kv_dim, head_dim);
                        dp[j - lo] = d;
                        pdp += p[j - lo] * d;
                        kt.axpy(dvbase + j * kv_dim, p[j - lo], g, head_dim);
                    }
                    for (int64_t i = 0; i < head_dim; ++i) dqh[i] = 0;
                    for (int64_t j = lo; j <= hi; ++j) {
                        const float ds = p[j - lo] * (dp[j - lo] - pdp) * scale;
                        kt.axpy(dqh, ds, kbase + j * kv_dim, head_dim);
                        kt.axpy(dkbase + j * kv_dim, ds, qh, head_dim);
                    }
                }
            }
        }
    });
}

void linear_backward(float* dx, const float* dy, const void* w, int32_t wtype, int64_t n, int64_t k, int64_t m) {
    matmul_transposed(dx, w, wtype, dy, n, k, m);
}

namespace {
// The max of a row of logits and Σ exp(l - max): float exponentials (each within an ulp)
// summed in double; with `exps` the exponentials are kept there.
double max_and_exp_sum(const float* l, int64_t n, float* max_out, float* exps) {
    float mx = l[0];
    for (int64_t i = 1; i < n; ++i) mx = l[i] > mx ? l[i] : mx;
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
        const float e = std::exp(l[i] - mx);
        if (exps != nullptr) exps[i] = e;
        sum += e;
    }
    *max_out = mx;
    return sum;
}
}  // namespace

int64_t crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int64_t n_rows,
                             int64_t n_vocab) {
    int64_t counted = 0;
    for (int64_t r = 0; r < n_rows; ++r) {
        const int32_t t = targets[r];
        if (t == kIgnoreIndex) {
            losses[r] = 0;
            continue;
        }
        SL4J_CHECK_ARG(t >= 0 && t < n_vocab, "target %d at row %lld is outside the vocabulary [0, %lld) and is not "
                       "the ignore index -100", t, (long long)r, (long long)n_vocab);
        ++counted;
    }
    parallel_for(n_rows, 4, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            if (targets[r] == kIgnoreIndex) continue;
            const float* l = logits + r * n_vocab;
            float mx;
            const double sum = max_and_exp_sum(l, n_vocab, &mx, nullptr);
            losses[r] = crossentropy_loss(sum, mx, l[targets[r]]);
        }
    });
    return counted;
}

// One pass after the max: Σ exp(l - max) (the same float exponentials, summed in the same order,
// as the cross-entropy's) and Σ exp(l - max)·(l - max), both in double.
void entropy_forward(float* out, const float* logits, const int32_t* targets, int64_t n_rows, int64_t n_vocab) {
    parallel_for(n_rows, 4, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            if (targets != nullptr && targets[r] == kIgnoreIndex) {
                out[r] = 0;
                continue;
            }
            const float* l = logits + r * n_vocab;
            float mx = l[0];
            for (int64_t i = 1; i < n_vocab; ++i) mx = l[i] > mx ? l[i] : mx;
            double sum = 0, weighted = 0;
            for (int64_t i = 0; i < n_vocab; ++i) {
                const float d = l[i] - mx, e = std::exp(d);
                sum += e;
                weighted += entropy_term(e, d);
            }
            out[r] = softmax_entropy(sum, weighted);
        }
    });
}

void kl_forward(float* out, const float* logits_p, const float* logits_q, int64_t n_rows, int64_t n_vocab) {
    parallel_for(n_rows, 4, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float *a = logits_p + r * n_vocab, *b = logits_q + r * n_vocab;
            float ma = a[0], mb = b[0];
            for (int64_t i = 1; i < n_vocab; ++i) {
                ma = a[i] > ma ? a[i] : ma;
                mb = b[i] > mb ? b[i] : mb;
            }
            double sa = 0, sb = 0, u = 0;
            for (int64_t i = 0; i < n_vocab; ++i) {
                const float da = a[i] - ma, db = b[i] - mb, ea = std::exp(da);
                sa += ea;
                sb += std::exp(db);
                u += kl_term(ea, da, db);
            }
            out[r] = softmax_kl(sa, sb, u);
        }
    });
}

void crossentropy_backward(float* dlogits, const float* logits, const int32_t* targets, const float* dlosses,
                           int64_t n_rows, int64_t n_vocab) {
    parallel_for(n_rows, 4, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float* l = logits + r * n_vocab;
            float* d = dlogits + r * n_vocab;
            if (targets[r] == kIgnoreIndex) {
                for (int64_t i = 0; i < n_vocab; ++i) d[i] = 0;
                continue;
            }
            float mx;
            const double sum = max_and_exp_sum(l, n_vocab, &mx, d);  // the forward's sum; exponentials kept in d
            const float inv = float(1.0 / sum), g = dlosses[r];
            for (int64_t i = 0; i < n_vocab; ++i) d[i] = g * d[i] * inv;
            d[targets[r]] -= g;
        }
    });
}

}  // namespace sl4j::cpu
