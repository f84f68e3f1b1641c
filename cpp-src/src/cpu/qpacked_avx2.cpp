// Integer kernels on repacked weights (qpacked_impl.inc), AVX2: vpdpbusd as vpmaddubsw + vpmaddwd (exact: a pair of products, 2 x 15 x 127, fits int16): 8 weight rows per ymm (each group
// of 16 in two halves), 4 activation rows per GEMM register tile.
#include <algorithm>
#include <cstdint>
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
#include "cpu/qpacked_ymm.inc"
}  // namespace
#include "cpu/qpacked_impl.inc"

namespace sl4j::cpu {
const QPacked& qpacked_avx2() { return kQPacked; }
}  // namespace sl4j::cpu
#else
namespace sl4j::cpu {
const QPacked& qpacked_avx2() { return qpacked_scalar(); }
}  // namespace sl4j::cpu
#endif
