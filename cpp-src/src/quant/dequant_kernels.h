// Block decoders, header-only so that cpu/ can compile SIMD-targeted copies of
// them (a function with target("avx2") may inline these default-target ones).
// Each decodes nb consecutive blocks into nb * block_size floats.
#pragma once
#include <cstdint>
#include <cstring>

#include "quant/blocks.h"
#include "stackllama4j.h"
#include "quant/fp16.h"

namespace sl4j {

static inline void dequant_f16(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = half_to_f32(x[i]);
}

static inline void dequant_bf16(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = bf16_bits_to_f32(x[i]);
}

static inline void dequant_q8_0(const block_q8_0* x, float* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, y += QK8_0) {
        const float d = half_to_f32(x[b].d);
        for (int j = 0; j < QK8_0; ++j) y[j] = d * (float)x[b].qs[j];
    }
}

static inline void dequant_q4_0(const block_q4_0* x, float* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, y += QK4_0) {
        const float d = half_to_f32(x[b].d);
        for (int j = 0; j < QK4_0 / 2; ++j) {
            y[j] = d * (float)((x[b].qs[j] & 0xF) - 8);
            y[j + QK4_0 / 2] = d * (float)((x[b].qs[j] >> 4) - 8);
        }
    }
}

static inline void dequant_q4_K(const block_q4_K* x, float* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b) {
        const float d = half_to_f32(x[b].d);
        const float dmin = half_to_f32(x[b].dmin);
        const uint8_t* q = x[b].qs;
        for (int c = 0; c < 4; ++c, q += 32, y += 64) {
            uint8_t sc, m;
            get_scale_min_k4(2 * c, x[b].scales, &sc, &m);
            const float d1 = d * sc, m1 = dmin * m;
            get_scale_min_k4(2 * c + 1, x[b].scales, &sc, &m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l) y[l] = d1 * (float)(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) y[l + 32] = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

static inline void dequant_q5_K(const block_q5_K* x, float* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b) {
        const float d = half_to_f32(x[b].d);
        const float dmin = half_to_f32(x[b].dmin);
        const uint8_t* q = x[b].qs;
        const uint8_t* qh = x[b].qh;
        for (int c = 0; c < 4; ++c, q += 32, y += 64) {
            uint8_t sc, m;
            get_scale_min_k4(2 * c, x[b].scales, &sc, &m);
            const float d1 = d * sc, m1 = dmin * m;
            get_scale_min_k4(2 * c + 1, x[b].scales, &sc, &m);
            const float d2 = d * sc, m2 = dmin * m;
            const int s1 = 2 * c, s2 = 2 * c + 1;
            for (int l = 0; l < 32; ++l) y[l] = d1 * (float)((q[l] & 0xF) | (((qh[l] >> s1) & 1) << 4)) - m1;
            for (int l = 0; l < 32; ++l) y[l + 32] = d2 * (float)((q[l] >> 4) | (((qh[l] >> s2) & 1) << 4)) - m2;
        }
    }
}

static inline void dequant_q6_K(const block_q6_K* x, float* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b) {
        const float d = half_to_f32(x[b].d);
        const uint8_t* ql = x[b].ql;
        const uint8_t* qh = x[b].qh;
        const int8_t* sc = x[b].scales;
        for (int h = 0; h < 2; ++h, ql += 64, qh += 32, sc += 8, y += 128) {
            // element l + 32*g of this 128-run: nibble from ql[l] (g even) or ql[l+32]
            // (g odd), low for g < 2; high bits are bits 2g..2g+1 of qh[l]; scale sc[l/16 + 2g]
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * (float)sc[is] * (float)q1;
                y[l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
        }
    }
}

// Decode n elements (a whole number of blocks, checked by the caller).
// Returns false for a type it cannot decode.
static inline bool dequant_row_inline(int32_t type, const void* src, float* dst, int64_t n) {
    switch (type) {
        case SL4J_TYPE_F32: std::memcpy(dst, src, (size_t)n * 4); return true;
        case SL4J_TYPE_F16: dequant_f16((const uint16_t*)src, dst, n); return true;
        case SL4J_TYPE_BF16: dequant_bf16((const uint16_t*)src, dst, n); return true;
        case SL4J_TYPE_Q8_0: dequant_q8_0((const block_q8_0*)src, dst, n / QK8_0); return true;
        case SL4J_TYPE_Q4_0: dequant_q4_0((const block_q4_0*)src, dst, n / QK4_0); return true;
        case SL4J_TYPE_Q4_K: dequant_q4_K((const block_q4_K*)src, dst, n / QK_K); return true;
        case SL4J_TYPE_Q5_K: dequant_q5_K((const block_q5_K*)src, dst, n / QK_K); return true;
        case SL4J_TYPE_Q6_K: dequant_q6_K((const block_q6_K*)src, dst, n / QK_K); return true;
        default: return false;
    }
}

}  // namespace sl4j
