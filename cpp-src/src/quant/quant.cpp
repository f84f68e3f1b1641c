#include "quant/quant.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/types.h"
#include "quant/blocks.h"
#include "quant/dequant_kernels.h"
#include "quant/fp16.h"
#include "quant/quant_k.h"

namespace sl4j {

float fp16_to_f32(uint16_t h) { return half_to_f32(h); }
uint16_t f32_to_fp16(float f) { return f32_to_half(f); }
float bf16_to_f32(uint16_t h) { return bf16_bits_to_f32(h); }
uint16_t f32_to_bf16(float f) { return f32_to_bf16_bits(f); }

namespace {

const char* name_of(int32_t type) {
    const TypeTraits* tt = type_traits(type);
    return tt ? tt->name : "unknown";
}

// ggml's reference: d = amax / 127, q = round(x / d) (round half away from zero).
void quantize_q8_0(const float* x, block_q8_0* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, x += QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; ++j) amax = std::fmax(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_half(d);
        for (int j = 0; j < QK8_0; ++j) y[b].qs[j] = (int8_t)std::roundf(x[j] * id);
    }
}

// ggml's reference: the element of largest magnitude maps to q = 0 (d = max / -8,
// sign kept), so the opposite extreme may clamp at q = 15.
void quantize_q4_0(const float* x, block_q4_0* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, x += QK4_0) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK4_0; ++j) {
            if (std::fabs(x[j]) > amax) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_half(d);
        for (int j = 0; j < QK4_0 / 2; ++j) {
            int q0 = (int)(int8_t)(x[j] * id + 8.5f);
            int q1 = (int)(int8_t)(x[j + QK4_0 / 2] * id + 8.5f);
            q0 = q0 > 15 ? 15 : q0;
            q1 = q1 > 15 ? 15 : q1;
            y[b].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

}  // namespace

bool can_quantize(int32_t type) {
    switch (type) {
        case SL4J_TYPE_F32:
        case SL4J_TYPE_F16:
        case SL4J_TYPE_BF16:
        case SL4J_TYPE_Q8_0:
        case SL4J_TYPE_Q4_0:
        case SL4J_TYPE_Q4_K:
        case SL4J_TYPE_Q5_K:
        case SL4J_TYPE_Q6_K: return true;
        default: return false;
    }
}

void dequantize_row(int32_t type, const void* src, float* dst, int64_t n) {
    const TypeTraits* tt = type_traits(type);
    if (tt == nullptr) SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "dequantize: unknown tensor type id %d", type);
    if (!tt->supported)
        SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "dequantize: type %s (id %d) is not supported by this engine", tt->name, type);
    type_row_bytes(type, n);  // validates n against the block size
    if (!dequant_row_inline(type, src, dst, n))
        SL4J_FAIL(SL4J_ERR_INTERNAL, "dequantize: no decoder for %s", tt->name);
}

void quantize_row(int32_t type, const float* src, void* dst, int64_t n) {
    if (!can_quantize(type))
        SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "quantize: no encoder for type %s (id %d)", name_of(type), type);
    const int64_t bs = type_traits(type)->block_size;
    type_row_bytes(type, n);
    switch (type) {
        case SL4J_TYPE_F32: std::memcpy(dst, src, (size_t)n * 4); break;
        case SL4J_TYPE_F16:
            for (int64_t i = 0; i < n; ++i) ((uint16_t*)dst)[i] = f32_to_half(src[i]);
            break;
        case SL4J_TYPE_BF16:
            for (int64_t i = 0; i < n; ++i) ((uint16_t*)dst)[i] = f32_to_bf16_bits(src[i]);
            break;
        case SL4J_TYPE_Q8_0: quantize_q8_0(src, (block_q8_0*)dst, n / bs); break;
        case SL4J_TYPE_Q4_0: quantize_q4_0(src, (block_q4_0*)dst, n / bs); break;
        case SL4J_TYPE_Q4_K: quantize_q4_K(src, (block_q4_K*)dst, n / bs); break;
        case SL4J_TYPE_Q5_K: quantize_q5_K(src, (block_q5_K*)dst, n / bs); break;
        case SL4J_TYPE_Q6_K: quantize_q6_K(src, (block_q6_K*)dst, n / bs); break;
    }
}

}  // namespace sl4j
