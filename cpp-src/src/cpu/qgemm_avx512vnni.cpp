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

// out[l * ldo + r] = lane l of acc[r]: a whole 8 x 16 tile transposed in registers (two rounds of
// unpacks give, per 128-bit block q, rows 0-3 and 4-7 of activation rows 4q..4q+3), then 32 stores
// of 4 floats; a partial tile lane by lane.
#define QGEMM_TILE_STORE
inline void tile_store(const VF (&acc)[kRW], int nr, int nl, float* out, int64_t ldo) {
    static_assert(kRW == 8 && kL == 16, "the transpose is written for 8 x 16 tiles");
    if (nr < kRW || nl < kL) {
        alignas(64) float res[kL];
        for (int r = 0; r < nr; ++r) {
            _mm512_store_ps(res, acc[r]);
            for (int l = 0; l < nl; ++l) out[l * ldo + r] = res[l];
        }
        return;
    }
    __m512 t[8], u[4], v[4];
    for (int p = 0; p < 4; ++p) {
        t[2 * p] = _mm512_unpacklo_ps(acc[2 * p], acc[2 * p + 1]);      // r0 r1 of lanes 4q, 4q+1
        t[2 * p + 1] = _mm512_unpackhi_ps(acc[2 * p], acc[2 * p + 1]);  // of lanes 4q+2, 4q+3
    }
    u[0] = _mm512_shuffle_ps(t[0], t[2], 0x44), u[1] = _mm512_shuffle_ps(t[0], t[2], 0xEE);
    u[2] = _mm512_shuffle_ps(t[1], t[3], 0x44), u[3] = _mm512_shuffle_ps(t[1], t[3], 0xEE);
    v[0] = _mm512_shuffle_ps(t[4], t[6], 0x44), v[1] = _mm512_shuffle_ps(t[4], t[6], 0xEE);
    v[2] = _mm512_shuffle_ps(t[5], t[7], 0x44), v[3] = _mm512_shuffle_ps(t[5], t[7], 0xEE);
    for (int j = 0; j < 4; ++j) {  // u[j] / v[j], block q: rows 0-3 / 4-7 of activation row 4q + j
        float* o = out + j * ldo;
        _mm_storeu_ps(o, _mm512_castps512_ps128(u[j]));
        _mm_storeu_ps(o + 4, _mm512_castps512_ps128(v[j]));
        _mm_storeu_ps(o + 4 * ldo, _mm512_extractf32x4_ps(u[j], 1));
        _mm_storeu_ps(o + 4 * ldo + 4, _mm512_extractf32x4_ps(v[j], 1));
        _mm_storeu_ps(o + 8 * ldo, _mm512_extractf32x4_ps(u[j], 2));
        _mm_storeu_ps(o + 8 * ldo + 4, _mm512_extractf32x4_ps(v[j], 2));
        _mm_storeu_ps(o + 12 * ldo, _mm512_extractf32x4_ps(u[j], 3));
        _mm_storeu_ps(o + 12 * ldo + 4, _mm512_extractf32x4_ps(v[j], 3));
    }
}
}  // namespace

#include "cpu/qgemm_impl.inc"
#include "cpu/qpacked_impl.inc"

namespace sl4j::cpu {
const QGemm& qgemm_avx512vnni() { return kQGemm; }
const QPacked& qpacked_avx512vnni() { return qpacked::kQPacked; }
}  // namespace sl4j::cpu
#endif
