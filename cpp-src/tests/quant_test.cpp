// Block decoders against hand-computed values, encoders by round trip within
// each format's error bound, half/bfloat16 edge cases, and the C API errors.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "quant/blocks.h"
#include "quant/quant.h"
#include "stackllama4j.h"
#include "testing.h"

using namespace sl4j;

namespace {

// Deterministic pseudo-random floats in [-1, 1).
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 2654435761u + 1) {}
    uint32_t u32() {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return (uint32_t)(s >> 33);
    }
    float uniform() { return (float)u32() / 2147483648.0f - 1.0f; }
};

std::vector<float> decode(int32_t type, const void* src, int64_t n) {
    std::vector<float> y((size_t)n);
    dequantize_row(type, src, y.data(), n);
    return y;
}

}  // namespace

TEST(fp16_known_values) {
    CHECK_EQ(f32_to_fp16(1.0f), (uint16_t)0x3c00);
    CHECK_EQ(f32_to_fp16(-2.0f), (uint16_t)0xc000);
    CHECK_EQ(f32_to_fp16(0.5f), (uint16_t)0x3800);
    CHECK_EQ(f32_to_fp16(-0.0f), (uint16_t)0x8000);
    CHECK_EQ(f32_to_fp16(65504.0f), (uint16_t)0x7bff);         // largest half
    CHECK_EQ(f32_to_fp16(65519.0f), (uint16_t)0x7bff);         // below the halfway point
    CHECK_EQ(f32_to_fp16(65520.0f), (uint16_t)0x7c00);         // halfway to 65536: even is inf
    CHECK_EQ(f32_to_fp16(1.0f + 1.0f / 2048), (uint16_t)0x3c00);  // tie, even mantissa stays
    CHECK_EQ(f32_to_fp16(1.0f + 3.0f / 2048), (uint16_t)0x3c02);  // tie, odd mantissa rounds up
    CHECK_EQ(f32_to_fp16(std::ldexp(1.0f, -24)), (uint16_t)0x0001);  // smallest subnormal
    CHECK_EQ(f32_to_fp16(std::ldexp(1.0f, -25)), (uint16_t)0x0000);  // tie to even zero
    CHECK_EQ(f32_to_fp16(std::ldexp(3.0f, -26)), (uint16_t)0x0001);  // 0.75 of a unit
    CHECK_EQ(f32_to_fp16(std::ldexp(3.0f, -25)), (uint16_t)0x0002);  // 1.5 units: tie to even 2
    CHECK_EQ(f32_to_fp16(std::ldexp(1023.5f, -24)), (uint16_t)0x0400);  // rounds up into the normals
    CHECK_EQ(f32_to_fp16(std::numeric_limits<float>::infinity()), (uint16_t)0x7c00);
    CHECK_EQ(f32_to_fp16(-std::numeric_limits<float>::infinity()), (uint16_t)0xfc00);
    CHECK_EQ(f32_to_fp16(1e10f), (uint16_t)0x7c00);
    const uint16_t qnan = f32_to_fp16(std::numeric_limits<float>::quiet_NaN());
    CHECK((qnan & 0x7c00) == 0x7c00 && (qnan & 0x3ff) != 0);
    // a NaN whose payload lives only in the low bits must stay NaN, not become inf
    float low_nan;
    uint32_t bits = 0x7f800001u;
    std::memcpy(&low_nan, &bits, 4);
    CHECK(std::isnan(fp16_to_f32(f32_to_fp16(low_nan))));

    CHECK_EQ(fp16_to_f32(0x3c00), 1.0f);
    CHECK_EQ(fp16_to_f32(0x0001), std::ldexp(1.0f, -24));
    CHECK_EQ(fp16_to_f32(0x03ff), std::ldexp(1023.0f, -24));
    CHECK_EQ(fp16_to_f32(0x7bff), 65504.0f);
    CHECK_EQ(fp16_to_f32(0xc000), -2.0f);
    CHECK(std::isinf(fp16_to_f32(0x7c00)) && fp16_to_f32(0x7c00) > 0);
    CHECK(std::isinf(fp16_to_f32(0xfc00)) && fp16_to_f32(0xfc00) < 0);
    CHECK(std::isnan(fp16_to_f32(0x7e00)));
    CHECK(std::signbit(fp16_to_f32(0x8000)));
}

TEST(fp16_every_value_round_trips) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = fp16_to_f32((uint16_t)h);
        const uint16_t back = f32_to_fp16(f);
        if (std::isnan(f)) {
            if ((back & 0x7c00) != 0x7c00 || (back & 0x3ff) == 0) ++bad;
        } else if (back != h) {
            ++bad;
        }
    }
    CHECK_EQ(bad, 0);
}

TEST(bf16_known_values) {
    CHECK_EQ(f32_to_bf16(1.0f), (uint16_t)0x3f80);
    CHECK_EQ(f32_to_bf16(-2.0f), (uint16_t)0xc000);
    CHECK_EQ(f32_to_bf16(1.0f + 1.0f / 256), (uint16_t)0x3f80);  // tie, even stays
    CHECK_EQ(f32_to_bf16(1.0f + 3.0f / 256), (uint16_t)0x3f82);  // tie, odd rounds up
    CHECK_EQ(f32_to_bf16(1.0f + 1.0f / 128 + 1.0f / 1024), (uint16_t)0x3f81);
    CHECK_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), (uint16_t)0x7f80);
    CHECK_EQ(f32_to_bf16(std::numeric_limits<float>::max()), (uint16_t)0x7f80);  // rounds past the top
    float low_nan;
    uint32_t bits = 0x7f800001u;
    std::memcpy(&low_nan, &bits, 4);
    CHECK(std::isnan(bf16_to_f32(f32_to_bf16(low_nan))));
    CHECK_EQ(bf16_to_f32(0x3f80), 1.0f);
    CHECK_EQ(bf16_to_f32(0x4049), 3.140625f);
    CHECK(std::isinf(bf16_to_f32(0xff80)) && bf16_to_f32(0xff80) < 0);
    CHECK_EQ(bf16_to_f32(0x0001), std::ldexp(1.0f, -133));  // subnormal passes through
}

TEST(dequant_f32_f16_bf16) {
    const float f[3] = {1.5f, -0.25f, 3e-3f};
    auto y = decode(SL4J_TYPE_F32, f, 3);
    CHECK_EQ(y[0], 1.5f);
    CHECK_EQ(y[2], 3e-3f);
    const uint16_t h[4] = {0x3e00, 0xb400, 0x0000, 0x5640};  // 1.5, -0.25, 0, 100
    y = decode(SL4J_TYPE_F16, h, 4);
    CHECK_EQ(y[0], 1.5f);
    CHECK_EQ(y[1], -0.25f);
    CHECK_EQ(y[2], 0.0f);
    CHECK_EQ(y[3], 100.0f);
    const uint16_t b[3] = {0x3fc0, 0xbe80, 0x42c8};  // 1.5, -0.25, 100
    y = decode(SL4J_TYPE_BF16, b, 3);
    CHECK_EQ(y[0], 1.5f);
    CHECK_EQ(y[1], -0.25f);
    CHECK_EQ(y[2], 100.0f);
}

TEST(dequant_q8_0_hand_block) {
    block_q8_0 blk[2];
    blk[0].d = 0x3800;  // 0.5
    blk[1].d = 0xc000;  // -2
    for (int j = 0; j < 32; ++j) {
        blk[0].qs[j] = (int8_t)(j - 16);
        blk[1].qs[j] = (int8_t)(j == 0 ? -127 : (j == 1 ? 127 : 3));
    }
    auto y = decode(SL4J_TYPE_Q8_0, blk, 64);
    CHECK_EQ(y[0], -8.0f);
    CHECK_EQ(y[16], 0.0f);
    CHECK_EQ(y[31], 7.5f);
    CHECK_EQ(y[32], 254.0f);
    CHECK_EQ(y[33], -254.0f);
    CHECK_EQ(y[40], -6.0f);
    for (int j = 0; j < 32; ++j) CHECK_EQ(y[j], 0.5f * (j - 16));
}

TEST(dequant_q4_0_hand_block) {
    block_q4_0 blk;
    blk.d = 0x4000;  // 2
    for (int j = 0; j < 16; ++j) blk.qs[j] = (uint8_t)(j | ((15 - j) << 4));
    auto y = decode(SL4J_TYPE_Q4_0, &blk, 32);
    // element j < 16 is the low nibble j, element j + 16 the high nibble 15 - j; x = 2 (q - 8)
    CHECK_EQ(y[0], -16.0f);
    CHECK_EQ(y[8], 0.0f);
    CHECK_EQ(y[15], 14.0f);
    CHECK_EQ(y[16], 14.0f);
    CHECK_EQ(y[31], -16.0f);
    for (int j = 0; j < 16; ++j) {
        CHECK_EQ(y[j], 2.0f * (j - 8));
        CHECK_EQ(y[j + 16], 2.0f * (7 - j));
    }
}

namespace {
// Sub-block scales and mins used by the hand-built q4_K / q5_K blocks, and the
// 12 bytes they pack into, worked out by hand:
//   bytes 0..3  = sc[0..3] | (sc[4..7] >> 4) << 6  -> 1, 2, 3, 4 | 3 << 6 = 196
//   bytes 4..7  = m[0..3]  | (m[4..7] >> 4) << 6   -> 0 | 3 << 6 = 192, 1 | 2 << 6 = 129, 2 | 1 << 6 = 66, 3 | 3 << 6 = 195
//   bytes 8..11 = (sc[4..7] & 15) | (m[4..7] & 15) << 4 -> 5 | 12 << 4 = 197, 6 | 1 << 4 = 22, 7 | 1 << 4 = 23, 255
const int kSc[8] = {1, 2, 3, 4, 5, 6, 7, 63};
const int kMin[8] = {0, 1, 2, 3, 60, 33, 17, 63};
const uint8_t kPacked[12] = {1, 2, 3, 196, 192, 129, 66, 195, 197, 22, 23, 255};
}  // namespace

TEST(q4_K_scale_packing) {
    for (int j = 0; j < 8; ++j) {
        uint8_t sc, m;
        get_scale_min_k4(j, kPacked, &sc, &m);
        CHECK_EQ((int)sc, kSc[j]);
        CHECK_EQ((int)m, kMin[j]);
    }
    uint8_t sc[8], mn[8], q[12];
    for (int j = 0; j < 8; ++j) sc[j] = (uint8_t)kSc[j], mn[j] = (uint8_t)kMin[j];
    set_scales_mins_k4(q, sc, mn);
    for (int j = 0; j < 12; ++j) CHECK_EQ((int)q[j], (int)kPacked[j]);
}

TEST(dequant_q4_K_hand_block) {
    block_q4_K blk;
    blk.d = 0x3c00;     // 1
    blk.dmin = 0x3800;  // 0.5
    std::memcpy(blk.scales, kPacked, 12);
    for (int i = 0; i < 128; ++i) blk.qs[i] = (uint8_t)(i * 7);
    auto y = decode(SL4J_TYPE_Q4_K, &blk, 256);
    // x = d * sc[s] * q - dmin * m[s]; chunk c of 64 uses qs[32c..32c+31]: low nibbles
    // are sub-block 2c, high nibbles sub-block 2c+1
    CHECK_EQ(y[0], 0.0f);                 // q = 0, sub 0 (sc 1, m 0)
    CHECK_EQ(y[1], 7.0f);                 // q = 7
    CHECK_EQ(y[130], 40.0f);              // sub 4, qs[66] = 206 -> q = 14: 5*14 - 0.5*60
    CHECK_EQ(y[255], 409.5f);             // sub 7, qs[127] = 121 -> q = 7: 63*7 - 0.5*63
    CHECK_EQ(y[32 + 5], 2.0f * 2 - 0.5f);  // sub 1, qs[5] = 35 -> q = 2
    for (int e = 0; e < 256; ++e) {
        const int c = e / 64, l = e % 64, s = 2 * c + (l >= 32);
        const uint8_t byte = (uint8_t)((32 * c + l % 32) * 7);
        const int q = l < 32 ? (byte & 15) : (byte >> 4);
        CHECK_EQ(y[e], 1.0f * kSc[s] * q - 0.5f * kMin[s]);
    }
}

TEST(dequant_q5_K_hand_block) {
    block_q5_K blk;
    blk.d = 0x3800;     // 0.5
    blk.dmin = 0x3c00;  // 1
    std::memcpy(blk.scales, kPacked, 12);
    for (int i = 0; i < 128; ++i) blk.qs[i] = (uint8_t)(i * 13 + 5);
    for (int l = 0; l < 32; ++l) blk.qh[l] = (uint8_t)(l * 37 + 11);
    auto y = decode(SL4J_TYPE_Q5_K, &blk, 256);
    // element 0: qs[0] = 5 -> low nibble 5, qh[0] = 11 bit 0 = 1 -> q = 21; sub 0: 0.5*1*21 - 0
    CHECK_EQ(y[0], 10.5f);
    // element 200: c 3, l 8 (low half, sub 6): qs[104] = 1357 & 255 = 77 -> 13; qh[8] = 307 & 255 = 51,
    // bit 6 = 0 -> q = 13: 0.5*7*13 - 17 = 28.5
    CHECK_EQ(y[200], 28.5f);
    for (int e = 0; e < 256; ++e) {
        const int c = e / 64, l = e % 64, s = 2 * c + (l >= 32);
        const uint8_t byte = (uint8_t)((32 * c + l % 32) * 13 + 5);
        const uint8_t hbyte = (uint8_t)((l % 32) * 37 + 11);
        const int q = (l < 32 ? (byte & 15) : (byte >> 4)) + 16 * ((hbyte >> s) & 1);
        CHECK_EQ(y[e], 0.5f * kSc[s] * q - 1.0f * kMin[s]);
    }
}

TEST(dequant_q6_K_hand_block) {
    block_q6_K blk;
    blk.d = 0x3400;  // 0.25
    for (int i = 0; i < 16; ++i) blk.scales[i] = (int8_t)(i - 8);
    for (int i = 0; i < 128; ++i) blk.ql[i] = (uint8_t)(i * 11 + 3);
    for (int i = 0; i < 64; ++i) blk.qh[i] = (uint8_t)(i * 29 + 7);
    auto y = decode(SL4J_TYPE_Q6_K, &blk, 256);
    // element 0: ql[0] = 3 low nibble 3, qh[0] = 7 bits 0..1 = 3 -> q = 3 + 48 - 32 = 19; scale[0] = -8
    CHECK_EQ(y[0], 0.25f * -8 * 19);
    // element 100 = half 0, group 3 (high nibble of ql[32 + 4]), l = 4: ql[36] = 399 & 255 = 143 -> 8;
    // qh[4] = 123, bits 6..7 = 1 -> q = 8 + 16 - 32 = -8; scale[0 + 4/16 + 6] = -2 -> 0.25*-2*-8 = 4
    CHECK_EQ(y[100], 4.0f);
    for (int e = 0; e < 256; ++e) {
        const int h = e / 128, g = (e % 128) / 32, l = e % 32;
        const uint8_t lb = (uint8_t)((64 * h + l + 32 * (g & 1)) * 11 + 3);
        const uint8_t hb = (uint8_t)((32 * h + l) * 29 + 7);
        const int low = g < 2 ? (lb & 15) : (lb >> 4);
        const int q = (low | (((hb >> (2 * g)) & 3) << 4)) - 32;
        const int sc = (8 * h + l / 16 + 2 * g) - 8;
        CHECK_EQ(y[e], 0.25f * sc * q);
    }
}

namespace {
// Test vectors: blocks of mixed magnitude, a zero block, an outlier, one sign only.
std::vector<float> test_signal(int64_t n, uint64_t seed) {
    Rng rng(seed);
    std::vector<float> x((size_t)n);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t blk = i / 256;
        float scale = blk % 4 == 0 ? 1.0f : (blk % 4 == 1 ? 1e-3f : (blk % 4 == 2 ? 30.0f : 0.2f));
        x[i] = scale * rng.uniform();
        if (blk % 4 == 3) x[i] = std::fabs(x[i]);  // positive-only block (zero min)
    }
    for (int64_t i = 256 * 5; i < std::min<int64_t>(n, 256 * 5 + 64); ++i) x[i] = 0.0f;  // all-zero sub-blocks
    if (n > 700) x[700] = 50.0f;  // outlier
    return x;
}

std::vector<float> round_trip(int32_t type, const std::vector<float>& x) {
    const int64_t n = (int64_t)x.size();
    const int64_t bytes = sl4j_type_block_bytes(type) * n / sl4j_type_block_size(type);
    std::vector<uint8_t> q((size_t)bytes);
    CHECK_EQ(sl4j_quantize(type, x.data(), n, q.data(), bytes), 0);
    std::vector<float> y((size_t)n);
    CHECK_EQ(sl4j_dequantize(type, q.data(), bytes, y.data(), n), 0);
    return y;
}
}  // namespace

TEST(round_trip_f32_f16_bf16) {
    auto x = test_signal(2048, 1);
    auto y = round_trip(SL4J_TYPE_F32, x);
    for (size_t i = 0; i < x.size(); ++i) CHECK_EQ(y[i], x[i]);
    y = round_trip(SL4J_TYPE_F16, x);
    // half keeps 11 significant bits: relative error <= 2^-11 for normals, 2^-25 absolute below
    for (size_t i = 0; i < x.size(); ++i) CHECK_NEAR(y[i], x[i], std::fabs(x[i]) * std::ldexp(1.0, -11) + std::ldexp(1.0, -25));
    y = round_trip(SL4J_TYPE_BF16, x);
    for (size_t i = 0; i < x.size(); ++i) CHECK_NEAR(y[i], x[i], std::fabs(x[i]) * std::ldexp(1.0, -8));
}

TEST(round_trip_q8_0_within_half_step) {
    auto x = test_signal(4096, 2);
    auto y = round_trip(SL4J_TYPE_Q8_0, x);
    // q = round(x / d) with d = amax / 127, decoded with half(d): |err| <= d/2 + 127 |d - half(d)|
    for (size_t b = 0; b < x.size() / 32; ++b) {
        float amax = 0;
        for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[32 * b + j]));
        const double d = amax / 127.0f, dh = fp16_to_f32(f32_to_fp16((float)d));
        const double bound = d / 2 * (1 + 1e-6) + 127 * std::fabs(d - dh) + 1e-30;
        for (int j = 0; j < 32; ++j) CHECK_NEAR(y[32 * b + j], x[32 * b + j], bound);
    }
}

TEST(round_trip_q4_0_within_one_step) {
    auto x = test_signal(4096, 3);
    auto y = round_trip(SL4J_TYPE_Q4_0, x);
    // d = max/-8: |err| <= |d|/2, except values of the opposite sign near |max| which clamp
    // at q = 15 (error up to one step), plus 8 |d - half(d)| from storing d as half
    for (size_t b = 0; b < x.size() / 32; ++b) {
        float amax = 0, mx = 0;
        for (int j = 0; j < 32; ++j)
            if (std::fabs(x[32 * b + j]) > amax) amax = std::fabs(x[32 * b + j]), mx = x[32 * b + j];
        const double d = mx / -8.0f, dh = fp16_to_f32(f32_to_fp16((float)d));
        for (int j = 0; j < 32; ++j) {
            const double xv = x[32 * b + j];
            const bool clamps = xv / d > 7.5;
            const double bound = std::fabs(d) * (clamps ? 1.0 : 0.5) * (1 + 1e-6) + 8 * std::fabs(d - dh) + 1e-30;
            CHECK_NEAR(y[32 * b + j], xv, bound);
        }
    }
}

namespace {
// Largest |error| per element in units of the block's sub-block step, and RMS error over RMS signal.
void kquant_errors(int32_t type, const std::vector<float>& x, const std::vector<float>& y, double* rel_rms) {
    double se = 0, sx = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        se += (double)(y[i] - x[i]) * (y[i] - x[i]);
        sx += (double)x[i] * x[i];
    }
    (void)type;
    *rel_rms = std::sqrt(se / sx);
}
}  // namespace

namespace {
// q4_K / q5_K: per 32-element sub-block, codes 0..nmax span [min, max]: away from the range ends
// the error is at most half a step (range/nmax)/2; the 6-bit scale and min quantization can push
// the ends by up to a few percent of the super-block's largest range, so the bound is
// range/nmax + 2% of the block's largest range, plus what rounding the super-scale d (about
// block range / nmax / 63) to half precision costs at the top code: nmax·63·half an ulp of d,
// which matters when d is a subnormal half (ulp 2^-24).
void check_kquant_min(int32_t type, int nmax, const std::vector<float>& x, double max_rel_rms) {
    auto y = round_trip(type, x);
    for (size_t b = 0; b < x.size() / 256; ++b) {
        double block_range = 0;
        for (int s = 0; s < 8; ++s) {
            float lo = 0, hi = 0;
            for (int l = 0; l < 32; ++l) lo = std::fmin(lo, x[256 * b + 32 * s + l]), hi = std::fmax(hi, x[256 * b + 32 * s + l]);
            block_range = std::fmax(block_range, hi - lo);
        }
        for (int s = 0; s < 8; ++s) {
            float lo = 0, hi = 0;
            for (int l = 0; l < 32; ++l) lo = std::fmin(lo, x[256 * b + 32 * s + l]), hi = std::fmax(hi, x[256 * b + 32 * s + l]);
            const double d = block_range / nmax / 63;
            const double d_ulp = d < std::ldexp(1.0, -14) ? std::ldexp(1.0, -24) : std::ldexp(d, -10);
            const double bound = (hi - lo) / nmax + 0.02 * block_range + nmax * 63 * d_ulp / 2 + 1e-30;
            for (int l = 0; l < 32; ++l) CHECK_NEAR(y[256 * b + 32 * s + l], x[256 * b + 32 * s + l], bound);
        }
    }
    double rel;
    kquant_errors(type, x, y, &rel);
    CHECK(rel < max_rel_rms);
}
}  // namespace

TEST(round_trip_q4_K) { check_kquant_min(SL4J_TYPE_Q4_K, 15, test_signal(256 * 8, 4), 0.05); }

// Five bits: half q4_K's step, so about half its error on smooth data.
TEST(round_trip_q5_K) {
    auto x = test_signal(256 * 8, 4);
    check_kquant_min(SL4J_TYPE_Q5_K, 31, x, 0.03);
    // Gaussian weights: q5_K's RMS error is below q4_K's by more than a third
    Rng rng(9);
    std::vector<float> g(256 * 64);
    for (float& v : g) v = 0.02f * (rng.uniform() + rng.uniform() + rng.uniform());
    auto y4 = round_trip(SL4J_TYPE_Q4_K, g), y5 = round_trip(SL4J_TYPE_Q5_K, g);
    double r4, r5;
    kquant_errors(SL4J_TYPE_Q4_K, g, y4, &r4);
    kquant_errors(SL4J_TYPE_Q5_K, g, y5, &r5);
    CHECK(r5 < 0.6 * r4);
}

TEST(round_trip_q6_K) {
    auto x = test_signal(256 * 8, 5);
    const int64_t n = (int64_t)x.size();
    std::vector<block_q6_K> q((size_t)(n / 256));
    quantize_row(SL4J_TYPE_Q6_K, x.data(), q.data(), n);
    std::vector<float> y((size_t)n);
    dequantize_row(SL4J_TYPE_Q6_K, q.data(), y.data(), n);
    for (size_t b = 0; b < q.size(); ++b) {
        const double d = fp16_to_f32(q[b].d);
        double block_amax = 0;
        for (int i = 0; i < 256; ++i) block_amax = std::fmax(block_amax, std::fabs(x[256 * b + i]));
        for (int s = 0; s < 16; ++s) {
            // codes -32..31 times the decoded step ds: half a step, or the distance
            // past the clamped end
            const double ds = std::fabs(d * q[b].scales[s]);
            double amax = 0;
            for (int l = 0; l < 16; ++l) amax = std::fmax(amax, std::fabs(x[256 * b + 16 * s + l]));
            for (int l = 0; l < 16; ++l) {
                const double xv = x[256 * b + 16 * s + l];
                const double exact = (ds / 2 + std::fmax(0.0, std::fabs(xv) - 31.5 * ds)) * (1 + 1e-5) + 1e-30;
                CHECK_NEAR(y[256 * b + 16 * s + l], xv, exact);
                // quality: when d is a normal half the step is about amax/32, so the error
                // stays within amax/31 plus the int8 sub-scale rounding (1% of the block amax)
                if (d >= std::ldexp(1.0, -14))
                    CHECK_NEAR(y[256 * b + 16 * s + l], xv, amax / 31.0 + 0.01 * block_amax);
            }
        }
    }
    double rel;
    kquant_errors(SL4J_TYPE_Q6_K, x, y, &rel);
    CHECK(rel < 0.015);
}

TEST(quantize_is_deterministic_and_zero_safe) {
    std::vector<float> z(256, 0.0f);
    for (int32_t t : {SL4J_TYPE_Q8_0, SL4J_TYPE_Q4_0, SL4J_TYPE_Q4_K, SL4J_TYPE_Q5_K, SL4J_TYPE_Q6_K}) {
        auto y = round_trip(t, z);
        for (float v : y) CHECK_EQ(v, 0.0f);
    }
}

TEST(type_table_api) {
    CHECK(std::string(sl4j_type_name(SL4J_TYPE_Q4_K)) == "q4_K");
    CHECK(sl4j_type_name(4) == nullptr);
    CHECK(sl4j_type_name(-1) == nullptr);
    CHECK_EQ(sl4j_type_block_size(SL4J_TYPE_Q6_K), (int64_t)256);
    CHECK_EQ(sl4j_type_block_bytes(SL4J_TYPE_Q6_K), (int64_t)210);
    CHECK_EQ(sl4j_type_block_bytes(SL4J_TYPE_Q5_K), (int64_t)sizeof(block_q5_K));
    CHECK_EQ(sl4j_type_block_size(99), (int64_t)0);
    CHECK_EQ(sl4j_type_is_supported(SL4J_TYPE_Q5_K), 1);
    CHECK_EQ(sl4j_type_is_supported(SL4J_TYPE_Q4_1), 0);
    CHECK_EQ(sl4j_type_can_quantize(SL4J_TYPE_Q4_0), 1);
    CHECK_EQ(sl4j_type_can_quantize(SL4J_TYPE_Q5_K), 0);
}

TEST(quant_api_errors_name_type_and_sizes) {
    std::vector<float> x(64, 1.0f);
    std::vector<uint8_t> buf(1024);
    CHECK_EQ(sl4j_quantize(SL4J_TYPE_Q4_1, x.data(), 32, buf.data(), 20), (int32_t)SL4J_ERR_UNSUPPORTED);
    CHECK(std::string(sl4j_last_error()).find("q4_1") != std::string::npos);
    CHECK_EQ(sl4j_quantize(SL4J_TYPE_Q8_0, x.data(), 30, buf.data(), 34), (int32_t)SL4J_ERR_INVALID_ARGUMENT);
    CHECK(std::string(sl4j_last_error()).find("block size 32") != std::string::npos);
    CHECK_EQ(sl4j_quantize(SL4J_TYPE_Q8_0, x.data(), 64, buf.data(), 60), (int32_t)SL4J_ERR_INVALID_ARGUMENT);
    std::string msg = sl4j_last_error();
    CHECK(msg.find("68 bytes") != std::string::npos && msg.find("60") != std::string::npos && msg.find("q8_0") != std::string::npos);
    CHECK_EQ(sl4j_dequantize(SL4J_TYPE_Q2_K, buf.data(), 84, x.data(), 256), (int32_t)SL4J_ERR_UNSUPPORTED);
    CHECK(std::string(sl4j_last_error()).find("q2_K") != std::string::npos);
    CHECK_EQ(sl4j_dequantize(77, buf.data(), 84, x.data(), 256), (int32_t)SL4J_ERR_UNSUPPORTED);
    CHECK(std::string(sl4j_last_error()).find("77") != std::string::npos);
    CHECK_EQ(sl4j_dequantize(SL4J_TYPE_F16, nullptr, 8, x.data(), 4), (int32_t)SL4J_ERR_INVALID_ARGUMENT);
    CHECK_EQ(sl4j_quantize(SL4J_TYPE_F32, x.data(), 0, nullptr, 0), 0);
    EXPECT_THROWS(quantize_row(SL4J_TYPE_Q3_K, x.data(), buf.data(), 256));
    EXPECT_THROWS(dequantize_row(SL4J_TYPE_Q4_K, buf.data(), x.data(), 100));
}
