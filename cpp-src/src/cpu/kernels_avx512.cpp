// AVX-512 kernels: 16-float vectors, a 12 x 32 register tile (24 of the 32 zmm
// registers hold accumulators, leaving room for two b vectors and a broadcast).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "stackllama4j.h"

// Everything below (the block decoders included) is compiled for this level.
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")
#include <immintrin.h>
// GCC 12 reports -Wmaybe-uninitialized inside avx512fintrin.h: the masked intrinsics start from
// _mm512_undefined_*() (uninitialised by design, every lane is then written or masked off), which
// its analysis takes for a read of an uninitialised value once inlined here. Nothing of ours is
// uninitialised; the warning is silenced for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "cpu/kernels.h"
#include "quant/dequant_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
namespace {
#define KERNEL_HAS_AVX2
#include "cpu/dequant_avx2.inc"

typedef __m512 vf;
static inline vf vzero() { return _mm512_setzero_ps(); }
static inline vf vload(const float* p) { return _mm512_loadu_ps(p); }
static inline void vstore(float* p, vf a) { _mm512_storeu_ps(p, a); }
static inline vf vset1(float s) { return _mm512_set1_ps(s); }
static inline vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf vfma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline float vhsum(vf a) {
    __m256 h = _mm256_add_ps(_mm512_extractf32x8_ps(a, 0), _mm512_extractf32x8_ps(a, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
// r[i] <- column i of the 16 x 16 matrix whose rows are r[0..15]: 64 shuffles in four
// rounds (pairs of floats, then of doubles, within 128-bit lanes; then lanes twice).
static inline void vtranspose(vf (&r)[16]) {
    vf t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {  // r[i + c], lane l: rows i..i+3 of column 4l + c
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    }
    for (int c = 0; c < 4; ++c) {  // t[c]: rows 0-3 of columns c, 8+c, rows 4-7 of c, 8+c (t[4+c]: 4+c, 12+c)
        t[c] = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x88);
        t[4 + c] = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xdd);
        t[8 + c] = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x88);
        t[12 + c] = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xdd);
    }
    for (int c = 0; c < 4; ++c) {
        r[c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0xdd);
        r[4 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0xdd);
    }
}

// primitives of the fused decoders (fused_gemv.inc)
typedef __m512i vi;
static inline vf vmul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf vsub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf vcvt(vi a) { return _mm512_cvtepi32_ps(a); }
static inline vi vld_u8(const uint8_t* p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i*)p)); }
static inline vi vld_i8(const int8_t* p) { return _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)p)); }
static inline vf vld_f16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)p)); }
static inline vf vld_bf16(const uint16_t* p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)p)), 16));
}
static inline vi vand_i(vi a, int m) { return _mm512_and_si512(a, _mm512_set1_epi32(m)); }
static inline vi vor_i(vi a, vi b) { return _mm512_or_si512(a, b); }
template <int N>
static inline vi vsrli(vi a) { return _mm512_srli_epi32(a, N); }
template <int N>
static inline vi vslli(vi a) { return _mm512_slli_epi32(a, N); }
static inline vi vsrl_n(vi a, int n) { return _mm512_srl_epi32(a, _mm_cvtsi32_si128(n)); }
static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }
}  // namespace

#define KNS avx512_impl
#define VW 16
#define MR_MAX 12
#define KERNEL_HAS_FUSED
#include "cpu/fused_gemv.inc"
#include "cpu/kernels_impl.inc"

namespace sl4j::cpu {
const KernelTable& kernels_avx512() { return avx512_impl::kTable; }
}  // namespace sl4j::cpu
#else
namespace sl4j::cpu {
const KernelTable& kernels_avx512() { return kernels_scalar(); }
}  // namespace sl4j::cpu
#endif
