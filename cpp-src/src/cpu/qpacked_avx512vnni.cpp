// Integer kernels on repacked weights (qpacked_impl.inc), AVX-512 VNNI: a whole group of 16
// weight rows per zmm, 8 activation rows per GEMM register tile.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "cpu/qdot.h"
#include "cpu/repack.h"
#include "quant/blocks.h"
#include "stackllama4j.h"

#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")
#include <immintrin.h>
// As in qgemm_avx512vnni.cpp: GCC 12 reads _mm512_cvtepi32_ps's undefined start value as uninitialised.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace {
constexpr int kL = 16, kNV = 2, kNA = 4;  // 32 zmm: a tile of 2 x 16 weight rows x 4 activation rows
using VI = __m512i;
using VF = __m512;
inline VI vi_load(const void* p) { return _mm512_loadu_si512(p); }
inline VI vi_bcast(const void* p) { return _mm512_set1_epi32(*static_cast<const int32_t*>(p)); }
inline VI vi_nib_lo(VI p) { return _mm512_and_si512(p, _mm512_set1_epi8(0x0F)); }
inline VI vi_nib_hi(VI p) { return _mm512_and_si512(_mm512_srli_epi16(p, 4), _mm512_set1_epi8(0x0F)); }
inline VI vi_dpbusd(VI acc, VI u, VI s) { return _mm512_dpbusd_epi32(acc, u, s); }
inline VI vi_zero() { return _mm512_setzero_si512(); }
inline VF vf_cvt(VI a) { return _mm512_cvtepi32_ps(a); }
inline VF vf_half(const void* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(static_cast<const __m256i*>(p))); }
inline VF vf_set1(float v) { return _mm512_set1_ps(v); }
inline VF vf_zero() { return _mm512_setzero_ps(); }
inline VF vf_add(VF a, VF b) { return _mm512_add_ps(a, b); }
inline VF vf_mul(VF a, VF b) { return _mm512_mul_ps(a, b); }
inline VF vf_fmadd(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }
inline VF vf_fnmadd(VF a, VF b, VF c) { return _mm512_fnmadd_ps(a, b, c); }
inline void vf_storeu(float* p, VF v) { _mm512_storeu_ps(p, v); }
}  // namespace
#include "cpu/qpacked_impl.inc"

namespace sl4j::cpu {
const QPacked& qpacked_avx512vnni() { return kQPacked; }
}  // namespace sl4j::cpu
#else
namespace sl4j::cpu {
const QPacked& qpacked_avx512vnni() { return qpacked_scalar(); }
}  // namespace sl4j::cpu
#endif
