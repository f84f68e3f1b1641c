// Integer dot products, AVX2: vpmaddubsw (u8 x s8 pairs to s16) then vpmaddwd (pairs to s32, by one or by the scale).
#include <cfloat>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/error.h"
#include "cpu/qdot.h"
#include "quant/blocks.h"
#include "quant/fp16.h"
#include "stackllama4j.h"

#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx2,fma,f16c")
#include <immintrin.h>

namespace {
inline __m256i dot_u8s8(__m256i u, __m256i s) { return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)); }
inline __m256i madd16_acc(__m256i acc, __m256i a, __m256i b) { return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b)); }
}  // namespace

#define QNS qdot_avx2_impl
#include "cpu/qdot_impl.inc"

namespace sl4j::cpu {
const QKernelTable& qkernels_avx2() {
    static const QKernelTable t{"avx2", qdot_avx2_impl::dot, qdot_avx2_impl::rows, &qgemm_avx2(),
                                qdot_avx2_impl::quantize, &qpacked_avx2()};
    return t;
}
}  // namespace sl4j::cpu
#else
namespace sl4j::cpu {
const QKernelTable& qkernels_avx2() { return qkernels_scalar(); }
}  // namespace sl4j::cpu
#endif
