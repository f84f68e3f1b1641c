// IEEE binary16 and bfloat16 <-> binary32, bit-exact, round to nearest even.
// Inline so the dequantizers (and their SIMD-targeted copies) can fold them in.
#pragma once
#include <cstdint>
#include <cstring>

#include "core/hd.h"

namespace sl4j {

SL4J_HD static inline float bits_to_f32(uint32_t u) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float f;
    std::memcpy(&f, &u, 4);
    return f;
#endif
}
SL4J_HD static inline uint32_t f32_to_bits(float f) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(f);
#else
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
#endif
}

SL4J_HD static inline float half_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1f;
    const uint32_t mant = h & 0x3ff;
    if (exp == 0) {
        // zero or subnormal: mant * 2^-24 is exact in binary32
        const float v = (float)mant * (1.0f / 16777216.0f);
        return bits_to_f32(f32_to_bits(v) | sign);
    }
    if (exp == 31) return bits_to_f32(sign | 0x7f800000u | (mant << 13));  // inf / NaN, payload kept
    return bits_to_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

SL4J_HD static inline uint16_t f32_to_half(float f) {
    const uint32_t bits = f32_to_bits(f);
    const uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    const uint32_t exp = (bits >> 23) & 0xff;
    const uint32_t mant = bits & 0x7fffff;
    if (exp == 255) {
        if (mant == 0) return sign | 0x7c00;
        // keep the top payload bits and force the quiet bit so a NaN never becomes inf
        return (uint16_t)(sign | 0x7e00 | (mant >> 13));
    }
    const int e = (int)exp - 127 + 15;
    if (e >= 31) return sign | 0x7c00;
    if (e <= 0) {
        // result is subnormal (or rounds up to the smallest normal)
        const int shift = 14 - e;  // value / 2^-24 = m >> shift
        if (shift >= 25) return sign;  // below half the smallest subnormal
        const uint32_t m = mant | 0x800000;
        uint32_t half = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1);
        const uint32_t halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (half & 1))) ++half;
        return (uint16_t)(sign | half);
    }
    uint32_t half = ((uint32_t)e << 10) | (mant >> 13);
    const uint32_t rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) ++half;  // a carry into the exponent is right, up to inf
    return (uint16_t)(sign | half);
}

SL4J_HD static inline float bf16_bits_to_f32(uint16_t h) { return bits_to_f32((uint32_t)h << 16); }

SL4J_HD static inline uint16_t f32_to_bf16_bits(float f) {
    const uint32_t bits = f32_to_bits(f);
    if ((bits & 0x7fffffff) > 0x7f800000) return (uint16_t)((bits >> 16) | 0x40);  // quiet NaN
    return (uint16_t)((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

}  // namespace sl4j
