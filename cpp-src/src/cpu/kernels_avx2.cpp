// AVX2 + FMA kernels: 8-float vectors, a 6 x 16 register tile (12 of the 16 ymm
// registers hold accumulators).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "stackllama4j.h"

// Everything below (the block decoders included) is compiled for this level.
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx2,fma,f16c")
#include <immintrin.h>
#endif

#include "cpu/kernels.h"
#include "quant/dequant_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
namespace {
#define KERNEL_HAS_AVX2
#include "cpu/dequant_avx2.inc"

typedef __m256 vf;
static inline vf vzero() { return _mm256_setzero_ps(); }
static inline vf vload(const float* p) { return _mm256_loadu_ps(p); }
static inline void vstore(float* p, vf a) { _mm256_storeu_ps(p, a); }
static inline vf vset1(float s) { return _mm256_set1_ps(s); }
static inline vf vadd(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf vfma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline float vhsum(vf a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
// r[i] <- column i of the 8 x 8 matrix whose rows are r[0..7].
static inline void vtranspose(vf (&r)[8]) {
    vf t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {  // u[i + c], lane l: rows i..i+3 of column 4l + c
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    for (int c = 0; c < 4; ++c) {
        r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
        r[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
    }
}

// primitives of the fused decoders (fused_gemv.inc)
typedef __m256i vi;
static inline vf vmul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf vsub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf vcvt(vi a) { return _mm256_cvtepi32_ps(a); }
static inline vi vld_u8(const uint8_t* p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)p)); }
static inline vi vld_i8(const int8_t* p) { return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)p)); }
static inline vf vld_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p)); }
static inline vf vld_bf16(const uint16_t* p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p)), 16));
}
static inline vi vand_i(vi a, int m) { return _mm256_and_si256(a, _mm256_set1_epi32(m)); }
static inline vi vor_i(vi a, vi b) { return _mm256_or_si256(a, b); }
template <int N>
static inline vi vsrli(vi a) { return _mm256_srli_epi32(a, N); }
template <int N>
static inline vi vslli(vi a) { return _mm256_slli_epi32(a, N); }
static inline vi vsrl_n(vi a, int n) { return _mm256_srl_epi32(a, _mm_cvtsi32_si128(n)); }
static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }
}  // namespace

#define KNS avx2_impl
#define VW 8
#define MR_MAX 6
#define KERNEL_HAS_FUSED
#include "cpu/fused_gemv.inc"
#include "cpu/kernels_impl.inc"

namespace sl4j::cpu {
const KernelTable& kernels_avx2() { return avx2_impl::kTable; }
}  // namespace sl4j::cpu
#else
namespace sl4j::cpu {
const KernelTable& kernels_avx2() { return kernels_scalar(); }
}  // namespace sl4j::cpu
#endif
