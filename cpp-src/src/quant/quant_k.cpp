#include "quant/quant_k.h"

#include <algorithm>
#include <cmath>

#include "quant/fp16.h"

namespace sl4j {

namespace {

// Helpers are inlined into each target clone of the encoders (see SL4J_QUANT_CLONES).
#define SL4J_QK_INLINE inline __attribute__((always_inline))

// Round to nearest, ties to even (ggml's nearest_int), for |v| < 2^22: adding 1.5·2^23 leaves no
// fraction bits, so the FPU's rounding does the work. Unlike lround it vectorizes.
SL4J_QK_INLINE float round_code(float v) { return (v + 12582912.0f) - 12582912.0f; }

SL4J_QK_INLINE float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Eight independent partial sums per quantity, reduced in a fixed order: the loops vectorize
// (SSE or AVX2, see the target clones below) and every build gives the same bits.
constexpr int kLanes = 8;

SL4J_QK_INLINE float reduce(const float* a) {
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

// For codes l = min(round(iscale·xs), nmax) of n (a multiple of 8) elements xs = x - lo >= 0
// (iscale > 0): Σw·l, Σw·l², Σw·l·x (wx = w·x).
SL4J_QK_INLINE void code_sums(const float* xs, const float* w, const float* wx, int n, float iscale, float nmax,
                              float* s_l, float* s_l2, float* s_xl) {
    float al[kLanes] = {0}, al2[kLanes] = {0}, axl[kLanes] = {0};
    for (int i = 0; i < n; i += kLanes)
        for (int j = 0; j < kLanes; ++j) {
            const float l = std::min(round_code(iscale * xs[i + j]), nmax);
            const float wl = w[i + j] * l;
            al[j] += wl;
            al2[j] += wl * l;
            axl[j] += wx[i + j] * l;
        }
    *s_l = reduce(al);
    *s_l2 = reduce(al2);
    *s_xl = reduce(axl);
}

// Fit x ≈ scale · L + min (L in 0..nmax, min <= 0) minimising the weighted squared error
// (ggml's make_qkx2_quants): start from the min/max grid, then try nstep + 1 stretched grids
// iscale = (nmax + rmin + 0.1·step) / (max - min) and refit scale and min by weighted least
// squares for each. The error of a candidate is computed from the sums in closed form,
// Σw(s·l + m - x)² = s²Σwl² + 2smΣwl - 2sΣwlx + m²Σw - 2mΣwx + Σwx². Returns scale; *neg_min = -min.
// The codes themselves are not returned: callers requantize against the encoded scales.
SL4J_QK_INLINE float fit_scale_min(const float* x, const float* w, int n, int nmax, float rmin, int nstep, float* neg_min) {
    float lo = x[0], hi = x[0];
    float aw[kLanes] = {0}, ax[kLanes] = {0}, ax2[kLanes] = {0};
    for (int i = 0; i < n; i += kLanes)
        for (int j = 0; j < kLanes; ++j) {
            aw[j] += w[i + j];
            ax[j] += w[i + j] * x[i + j];
            ax2[j] += w[i + j] * x[i + j] * x[i + j];
        }
    for (int i = 1; i < n; ++i) {
        lo = std::fmin(lo, x[i]);
        hi = std::fmax(hi, x[i]);
    }
    const double sum_w = reduce(aw), sum_x = reduce(ax), sum_x2 = reduce(ax2);
    if (lo > 0) lo = 0;  // a positive min would waste the zero code; keep min <= 0
    if (hi == lo) {
        *neg_min = -lo;
        return 0.0f;
    }
    auto error = [&](double s, double m, double sl, double sl2, double sxl) {
        return s * s * sl2 + 2 * s * m * sl - 2 * s * sxl + m * m * sum_w - 2 * m * sum_x + sum_x2;
    };
    const float fnmax = (float)nmax;
    float xs[QK_K], wx[QK_K];
    for (int i = 0; i < n; ++i) {
        xs[i] = x[i] - lo;
        wx[i] = w[i] * x[i];
    }
    float iscale = nmax / (hi - lo);
    float scale = 1.0f / iscale, min = lo;
    float sl, sl2, sxl;
    code_sums(xs, w, wx, n, iscale, fnmax, &sl, &sl2, &sxl);
    double best = error(scale, min, sl, sl2, sxl);
    for (int step = 0; step <= nstep; ++step) {
        iscale = (rmin + 0.1f * step + nmax) / (hi - lo);
        code_sums(xs, w, wx, n, iscale, fnmax, &sl, &sl2, &sxl);
        const double det = sum_w * sl2 - (double)sl * sl;
        if (det <= 0) continue;
        double s = (sum_w * sxl - sum_x * sl) / det;
        double m = (sl2 * sum_x - sl * (double)sxl) / det;
        if (m > 0) {
            m = 0;
            s = sxl / (double)sl2;
        }
        const double err = error(s, m, sl, sl2, sxl);
        if (err < best) {
            best = err;
            scale = (float)s;
            min = (float)m;
        }
    }
    *neg_min = -min;
    return scale;
}

// Symmetric fit x ≈ scale · (L - nmax), L in 0..2·nmax-1, weights x² (ggml's rmse_type 1): try
// iscale = -(nmax + 0.1 s) / max for s in -9..9 and keep the least-squares scale with the best
// explained energy sumlx² / suml2. n is a multiple of 8. Codes are not returned (see above).
SL4J_QK_INLINE float fit_scale_sym(const float* x, int n, int nmax) {
    float amax = 0, max = 0;
    for (int i = 0; i < n; ++i) {
        if (std::fabs(x[i]) > amax) {
            amax = std::fabs(x[i]);
            max = x[i];
        }
    }
    if (amax < 1e-30f) return 0.0f;
    float best_scale = 0, best = -1;
    for (int s = -9; s <= 9; ++s) {
        const float iscale = -(nmax + 0.1f * s) / max;
        float alx[kLanes] = {0}, al2[kLanes] = {0};
        for (int i = 0; i < n; i += kLanes)
            for (int j = 0; j < kLanes; ++j) {
                const float l = clampf(round_code(iscale * x[i + j]), (float)-nmax, (float)(nmax - 1));
                const float w = x[i + j] * x[i + j];
                alx[j] += w * x[i + j] * l;
                al2[j] += w * l * l;
            }
        const float sumlx = reduce(alx), suml2 = reduce(al2);
        if (suml2 > 0 && (best < 0 || sumlx * sumlx > best * suml2)) {
            best_scale = sumlx / suml2;
            best = best_scale * sumlx;
        }
    }
    return best_scale;
}

// Scales and mins of the eight 32-element sub-blocks of a q4_K / q5_K super-block, encoded as
// 6-bit codes against half-precision super-scales d and dmin (codes into ls / lm).
SL4J_QK_INLINE void fit_k_scales(const float* x, int nmax, float rmin, int nstep, uint8_t* ls, uint8_t* lm, uint16_t* d,
                  uint16_t* dmin) {
    float w[32], scales[8], mins[8];
    float sum_x2 = 0;
    for (int i = 0; i < QK_K; ++i) sum_x2 += x[i] * x[i];
    const float av_x = std::sqrt(sum_x2 / QK_K);
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; ++j) {
        for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(x[32 * j + l]);
        scales[j] = fit_scale_min(x + 32 * j, w, 32, nmax, rmin, nstep, &mins[j]);
        max_scale = std::fmax(max_scale, scales[j]);
        max_min = std::fmax(max_min, mins[j]);
    }
    const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    for (int j = 0; j < 8; ++j) {
        ls[j] = (uint8_t)clampf(round_code(inv_scale * scales[j]), 0, 63);
        lm[j] = (uint8_t)clampf(round_code(inv_min * mins[j]), 0, 63);
    }
    *d = f32_to_half(max_scale / 63.0f);
    *dmin = f32_to_half(max_min / 63.0f);
}

// Codes of a q4_K / q5_K super-block against its scales as they will be decoded; a sub-block
// whose scale decodes to 0 gets code 0 (it decodes to -min whatever the code).
SL4J_QK_INLINE void k_codes(const float* x, int nmax, const uint8_t* ls, const uint8_t* lm, uint16_t d16, uint16_t dmin16,
             uint8_t* L) {
    const float d = half_to_f32(d16), dmin = half_to_f32(dmin16);
    for (int j = 0; j < 8; ++j) {
        const float dj = d * ls[j];
        const float mj = dmin * lm[j];
        for (int l = 0; l < 32; ++l)
            L[32 * j + l] = dj == 0.0f ? 0 : (uint8_t)clampf(round_code((x[32 * j + l] + mj) / dj), 0, (float)nmax);
    }
}

// Scales (packed into `scales`), super-scales and codes of one q4_K / q5_K super-block.
SL4J_QK_INLINE void encode_k_block(const float* x, int nmax, float rmin, int nstep, uint8_t* scales, uint16_t* d,
                                   uint16_t* dmin, uint8_t* L) {
    uint8_t ls[8], lm[8];
    fit_k_scales(x, nmax, rmin, nstep, ls, lm, d, dmin);
    set_scales_mins_k4(scales, ls, lm);
    k_codes(x, nmax, ls, lm, *d, *dmin, L);
}

}  // namespace

// The encoders are compiled twice, for AVX2 and baseline x86-64, and picked when the library
// loads; neither build contracts multiply-adds, so both give the same bytes.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SL4J_QUANT_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SL4J_QUANT_CLONES
#endif

SL4J_QUANT_CLONES void quantize_q4_K(const float* x, block_q4_K* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, x += QK_K) {
        uint8_t L[QK_K];
        encode_k_block(x, 15, -1.0f, 20, y[b].scales, &y[b].d, &y[b].dmin, L);
        for (int c = 0; c < 4; ++c)
            for (int l = 0; l < 32; ++l)
                y[b].qs[32 * c + l] = (uint8_t)(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
    }
}

// As q4_K with 5-bit codes (ggml: make_qkx2_quants with nmax 31, rmin -0.5, 16 grids).
SL4J_QUANT_CLONES void quantize_q5_K(const float* x, block_q5_K* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, x += QK_K) {
        uint8_t L[QK_K];
        encode_k_block(x, 31, -0.5f, 15, y[b].scales, &y[b].d, &y[b].dmin, L);
        for (int l = 0; l < 32; ++l) y[b].qh[l] = 0;
        for (int c = 0; c < 4; ++c)
            for (int l = 0; l < 32; ++l) {
                const uint8_t lo = L[64 * c + l], hi = L[64 * c + 32 + l];
                y[b].qs[32 * c + l] = (uint8_t)((lo & 0xF) | ((hi & 0xF) << 4));
                y[b].qh[l] |= (uint8_t)(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
            }
    }
}

SL4J_QUANT_CLONES void quantize_q6_K(const float* x, block_q6_K* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, x += QK_K) {
        uint8_t L[QK_K];
        float scales[16];
        float amax = 0, max_scale = 0;
        for (int s = 0; s < 16; ++s) {
            scales[s] = fit_scale_sym(x + 16 * s, 16, 32);
            if (std::fabs(scales[s]) > amax) {
                amax = std::fabs(scales[s]);
                max_scale = scales[s];
            }
        }
        if (amax == 0.0f) {
            for (int i = 0; i < QK_K / 2; ++i) y[b].ql[i] = 0;
            for (int i = 0; i < QK_K / 4; ++i) y[b].qh[i] = 0;
            for (int s = 0; s < 16; ++s) y[b].scales[s] = 0;
            y[b].d = f32_to_half(0.0f);
            continue;
        }
        // the largest sub-scale maps to -128 so the int8 range is fully used
        const float iscale = -128.0f / max_scale;
        y[b].d = f32_to_half(1.0f / iscale);
        for (int s = 0; s < 16; ++s) y[b].scales[s] = (int8_t)clampf(round_code(iscale * scales[s]), -128, 127);
        const float d = half_to_f32(y[b].d);
        for (int s = 0; s < 16; ++s) {
            const float ds = d * y[b].scales[s];
            for (int l = 0; l < 16; ++l)
                L[16 * s + l] = ds == 0.0f ? 32 : (uint8_t)(clampf(round_code(x[16 * s + l] / ds), -32, 31) + 32);
        }
        for (int h = 0; h < 2; ++h) {
            const uint8_t* Lh = L + 128 * h;
            uint8_t* ql = y[b].ql + 64 * h;
            uint8_t* qh = y[b].qh + 32 * h;
            for (int l = 0; l < 32; ++l) {
                ql[l] = (uint8_t)((Lh[l] & 0xF) | ((Lh[l + 64] & 0xF) << 4));
                ql[l + 32] = (uint8_t)((Lh[l + 32] & 0xF) | ((Lh[l + 96] & 0xF) << 4));
                qh[l] = (uint8_t)((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) | ((Lh[l + 96] >> 4) << 6));
            }
        }
    }
}

}  // namespace sl4j
