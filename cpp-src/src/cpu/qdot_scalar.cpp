// Activation quantisation and the scalar reference of the integer dot products:
// each block's integer sums written out plainly, then scaled as the SIMD levels do.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/types.h"
#include "cpu/qdot.h"
#include "cpu/repack.h"
#include "cpu/simd.h"
#include "quant/blocks.h"
#include "quant/fp16.h"
#include "stackllama4j.h"

namespace sl4j::cpu {

QAct qact_for(int32_t wtype) {
    switch (wtype) {
        case SL4J_TYPE_Q4_0:
        case SL4J_TYPE_Q8_0: return QAct::kQ8_32;
        case SL4J_TYPE_Q4_K:
        case SL4J_TYPE_Q5_K:
        case SL4J_TYPE_Q6_K: return QAct::kQ8_K;
        default: return QAct::kNone;
    }
}

int64_t qact_row_bytes(QAct a, int64_t k) {
    if (a == QAct::kQ8_32) return k / QK8_0 * (int64_t)sizeof(block_q8_a32);
    if (a == QAct::kQ8_K) return k / QK_K * (int64_t)sizeof(block_q8_K);
    return 0;
}

namespace {
// d = max|x| / 127; q = x / d rounded to nearest, ties to even. Written so that the compiler
// vectorises it at the baseline ISA: a plain max, and rounding by adding and subtracting 1.5 * 2^23
// (exact round-to-nearest-even for |v| < 2^22; here |v| <= 127).
float quantize_block(const float* x, int n, int8_t* q) {
    float amax = 0.0f;
    bool finite = true;
    for (int j = 0; j < n; ++j) {
        const float a = std::fabs(x[j]);
        amax = a > amax ? a : amax;
        finite &= a <= FLT_MAX;  // false for NaN and for an infinity
    }
    if (!finite) {  // a NaN scale, so every product over this block is NaN, as the float one would be
        std::memset(q, 0, (size_t)n);
        return std::numeric_limits<float>::quiet_NaN();
    }
    const float d = amax / 127.0f;
    const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    constexpr float kRound = 12582912.0f;  // 1.5 * 2^23
    for (int j = 0; j < n; ++j) {
        float v = (x[j] * id + kRound) - kRound;
        v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
        q[j] = (int8_t)(int)v;
    }
    return d;
}
}  // namespace

void quantize_act_row(QAct a, const float* x, void* dst, int64_t k) {
    if (a == QAct::kQ8_32) {
        block_q8_a32* y = static_cast<block_q8_a32*>(dst);
        for (int64_t b = 0; b < k / QK8_0; ++b) {
            // q is rounded against the float scale, but the scale kept is its FP16 rounding: ggml's
            // block_q8_0 stores d as FP16, and llama.cpp's products multiply by that value.
            y[b].d = half_to_f32(f32_to_half(quantize_block(x + b * QK8_0, QK8_0, y[b].qs)));
            int32_t s = 0;
            for (int j = 0; j < QK8_0; ++j) s += y[b].qs[j];
            y[b].sum = s;
        }
    } else if (a == QAct::kQ8_K) {
        block_q8_K* y = static_cast<block_q8_K*>(dst);
        for (int64_t b = 0; b < k / QK_K; ++b) {
            y[b].d = quantize_block(x + b * QK_K, QK_K, y[b].qs);
            for (int g = 0; g < QK_K / 16; ++g) {
                int s = 0;
                for (int j = 0; j < 16; ++j) s += y[b].qs[16 * g + j];
                y[b].bsums[g] = (int16_t)s;
            }
        }
    }
}

namespace {

// Each returns sum_j W[j] * X[j] for one weight row and one activation row.
float dot_q4_0(const block_q4_0* w, const block_q8_a32* x, int64_t nb) {
    float s = 0.0f;
    for (int64_t b = 0; b < nb; ++b) {
        int32_t isum = 0;
        for (int j = 0; j < QK4_0 / 2; ++j) {
            isum += (w[b].qs[j] & 0xF) * x[b].qs[j];
            isum += (w[b].qs[j] >> 4) * x[b].qs[j + QK4_0 / 2];
        }
        s += half_to_f32(w[b].d) * x[b].d * (float)(isum - 8 * x[b].sum);
    }
    return s;
}

float dot_q8_0(const block_q8_0* w, const block_q8_a32* x, int64_t nb) {
    float s = 0.0f;
    for (int64_t b = 0; b < nb; ++b) {
        int32_t isum = 0;
        for (int j = 0; j < QK8_0; ++j) isum += w[b].qs[j] * x[b].qs[j];
        s += half_to_f32(w[b].d) * x[b].d * (float)isum;
    }
    return s;
}

// Q4_K / Q5_K: sum_j d*sc_j * (q . x)_j - dmin * sum_j m_j * (sum of x over sub-block j).
template <bool kFive>
float dot_q45_K(const void* wv, const block_q8_K* x, int64_t nb) {
    float s = 0.0f;
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* scales;
        const uint8_t* qs;
        const uint8_t* qh = nullptr;
        uint16_t d, dmin;
        if (kFive) {
            const block_q5_K& w = static_cast<const block_q5_K*>(wv)[b];
            scales = w.scales, qs = w.qs, qh = w.qh, d = w.d, dmin = w.dmin;
        } else {
            const block_q4_K& w = static_cast<const block_q4_K*>(wv)[b];
            scales = w.scales, qs = w.qs, d = w.d, dmin = w.dmin;
        }
        int32_t isum = 0, msum = 0;
        for (int j = 0; j < 8; ++j) {  // sub-block j: elements 32j..32j+31
            uint8_t sc, m;
            get_scale_min_k4(j, scales, &sc, &m);
            const int c = j / 2, shift = (j % 2) * 4;
            int32_t sub = 0;
            for (int l = 0; l < 32; ++l) {
                int q = (qs[32 * c + l] >> shift) & 0xF;
                if (kFive) q |= ((qh[l] >> j) & 1) << 4;
                sub += q * x[b].qs[32 * j + l];
            }
            isum += sc * sub;
            msum += m * (x[b].bsums[2 * j] + x[b].bsums[2 * j + 1]);
        }
        s += half_to_f32(d) * x[b].d * (float)isum - half_to_f32(dmin) * x[b].d * (float)msum;
    }
    return s;
}

// Q6_K: d * sum_g sc_g * ((q . x)_g - 32 * (sum of x over group g)), groups of 16.
float dot_q6_K(const block_q6_K* w, const block_q8_K* x, int64_t nb) {
    float s = 0.0f;
    for (int64_t b = 0; b < nb; ++b) {
        int32_t isum = 0, osum = 0;
        for (int h = 0; h < 2; ++h) {
            const uint8_t* ql = w[b].ql + 64 * h;
            const uint8_t* qh = w[b].qh + 32 * h;
            for (int e = 0; e < 128; ++e) {  // element 128h + e
                const int l = e % 32, quarter = e / 32;
                const int lo = (quarter % 2 == 0 ? ql[l] : ql[l + 32]);
                const int q = ((quarter < 2 ? lo & 0xF : lo >> 4) | (((qh[l] >> (2 * quarter)) & 3) << 4));
                isum += w[b].scales[8 * h + e / 16] * q * x[b].qs[128 * h + e];
            }
        }
        for (int g = 0; g < 16; ++g) osum += w[b].scales[g] * x[b].bsums[g];
        s += half_to_f32(w[b].d) * x[b].d * (float)(isum - 32 * osum);
    }
    return s;
}

void dot_scalar(int32_t wtype, const void* w, const void* xq, int64_t xstride, int nx, int64_t k, float* out,
                int64_t ldo) {
    for (int i = 0; i < nx; ++i) {
        const void* x = static_cast<const char*>(xq) + i * xstride;
        const auto* x32 = static_cast<const block_q8_a32*>(x);
        const auto* xk = static_cast<const block_q8_K*>(x);
        float r = 0.0f;
        switch (wtype) {
            case SL4J_TYPE_Q4_0: r = dot_q4_0(static_cast<const block_q4_0*>(w), x32, k / QK4_0); break;
            case SL4J_TYPE_Q8_0: r = dot_q8_0(static_cast<const block_q8_0*>(w), x32, k / QK8_0); break;
            case SL4J_TYPE_Q4_K: r = dot_q45_K<false>(w, xk, k / QK_K); break;
            case SL4J_TYPE_Q5_K: r = dot_q45_K<true>(w, xk, k / QK_K); break;
            case SL4J_TYPE_Q6_K: r = dot_q6_K(static_cast<const block_q6_K*>(w), xk, k / QK_K); break;
            default: SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "integer dot product: weight type %d has no integer path", wtype);
        }
        out[i * ldo] = r;
    }
}

void rows_scalar(int32_t wtype, const void* w, int64_t ws, int nrows, const void* xq, int64_t k, float* out) {
    for (int r = 0; r < nrows; ++r) dot_scalar(wtype, static_cast<const char*>(w) + r * ws, xq, 0, 1, k, out + r, 1);
}

// Repacked weights: each row taken back to its stored layout (repack_unpack_row), then `dot_scalar`
// (the scalar level's prefill is its dot too): the reference the SIMD levels' repacked kernels are
// tested against, bit for bit the scalar kernels on the stored rows.
void packed_rows_scalar(int32_t wtype, const void* packed, int64_t m, int64_t k, int64_t g0, int64_t g1,
                        const void* xq, int64_t xstride, int64_t n, float* out, int64_t ldo) {
    thread_local std::vector<uint8_t> row;
    row.resize((size_t)type_row_bytes(wtype, k));
    for (int64_t r = g0 * kRepackRows; r < std::min(m, g1 * kRepackRows); ++r) {
        repack_unpack_row(wtype, packed, k, r, row.data());
        for (int64_t i = 0; i < n; ++i)
            dot_scalar(wtype, row.data(), static_cast<const char*>(xq) + i * xstride, 0, 1, k, out + i * ldo + r, 1);
    }
}
void packed_gemv_scalar(int32_t wtype, const void* packed, int64_t m, int64_t k, int64_t g0, int64_t g1,
                        const void* xq, int64_t xstride, int nx, float* out, int64_t ldo) {
    packed_rows_scalar(wtype, packed, m, k, g0, g1, xq, xstride, nx, out, ldo);
}

const QPacked kScalarPacked{repack_supported, packed_gemv_scalar, packed_rows_scalar};
const QKernelTable kScalar{"scalar", dot_scalar, rows_scalar, nullptr, quantize_act_row, &kScalarPacked};

}  // namespace

const QKernelTable& qkernels_scalar() { return kScalar; }

bool qkernels_supported(const QKernelTable& t) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (&t == &qkernels_avx2()) return simd_detected() >= Simd::kAvx2;
    if (&t == &qkernels_avxvnni()) return simd_detected() >= Simd::kAvx2 && __builtin_cpu_supports("avxvnni");
    if (&t == &qkernels_avx512vnni()) return simd_detected() >= Simd::kAvx512 && __builtin_cpu_supports("avx512vnni");
#endif
    return &t == &kScalar;
}

const QKernelTable& qkernels() {
    static const bool vnni512 = qkernels_supported(qkernels_avx512vnni());
    static const bool vnni256 = qkernels_supported(qkernels_avxvnni());
    const Simd s = simd();
    if (s >= Simd::kAvx512 && vnni512) return qkernels_avx512vnni();
    if (s >= Simd::kAvx2 && vnni256) return qkernels_avxvnni();
    if (s >= Simd::kAvx2) return qkernels_avx2();
    return kScalar;
}

}  // namespace sl4j::cpu
