// Integer dot products, AVX-VNNI: vpdpbusd (VEX) sums 4 u8 x s8 products per 32-bit lane without saturation.
#include <cstdint>

#include "core/error.h"
#include "cpu/qdot.h"
#include "quant/blocks.h"
#include "stackllama4j.h"

#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx2,fma,f16c,avxvnni")
#include <immintrin.h>

namespace {
inline __m256i dot_u8s8(__m256i u, __m256i s) { return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), u, s); }
inline __m256i scales2(int a, int b) { return _mm256_set_m128i(_mm_set1_epi32(b), _mm_set1_epi32(a)); }
inline __m256i dot_u8s8_scaled(__m256i u, __m256i s, __m256i sc) { return _mm256_mullo_epi32(dot_u8s8(u, s), sc); }
}  // namespace

#define QNS qdot_avxvnni_impl
#include "cpu/qdot_impl.inc"

namespace sl4j::cpu {
const QKernelTable& qkernels_avxvnni() {
    static const QKernelTable t{"avxvnni", qdot_avxvnni_impl::dot, qdot_avxvnni_impl::rows, &qgemm_avxvnni(), &qpacked_avxvnni()};
    return t;
}
}  // namespace sl4j::cpu
#else
namespace sl4j::cpu {
const QKernelTable& qkernels_avxvnni() { return qkernels_scalar(); }
}  // namespace sl4j::cpu
#endif
