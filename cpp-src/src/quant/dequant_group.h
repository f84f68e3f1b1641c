// The dequantisation formula of every weight type, one 32-element group at a time: group g of a
// row holds elements 32g..32g+31. Every supported type splits into such groups (Q8_0 and Q4_0
// blocks are one group, K-quant super-blocks eight, F16/BF16 32 elements), so a CPU row decoder
// and a GPU thread that owns one group call the same function. Host and device (SL4J_HD).
#pragma once
#include <cstdint>

#include "core/hd.h"
#include "quant/blocks.h"
#include "quant/fp16.h"
#include "stackllama4j.h"

namespace sl4j {

constexpr int kGroup = 32;  // elements per dequantisation group
static_assert(QK8_0 == kGroup && QK4_0 == kGroup && QK_K % kGroup == 0, "groups must tile every block");

SL4J_HD inline void dequant_group_f32(const float* x, float* y) {
    for (int l = 0; l < kGroup; ++l) y[l] = x[l];
}

SL4J_HD inline void dequant_group_f16(const uint16_t* x, float* y) {
    for (int l = 0; l < kGroup; ++l) y[l] = half_to_f32(x[l]);
}

SL4J_HD inline void dequant_group_bf16(const uint16_t* x, float* y) {
    for (int l = 0; l < kGroup; ++l) y[l] = bf16_bits_to_f32(x[l]);
}

// x = d * q, q in -127..127.
SL4J_HD inline void dequant_group_q8_0(const block_q8_0& b, float* y) {
    const float d = half_to_f32(b.d);
    for (int l = 0; l < kGroup; ++l) y[l] = d * (float)b.qs[l];
}

// x = d * (q - 8): low nibbles are elements 0..15, high nibbles 16..31.
SL4J_HD inline void dequant_group_q4_0(const block_q4_0& b, float* y) {
    const float d = half_to_f32(b.d);
    for (int l = 0; l < kGroup / 2; ++l) {
        y[l] = d * (float)((b.qs[l] & 0xF) - 8);
        y[l + kGroup / 2] = d * (float)((b.qs[l] >> 4) - 8);
    }
}

// Sub-block g (0..7): x = d·sc·q - dmin·m; the 32 bytes of chunk g/2 hold it in their low
// nibbles (g even) or high nibbles (g odd).
SL4J_HD inline void dequant_group_q4_K(const block_q4_K& b, int g, float* y) {
    uint8_t sc, m;
    get_scale_min_k4(g, b.scales, &sc, &m);
    const float d = half_to_f32(b.d) * sc, mn = half_to_f32(b.dmin) * m;
    const uint8_t* q = b.qs + 32 * (g / 2);
    const int shift = 4 * (g & 1);
    for (int l = 0; l < kGroup; ++l) y[l] = d * (float)((q[l] >> shift) & 0xF) - mn;
}

// As q4_K with bit g of qh[l] as the fifth bit of element l.
SL4J_HD inline void dequant_group_q5_K(const block_q5_K& b, int g, float* y) {
    uint8_t sc, m;
    get_scale_min_k4(g, b.scales, &sc, &m);
    const float d = half_to_f32(b.d) * sc, mn = half_to_f32(b.dmin) * m;
    const uint8_t* q = b.qs + 32 * (g / 2);
    const int shift = 4 * (g & 1);
    for (int l = 0; l < kGroup; ++l)
        y[l] = d * (float)(((q[l] >> shift) & 0xF) | (((b.qh[l] >> g) & 1) << 4)) - mn;
}

// Group g (0..7) = quarter g%4 of the 128-element half g/4: its low 4 bits are the low (quarter
// 0, 1) or high (2, 3) nibbles of ql[l] (quarters 0, 2) or ql[l+32] (1, 3); its top 2 bits are
// bits 2·quarter of qh[l]; elements 0..15 and 16..31 have scales 2·quarter and 2·quarter+1.
SL4J_HD inline void dequant_group_q6_K(const block_q6_K& b, int g, float* y) {
    const int h = g / 4, quarter = g % 4;
    const uint8_t* ql = b.ql + 64 * h + 32 * (quarter & 1);
    const uint8_t* qh = b.qh + 32 * h;
    const int8_t* sc = b.scales + 8 * h + 2 * quarter;
    const int shift = 4 * (quarter >> 1);
    const float d = half_to_f32(b.d);
    for (int l = 0; l < kGroup; ++l) {
        const int q = (((ql[l] >> shift) & 0xF) | (((qh[l] >> (2 * quarter)) & 3) << 4)) - 32;
        y[l] = d * (float)sc[l / 16] * (float)q;
    }
}

// Group g of a row of type TYPE (an SL4J_TYPE_* id) starting at `row`.
template <int TYPE>
SL4J_HD inline void dequant_group(const void* row, int64_t g, float* y) {
    if constexpr (TYPE == SL4J_TYPE_F32) {
        dequant_group_f32(static_cast<const float*>(row) + g * kGroup, y);
    } else if constexpr (TYPE == SL4J_TYPE_F16) {
        dequant_group_f16(static_cast<const uint16_t*>(row) + g * kGroup, y);
    } else if constexpr (TYPE == SL4J_TYPE_BF16) {
        dequant_group_bf16(static_cast<const uint16_t*>(row) + g * kGroup, y);
    } else if constexpr (TYPE == SL4J_TYPE_Q8_0) {
        dequant_group_q8_0(static_cast<const block_q8_0*>(row)[g], y);
    } else if constexpr (TYPE == SL4J_TYPE_Q4_0) {
        dequant_group_q4_0(static_cast<const block_q4_0*>(row)[g], y);
    } else if constexpr (TYPE == SL4J_TYPE_Q4_K) {
        dequant_group_q4_K(static_cast<const block_q4_K*>(row)[g / 8], int(g % 8), y);
    } else if constexpr (TYPE == SL4J_TYPE_Q5_K) {
        dequant_group_q5_K(static_cast<const block_q5_K*>(row)[g / 8], int(g % 8), y);
    } else {
        static_assert(TYPE == SL4J_TYPE_Q6_K, "dequant_group: unsupported type");
        dequant_group_q6_K(static_cast<const block_q6_K*>(row)[g / 8], int(g % 8), y);
    }
}

}  // namespace sl4j
