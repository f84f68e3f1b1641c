// Tiled integer GEMM (qgemm_impl.inc), AVX2: 8 activation rows per ymm, vpdpbusd as vpmaddubsw +
// vpmaddwd, exact while a pair of products fits int16: weights with |w| <= 32 (Q4_0, the K-quants),
// not Q8_0, which runs on the per-row kernel. A tile of 4 weight rows x 8 activation rows. And the
// kernels on repacked weights (qpacked_impl.inc): 8 weight rows per ymm, 2 x 8 x 3 activation rows.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "cpu/qdot.h"
#include "cpu/repack.h"
#include "quant/blocks.h"
#include "stackllama4j.h"

#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx2,fma,f16c")
#include <immintrin.h>

namespace {
inline __m256i vi_dpbusd(__m256i acc, __m256i u, __m256i s) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}
inline __m256i vi_dpwssd(__m256i acc, __m256i a, __m256i b) { return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b)); }
constexpr bool kWideWeights = false;
#include "cpu/qgemm_ymm.inc"
}  // namespace

#include "cpu/qgemm_impl.inc"
#include "cpu/qpacked_impl.inc"

namespace sl4j::cpu {
const QGemm& qgemm_avx2() { return kQGemm; }
const QPacked& qpacked_avx2() { return qpacked::kQPacked; }
}  // namespace sl4j::cpu
#endif
