// Integer dot products, AVX-VNNI: vpdpbusd (VEX) sums 4 u8 x s8 products per 32-bit lane without saturation;
// the K-quants' scaled sums: vpmaddubsw, then vpdpwssd (pairs of 16-bit products times the scale, accumulated).
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
#pragma GCC target("avx2,fma,f16c,avxvnni")
#include <immintrin.h>

namespace {
inline __m256i dot_u8s8(__m256i u, __m256i s) { return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), u, s); }
inline __m256i madd16_acc(__m256i acc, __m256i a, __m256i b) { return _mm256_dpwssd_avx_epi32(acc, a, b); }
}  // namespace

#define QNS qdot_avxvnni_impl
#include "cpu/qdot_impl.inc"

namespace sl4j::cpu {
const QKernelTable& qkernels_avxvnni() {
    static const QKernelTable t{"avxvnni", qdot_avxvnni_impl::dot, qdot_avxvnni_impl::rows, &qgemm_avxvnni(),
                                qdot_avxvnni_impl::quantize, &qpacked_avxvnni()};
    return t;
}
}  // namespace sl4j::cpu
#else
namespace sl4j::cpu {
const QKernelTable& qkernels_avxvnni() { return qkernels_scalar(); }
}  // namespace sl4j::cpu
#endif
