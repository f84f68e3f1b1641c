// Integer dot products, AVX2: vpmaddubsw (u8 x s8 pairs to s16) then vpmaddwd (pairs to s32, by one or by the scale).
#include <cstdint>

#include "core/error.h"
#include "cpu/qdot.h"
#include "quant/blocks.h"
#include "stackllama4j.h"

#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx2,fma,f16c")
#include <immintrin.h>

namespace {
inline __m256i dot_u8s8(__m256i u, __m256i s) { return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)); }
// Scales as 16-bit lanes: lanes 0..7 feed 32-bit lanes 0..3.
inline __m256i scales2(int a, int b) {
    return _mm256_set_m128i(_mm_set1_epi16((int16_t)b), _mm_set1_epi16((int16_t)a));
}
inline __m256i dot_u8s8_scaled(__m256i u, __m256i s, __m256i sc) { return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), sc); }
}  // namespace

#define QNS qdot_avx2_impl
#include "cpu/qdot_impl.inc"

namespace sl4j::cpu {
const QKernelTable& qkernels_avx2() {
    static const QKernelTable t{"avx2", qdot_avx2_impl::dot, qdot_avx2_impl::rows, &qgemm_avx2(), &qpacked_avx2()};
    return t;
}
}  // namespace sl4j::cpu
#else
namespace sl4j::cpu {
const QKernelTable& qkernels_avx2() { return qkernels_scalar(); }
}  // namespace sl4j::cpu
#endif
