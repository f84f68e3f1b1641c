#include "quant/quant_k.h"

#include <cmath>

#include "quant/fp16.h"

namespace sl4j {

namespace {

// Round half away from zero, like ggml's nearest_int for the magnitudes we use.
inline int nearest(float v) { return (int)std::lround(v); }

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Fit x ≈ scale * L + min (L in 0..nmax, min <= 0) minimising the weighted
// squared error: start from the min/max grid, then try nstep stretched grids and
// refit scale and min by weighted least squares for each. Returns scale; *neg_min = -min.
float fit_scale_min(const float* x, const float* w, int n, int nmax, uint8_t* L, float* neg_min) {
    float lo = x[0], hi = x[0], sum_w = w[0], sum_x = w[0] * x[0];
    for (int i = 1; i < n; ++i) {
        lo = std::fmin(lo, x[i]);
        hi = std::fmax(hi, x[i]);
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (lo > 0) lo = 0;  // a positive min would waste the zero code; keep min <= 0
    if (hi == lo) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        *neg_min = -lo;
        return 0.0f;
    }
    float iscale = nmax / (hi - lo);
    float scale = 1.0f / iscale;
    float best = 0.0f;
    for (int i = 0; i < n; ++i) {
        L[i] = (uint8_t)clampi(nearest(iscale * (x[i] - lo)), 0, nmax);
        const float diff = scale * L[i] + lo - x[i];
        best += w[i] * diff * diff;
    }
    uint8_t trial[QK_K];
    for (int step = 0; step <= 20; ++step) {
        iscale = (-1.0f + 0.1f * step + nmax) / (hi - lo);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            const int l = clampi(nearest(iscale * (x[i] - lo)), 0, nmax);
            trial[i] = (uint8_t)l;
            sum_l += w[i] * l;
            sum_l2 += w[i] * l * l;
            sum_xl += w[i] * l * x[i];
        }
        const float det = sum_w * sum_l2 - sum_l * sum_l;
        if (det <= 0) continue;
        float s = (sum_w * sum_xl - sum_x * sum_l) / det;
        float m = (sum_l2 * sum_x - sum_l * sum_xl) / det;
        if (m > 0) {
            m = 0;
            s = sum_xl / sum_l2;
        }
        float err = 0;
        for (int i = 0; i < n; ++i) {
            const float diff = s * trial[i] + m - x[i];
            err += w[i] * diff * diff;
        }
        if (err < best) {
            best = err;
            scale = s;
            lo = m;
            for (int i = 0; i < n; ++i) L[i] = trial[i];
        }
    }
    *neg_min = -lo;
    return scale;
}

// Symmetric fit x ≈ scale * (L - nmax), L in 0..2*nmax-1, weights x² (ggml's
// rmse_type 1): try iscale = -(nmax + 0.1 s) / max for s in -9..9 and keep the
// least-squares scale with the best explained energy sumlx² / suml2.
float fit_scale_sym(const float* x, int n, int nmax, uint8_t* L) {
    float amax = 0, max = 0;
    for (int i = 0; i < n; ++i) {
        if (std::fabs(x[i]) > amax) {
            amax = std::fabs(x[i]);
            max = x[i];
        }
    }
    if (amax < 1e-30f) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.0f;
    }
    float best_scale = 0, best = -1;
    uint8_t trial[QK_K];
    for (int s = -9; s <= 9; ++s) {
        const float iscale = -(nmax + 0.1f * s) / max;
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < n; ++i) {
            const int l = clampi(nearest(iscale * x[i]), -nmax, nmax - 1);
            trial[i] = (uint8_t)(l + nmax);
            const float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && (best < 0 || sumlx * sumlx > best * suml2)) {
            best_scale = sumlx / suml2;
            best = best_scale * sumlx;
            for (int i = 0; i < n; ++i) L[i] = trial[i];
        }
    }
    return best_scale;
}

}  // namespace

void quantize_q4_K(const float* x, block_q4_K* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, x += QK_K) {
        uint8_t L[QK_K];
        float w[32], scales[8], mins[8];
        float sum_x2 = 0;
        for (int i = 0; i < QK_K; ++i) sum_x2 += x[i] * x[i];
        const float av_x = std::sqrt(sum_x2 / QK_K);
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < 8; ++j) {
            for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(x[32 * j + l]);
            scales[j] = fit_scale_min(x + 32 * j, w, 32, 15, L + 32 * j, &mins[j]);
            max_scale = std::fmax(max_scale, scales[j]);
            max_min = std::fmax(max_min, mins[j]);
        }
        const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
        const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
        uint8_t ls[8], lm[8];
        for (int j = 0; j < 8; ++j) {
            ls[j] = (uint8_t)clampi(nearest(inv_scale * scales[j]), 0, 63);
            lm[j] = (uint8_t)clampi(nearest(inv_min * mins[j]), 0, 63);
        }
        set_scales_mins_k4(y[b].scales, ls, lm);
        y[b].d = f32_to_half(max_scale / 63.0f);
        y[b].dmin = f32_to_half(max_min / 63.0f);
        // requantize against the scales as they will be decoded
        const float d = half_to_f32(y[b].d), dmin = half_to_f32(y[b].dmin);
        for (int j = 0; j < 8; ++j) {
            const float dj = d * ls[j];
            if (dj == 0.0f) continue;
            const float mj = dmin * lm[j];
            for (int l = 0; l < 32; ++l) L[32 * j + l] = (uint8_t)clampi(nearest((x[32 * j + l] + mj) / dj), 0, 15);
        }
        for (int c = 0; c < 4; ++c)
            for (int l = 0; l < 32; ++l)
                y[b].qs[32 * c + l] = (uint8_t)(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
    }
}

void quantize_q6_K(const float* x, block_q6_K* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, x += QK_K) {
        uint8_t L[QK_K];
        float scales[16];
        float amax = 0, max_scale = 0;
        for (int s = 0; s < 16; ++s) {
            scales[s] = fit_scale_sym(x + 16 * s, 16, 32, L + 16 * s);
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
        for (int s = 0; s < 16; ++s) y[b].scales[s] = (int8_t)clampi(nearest(iscale * scales[s]), -128, 127);
        const float d = half_to_f32(y[b].d);
        for (int s = 0; s < 16; ++s) {
            const float ds = d * y[b].scales[s];
            if (ds == 0.0f) continue;
            for (int l = 0; l < 16; ++l) L[16 * s + l] = (uint8_t)(clampi(nearest(x[16 * s + l] / ds), -32, 31) + 32);
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
