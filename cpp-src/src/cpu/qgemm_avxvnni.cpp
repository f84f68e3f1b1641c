// Tiled integer GEMM (qgemm_impl.inc), AVX-VNNI: 8 activation rows per ymm (VEX vpdpbusd), a tile
// of 4 weight rows x 8 activation rows (16 ymm registers), the weight dwords broadcast from the
// unpacked tile. And the kernels on repacked weights (qpacked_impl.inc): 8 weight rows per ymm,
// a GEMM tile of 2 x 8 weight rows x 3 activation rows.
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
#pragma GCC target("avx2,fma,f16c,avxvnni")
#include <immintrin.h>

namespace {
inline __m256i vi_dpbusd(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_avx_epi32(acc, u, s); }
inline __m256i vi_dpwssd(__m256i acc, __m256i a, __m256i b) { return _mm256_dpwssd_avx_epi32(acc, a, b); }
constexpr bool kWideWeights = true;
#include "cpu/qgemm_ymm.inc"
}  // namespace

#include "cpu/qgemm_impl.inc"
#include "cpu/qpacked_impl.inc"

namespace sl4j::cpu {
const QGemm& qgemm_avxvnni() { return kQGemm; }
const QPacked& qpacked_avxvnni() { return qpacked::kQPacked; }
}  // namespace sl4j::cpu
#endif
