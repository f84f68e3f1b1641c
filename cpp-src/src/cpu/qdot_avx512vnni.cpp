// Integer dot products, AVX-512 VNNI: vpdpbusd (EVEX, 256-bit) sums 4 u8 x s8 products per 32-bit lane without saturation;
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
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")
#include <immintrin.h>

namespace {
inline __m256i dot_u8s8(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }
inline __m256i madd16_acc(__m256i acc, __m256i a, __m256i b) { return _mm256_dpwssd_epi32(acc, a, b); }
}  // namespace

#define QNS qdot_avx512vnni_impl
#include "cpu/qdot_impl.inc"

namespace sl4j::cpu {
const QKernelTable& qkernels_avx512vnni() {
    static const QKernelTable t{"avx512vnni", qdot_avx512vnni_impl::dot, qdot_avx512vnni_impl::rows, &qgemm_avx512vnni(),
                                qdot_avx512vnni_impl::quantize, &qpacked_avx512vnni()};
    return t;
}
}  // namespace sl4j::cpu
#else
namespace sl4j::cpu {
const QKernelTable& qkernels_avx512vnni() { return qkernels_scalar(); }
}  // namespace sl4j::cpu
#endif
