// Integer kernels on repacked weights (qpacked_impl.inc), AVX-VNNI: vpdpbusd (VEX): 8 weight rows per ymm (each group
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
#pragma GCC target("avx2,fma,f16c,avxvnni")
#include <immintrin.h>

namespace {
inline __m256i vi_dpbusd(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_avx_epi32(acc, u, s); }
#include "cpu/qpacked_ymm.inc"
}  // namespace
#include "cpu/qpacked_impl.inc"

namespace sl4j::cpu {
const QPacked& qpacked_avxvnni() { return kQPacked; }
}  // namespace sl4j::cpu
#else
namespace sl4j::cpu {
const QPacked& qpacked_avxvnni() { return qpacked_scalar(); }
}  // namespace sl4j::cpu
#endif
