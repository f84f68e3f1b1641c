#include "cpu/ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "core/kernel_math.h"
#include "core/types.h"
#include "cpu/kernels.h"
#include "cpu/threadpool.h"
#include "quant/quant.h"

namespace sl4j::cpu {

void embedding_forward(float* out, const int32_t* tokens, const void* table, int32_t type, int64_t n_rows,
                       int64_t dim, int64_t n_vocab) {
    const int64_t row_bytes = type_row_bytes(type, dim);
    for (int64_t r = 0; r < n_rows; ++r) {
        int32_t t = tokens[r];
        if (t < 0 || t >= n_vocab)
            SL4J_FAIL(SL4J_ERR_INVALID_ARGUMENT, "token id %d at position %lld is outside the vocabulary [0, %lld)", t,
                      (long long)r, (long long)n_vocab);
    }
    parallel_for(n_rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(dim, 1)), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r)
            dequantize_row(type, static_cast<const uint8_t*>(table) + tokens[r] * row_bytes, out + r * dim, dim);
    });
}

void rmsnorm_forward(float* out, float* inv_rms, const float* x, const float* w, int64_t n_rows, int64_t dim,
                     float eps, bool ggml_rounding) {
    parallel_for(n_rows, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float* xr = x + r * dim;
            float* o = out + r * dim;
            double ss = 0;
            if (ggml_rounding) {  // float squares, as ggml's rms_norm; double ones where a float square overflows
                for (int64_t i = 0; i < dim; ++i) ss += double(xr[i] * xr[i]);
            }
            if (!ggml_rounding || !std::isfinite(ss)) {
                ss = 0;
                for (int64_t i = 0; i < dim; ++i) ss += double(xr[i]) * xr[i];
            }
            const float s = ggml_rounding ? rmsnorm_inv_rms_ggml(ss, dim, eps) : rmsnorm_inv_rms(ss, dim, eps);
            if (inv_rms) inv_rms[r] = s;
            for (int64_t i = 0; i < dim; ++i) o[i] = rmsnorm_elem(xr[i], s, w[i]);
        }
    });
}

void rope_cache_forward(float* cs, const int64_t* pos, int64_t n_rows, int64_t n_rot, double base,
                        double linear_factor, const float* freq_factors) {
    const int64_t half = n_rot / 2;
    parallel_for(n_rows, 8, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            for (int64_t i = 0; i < half; ++i) {
                const double theta =
                    rope_theta(pos[r], i, n_rot, base, linear_factor, freq_factors ? freq_factors[i] : 1.f);
                cs[r * n_rot + 2 * i] = float(std::cos(theta));
                cs[r * n_rot + 2 * i + 1] = float(std::sin(theta));
            }
        }
    });
}

void rope_rotate(float* x, const float* cs, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t n_rot,
                 float sin_sign) {
    parallel_for(n_rows, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float* c = cs + r * n_rot;
            for (int64_t h = 0; h < n_heads; ++h) {
                float* v = x + (r * n_heads + h) * head_dim;
                for (int64_t i = 0; i < n_rot; i += 2) rope_rotate_pair(v + i, v + i + 1, c[i], sin_sign * c[i + 1]);
            }
        }
    });
}

void rope_forward(float* x, const float* cs, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t n_rot) {
    rope_rotate(x, cs, n_rows, n_heads, head_dim, n_rot, 1.f);
}

// exact: the scalar level, which runs swiglu_elem unchanged; fast: the level's vector exponential.
void swiglu_forward(float* out, const float* gate, const float* up, int64_t n, bool fast) {
    const KernelTable& kt = fast ? kernels_for(simd()) : kernels_scalar();
    parallel_for(n, 4096, [&](int64_t i0, int64_t i1) { kt.swiglu_fast(out + i0, gate + i0, up + i0, i1 - i0); });
}

void copy_rows_f16(uint16_t* dst, const int64_t* offsets, const float* src, int64_t n_rows, int64_t row_len) {
    const KernelTable& kt = kernels_for(simd());
    parallel_for(n_rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(row_len, 1)), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) kt.f16_encode(src + r * row_len, dst + offsets[r], row_len);
    });
}

void residual_forward(float* x, const float* y, int64_t n) {
    parallel_for(n, 16384, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) x[i] += y[i];
    });
}

void attention_probs(float* p, const float* q, const float* k, int64_t kv_dim, int64_t count, int64_t head_dim,
                     float scale) {
    kernels_for(simd()).dot_rows(p, q, k, kv_dim, count, head_dim);
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < count; ++j) {
        p[j] *= scale;
        mx = p[j] > mx ? p[j] : mx;
    }
    float sum = 0;
    for (int64_t j = 0; j < count; ++j) sum += p[j] = std::exp(p[j] - mx);
    const float inv = 1.f / sum;
    for (int64_t j = 0; j < count; ++j) p[j] *= inv;
}

namespace {

// Keys and values of F32 caches are read in place. Those of F16 caches are decoded into the
// task's scratch, once per run of tasks on one (sequence, kv head): tasks go head-major (all
// rows of head 0, then head 1, ...), so the rows of a prefill reuse the keys their predecessors
// decoded and decode only the positions past them. The same kernels then run on the same numbers.
template <typename T>
void attention_any(float* out, const float* q, const T* k_cache, const T* v_cache, const int32_t* seq,
                   const int64_t* pos, const int64_t* first_pos, int64_t n_rows, int64_t n_heads, int64_t n_kv_heads,
                   int64_t head_dim, int64_t seq_stride) {
    const int64_t kv_dim = n_kv_heads * head_dim;
    const int64_t group = n_heads / n_kv_heads;
    const float scale = float(1.0 / std::sqrt(double(head_dim)));
    const KernelTable& kt = kernels_for(simd());
    parallel_for(n_rows * n_heads, 1, [&](int64_t t0, int64_t t1) {
        thread_local std::vector<float> scores, kdec, vdec;
        int64_t d_seq = -1, d_kvh = -1, d_lo = 0, d_end = 0;  // kdec / vdec hold positions [d_lo, d_end)
        for (int64_t t = t0; t < t1; ++t) {
            const int64_t h = t / n_rows, r = t % n_rows, kvh = h / group;
            const int64_t lo = first_pos ? first_pos[r] : 0, hi = pos[r], count = hi - lo + 1;
            const float* qh = q + (r * n_heads + h) * head_dim;
            const T* kbase = k_cache + seq[r] * seq_stride + kvh * head_dim;
            const T* vbase = v_cache + seq[r] * seq_stride + kvh * head_dim;
            const float *k, *v;
            int64_t stride;
            if constexpr (std::is_same_v<T, float>) {
                k = kbase + lo * kv_dim;
                v = vbase + lo * kv_dim;
                stride = kv_dim;
            } else {
                if (seq[r] != d_seq || kvh != d_kvh || lo < d_lo) {
                    d_seq = seq[r], d_kvh = kvh, d_lo = d_end = lo;
                }
                if (hi >= d_end) {
                    const size_t need = static_cast<size_t>((hi + 1 - d_lo) * head_dim);
                    if (kdec.size() < need) kdec.resize(need), vdec.resize(need);
                    for (int64_t j = d_end; j <= hi; ++j) {
                        kt.dequant(SL4J_TYPE_F16, kbase + j * kv_dim, kdec.data() + (j - d_lo) * head_dim, head_dim);
                        kt.dequant(SL4J_TYPE_F16, vbase + j * kv_dim, vdec.data() + (j - d_lo) * head_dim, head_dim);
                    }
                    d_end = hi + 1;
                }
                k = kdec.data() + (lo - d_lo) * head_dim;
                v = vdec.data() + (lo - d_lo) * head_dim;
                stride = head_dim;
            }
            scores.resize(static_cast<size_t>(count));
            attention_probs(scores.data(), qh, k, stride, count, head_dim, scale);
            float* o = out + (r * n_heads + h) * head_dim;
            for (int64_t i = 0; i < head_dim; ++i) o[i] = 0;
            kt.axpy_rows(o, scores.data(), v, stride, count, head_dim);
        }
    });
}

}  // namespace

void attention_forward(float* out, const float* q, const float* k_cache, const float* v_cache, const int32_t* seq,
                       const int64_t* pos, const int64_t* first_pos, int64_t n_rows, int64_t n_heads,
                       int64_t n_kv_heads, int64_t head_dim, int64_t seq_stride) {
    attention_any(out, q, k_cache, v_cache, seq, pos, first_pos, n_rows, n_heads, n_kv_heads, head_dim, seq_stride);
}

void attention_forward_f16(float* out, const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
                           const int32_t* seq, const int64_t* pos, const int64_t* first_pos, int64_t n_rows,
                           int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t seq_stride) {
    attention_any(out, q, k_cache, v_cache, seq, pos, first_pos, n_rows, n_heads, n_kv_heads, head_dim, seq_stride);
}

float log_softmax_at(const float* logits, int64_t n, int32_t target) {
    float mx = logits[0];
    for (int64_t i = 1; i < n; ++i) mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += std::exp(double(logits[i] - mx));
    return float(double(logits[target] - mx) - std::log(sum));
}

}  // namespace sl4j::cpu
