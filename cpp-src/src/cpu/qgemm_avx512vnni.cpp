// Tiled integer GEMM (qgemm_impl.inc), AVX-512 VNNI: 16 activation rows per zmm, a tile of 8
// weight rows x 16 activation rows (measured faster here than 4 x 32 and 12 x 16), the weight
// dwords broadcast from the unpacked tile. And the kernels on repacked weights (qpacked_impl.inc):
// a whole group of 16 weight rows per zmm, a GEMM tile of 2 x 16 weight rows x 4 activation rows
// (measured faster here than 1 x 16 x 8, 2 x 16 x 6 or 8, 3 x 16 x 4).
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
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")
#include <immintrin.h>
// GCC 12 takes the _mm512_undefined_ps() that _mm512_cvtepi32_ps starts from for a read of an
// uninitialised value once inlined (-Wmaybe-uninitialized); every lane is written. Silenced for
// this file only, as in kernels_avx512.cpp.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace {
constexpr int kL = 16, kRW = 8, kG = 1;
constexpr int kNV = 2, kNA = 4;  // repacked GEMM tile: 32 zmm
constexpr bool kWideWeights = true;
using VI = __m512i;
using VF = __m512;
inline VI vi_load(const void* p) { return _mm512_loadu_si512(p); }
inline VI vi_set1(int32_t v) { return _mm512_set1_epi32(v); }
inline VI vi_zero() { return _mm512_setzero_si512(); }
inline VI vi_add(VI a, VI b) { return _mm512_add_epi32(a, b); }
inline VI vi_mullo(VI a, VI b) { return _mm512_mullo_epi32(a, b); }
inline VI vi_dpbusd(VI acc, VI u, VI s) { return _mm512_dpbusd_epi32(acc, u, s); }
inline VI vi_dpwssd(VI acc, VI a, VI b) { return _mm512_dpwssd_epi32(acc, a, b); }
inline VF vf_load(const void* p) { return _mm512_loadu_ps(p); }
inline VF vf_set1(float v) { return _mm512_set1_ps(v); }
inline VF vf_zero() { return _mm512_setzero_ps(); }
inline VF vf_cvt(VI a) { return _mm512_cvtepi32_ps(a); }
inline VF vf_mul(VF a, VF b) { return _mm512_mul_ps(a, b); }
inline VF vf_fmadd(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }
inline VF vf_fnmadd(VF a, VF b, VF c) { return _mm512_fnmadd_ps(a, b, c); }
inline void vf_store(float* p, VF v) { _mm512_store_ps(p, v); }
inline __m256i dot4(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
inline VI vi_nib_lo(VI p) { return _mm512_and_si512(p, _mm512_set1_epi8(0x0F)); }
inline VI vi_nib_hi(VI p) { return _mm512_and_si512(_mm512_srli_epi16(p, 4), _mm512_set1_epi8(0x0F)); }
inline VF vf_half(const void* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(static_cast<const __m256i*>(p))); }
inline VF vf_add(VF a, VF b) { return _mm512_add_ps(a, b); }
inline void vf_storeu(float* p, VF v) { _mm512_storeu_ps(p, v); }
}  // namespace

#include "cpu/qgemm_impl.inc"
#include "cpu/qpacked_impl.inc"

namespace sl4j::cpu {
const QGemm& qgemm_avx512vnni() { return kQGemm; }
const QPacked& qpacked_avx512vnni() { return qpacked::kQPacked; }
}  // namespace sl4j::cpu
#endif
