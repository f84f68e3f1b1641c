// Tiled integer GEMM (qgemm_impl.inc), AVX-VNNI: 8 activation rows per ymm (VEX vpdpbusd), a tile
// of 4 weight rows x 8 activation rows (16 ymm registers), the weight dwords broadcast from the
// unpacked tile.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "cpu/qdot.h"
#include "quant/blocks.h"
#include "stackllama4j.h"

#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx2,fma,f16c,avxvnni")
#include <immintrin.h>

namespace {
constexpr int kL = 8, kRW = 4, kG = 1;
constexpr bool kWideWeights = true;
using VI = __m256i;
using VF = __m256;
inline VI vi_load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline VI vi_set1(int32_t v) { return _mm256_set1_epi32(v); }
inline VI vi_zero() { return _mm256_setzero_si256(); }
inline VI vi_add(VI a, VI b) { return _mm256_add_epi32(a, b); }
inline VI vi_mullo(VI a, VI b) { return _mm256_mullo_epi32(a, b); }
inline VI vi_dpbusd(VI acc, VI u, VI s) { return _mm256_dpbusd_avx_epi32(acc, u, s); }
inline VI vi_dpwssd(VI acc, VI a, VI b) { return _mm256_dpwssd_avx_epi32(acc, a, b); }
inline VF vf_load(const void* p) { return _mm256_loadu_ps(static_cast<const float*>(p)); }
inline VF vf_set1(float v) { return _mm256_set1_ps(v); }
inline VF vf_zero() { return _mm256_setzero_ps(); }
inline VF vf_cvt(VI a) { return _mm256_cvtepi32_ps(a); }
inline VF vf_mul(VF a, VF b) { return _mm256_mul_ps(a, b); }
inline VF vf_fmadd(VF a, VF b, VF c) { return _mm256_fmadd_ps(a, b, c); }
inline VF vf_fnmadd(VF a, VF b, VF c) { return _mm256_fnmadd_ps(a, b, c); }
inline void vf_store(float* p, VF v) { _mm256_store_ps(p, v); }
inline __m256i dot4(__m256i acc, __m256i u, __m256i s) { return vi_dpbusd(acc, u, s); }
}  // namespace

#include "cpu/qgemm_impl.inc"

namespace sl4j::cpu {
const QGemm& qgemm_avxvnni() { return kQGemm; }
}  // namespace sl4j::cpu
#endif
