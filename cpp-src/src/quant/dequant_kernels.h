// Block decoders, header-only so that cpu/ can compile SIMD-targeted copies of
// them (a function with target("avx2") may inline these default-target ones).
// The formulas themselves are in dequant_group.h (shared with the CUDA kernels).
#pragma once
#include <cstdint>
#include <cstring>

#include "quant/blocks.h"
#include "quant/dequant_group.h"
#include "quant/fp16.h"
#include "stackllama4j.h"

namespace sl4j {

// Each row decoder walks its 32-element groups with the shared formulas of dequant_group.h.
template <int TYPE>
static inline void dequant_groups(const void* src, float* y, int64_t n) {
    for (int64_t g = 0; g < n / kGroup; ++g) dequant_group<TYPE>(src, g, y + g * kGroup);
}

// F16 and BF16 rows need not be whole groups: element by element (the formula is the conversion).
static inline void dequant_f16(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = half_to_f32(x[i]);
}

static inline void dequant_bf16(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = bf16_bits_to_f32(x[i]);
}

// Decode n elements (a whole number of blocks, checked by the caller).
// Returns false for a type it cannot decode.
static inline bool dequant_row_inline(int32_t type, const void* src, float* dst, int64_t n) {
    switch (type) {
        case SL4J_TYPE_F32: std::memcpy(dst, src, (size_t)n * 4); return true;
        case SL4J_TYPE_F16: dequant_f16((const uint16_t*)src, dst, n); return true;
        case SL4J_TYPE_BF16: dequant_bf16((const uint16_t*)src, dst, n); return true;
        case SL4J_TYPE_Q8_0: dequant_groups<SL4J_TYPE_Q8_0>(src, dst, n); return true;
        case SL4J_TYPE_Q4_0: dequant_groups<SL4J_TYPE_Q4_0>(src, dst, n); return true;
        case SL4J_TYPE_Q4_K: dequant_groups<SL4J_TYPE_Q4_K>(src, dst, n); return true;
        case SL4J_TYPE_Q5_K: dequant_groups<SL4J_TYPE_Q5_K>(src, dst, n); return true;
        case SL4J_TYPE_Q6_K: dequant_groups<SL4J_TYPE_Q6_K>(src, dst, n); return true;
        default: return false;
    }
}

}  // namespace sl4j
