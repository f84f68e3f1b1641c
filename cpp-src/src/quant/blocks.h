// ggml's block layouts, byte for byte: a GGUF tensor of these types is an array
// of these structs. Scales are IEEE half (stored as raw uint16_t bits).
#pragma once
#include <cstdint>

#include "core/hd.h"

namespace sl4j {

constexpr int QK4_0 = 32;
constexpr int QK8_0 = 32;
// K-quants: a 256-element super-block split into sub-blocks whose scales are
// themselves quantized against the super-block's half-precision scale.
constexpr int QK_K = 256;
constexpr int K_SCALE_SIZE = 12;  // 8 six-bit scales + 8 six-bit mins

// x = d * (q - 8), q in 0..15. qs[j] holds element j (low nibble) and j+16 (high).
struct block_q4_0 {
    uint16_t d;
    uint8_t qs[QK4_0 / 2];
};
static_assert(sizeof(block_q4_0) == 18, "block_q4_0 must be 18 bytes as in ggml");

// x = d * q, q in -127..127.
struct block_q8_0 {
    uint16_t d;
    int8_t qs[QK8_0];
};
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 must be 34 bytes as in ggml");

// 8 sub-blocks of 32: x = d*sc[j]*q - dmin*m[j], q in 0..15, sc/m 6-bit packed in
// `scales` (see get_scale_min_k4). qs: per 64 elements, 32 bytes; low nibbles are
// the first 32 elements, high nibbles the next 32.
struct block_q4_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qs[QK_K / 2];
};
static_assert(sizeof(block_q4_K) == 144, "block_q4_K must be 144 bytes as in ggml");

// As q4_K plus a fifth bit per element: for the 64-element chunk c, bit 2c of
// qh[l] extends element l of the low-nibble half, bit 2c+1 the high-nibble half.
struct block_q5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
};
static_assert(sizeof(block_q5_K) == 176, "block_q5_K must be 176 bytes as in ggml");

// 16 sub-blocks of 16: x = d * scales[s] * (q - 32), q in 0..63 from 4 low bits
// (ql) and 2 high bits (qh). Per 128 elements: 64 ql bytes, 32 qh bytes, 8 scales.
struct block_q6_K {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    uint16_t d;
};
static_assert(sizeof(block_q6_K) == 210, "block_q6_K must be 210 bytes as in ggml");

// Activations quantised for the integer dot products (never stored in a file): a row of
// floats is cut into blocks, each x ≈ d * q with d = max|x| / 127 and q = round-to-nearest-even
// of x * (127 / max|x|) in -127..127 (0 when the block is all zero), as ggml's quantize_row_q8_0 /
// quantize_row_q8_K. Q4_0 and Q8_0 weights pair with 32-blocks that carry the sum of their q
// (Q4_0's offset of 8 is applied through it); their d is rounded to FP16 after q is computed, as
// ggml's block_q8_0 stores it (kept here as a float holding an FP16 value).
struct block_q8_a32 {
    float d;  // an FP16 value: half(max|x| / 127)
    int32_t sum;  // sum of qs
    int8_t qs[QK8_0];
};
static_assert(sizeof(block_q8_a32) == 40, "block_q8_a32 must be 40 bytes");

// K-quant weights pair with 256-blocks (ggml's block_q8_K layout) carrying the sum of
// each 16 q: the K-quants' sub-block mins and Q6_K's offset of 32 are applied through them.
struct block_q8_K {
    float d;  // a float, as in ggml: max|x| / 127
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];  // bsums[g] = sum of qs[16g .. 16g+15]
};
static_assert(sizeof(block_q8_K) == 292, "block_q8_K must be 292 bytes as in ggml");

// Unpack sub-block j's 6-bit scale and min from a q4_K/q5_K `scales` array.
// Bytes 0..3: scale j (low 6 bits); bytes 4..7: min j (low 6 bits); for j >= 4
// the low 4 bits sit in byte j+4 (scale low nibble, min high nibble) and the
// top 2 bits in the spare top bits of bytes j-4 (scale) and j (min).
SL4J_HD static inline void get_scale_min_k4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// Inverse of get_scale_min_k4 for all 8 sub-blocks (sc, m each < 64).
static inline void set_scales_mins_k4(uint8_t* q, const uint8_t* sc, const uint8_t* m) {
    for (int j = 0; j < K_SCALE_SIZE; ++j) q[j] = 0;
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            q[j] |= sc[j];
            q[j + 4] |= m[j];
        } else {
            q[j + 4] = (uint8_t)((sc[j] & 0xF) | ((m[j] & 0xF) << 4));
            q[j - 4] |= (uint8_t)((sc[j] >> 4) << 6);
            q[j] |= (uint8_t)((m[j] >> 4) << 6);
        }
    }
}

}  // namespace sl4j
