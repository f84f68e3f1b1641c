// AVX-512 kernels: 16-float vectors, a 12 x 32 register tile (24 of the 32 zmm
// registers hold accumulators, leaving room for two b vectors and a broadcast).
#include <cstdint>
#include <cstring>

#include "stackllama4j.h"

// Everything below (the block decoders included) is compiled for this level.
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")
#include <immintrin.h>
#endif

#include "cpu/kernels.h"
#include "quant/dequant_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
namespace {
#define KERNEL_HAS_AVX2
#include "cpu/dequant_avx2.inc"

typedef __m512 vf;
static inline vf vzero() { return _mm512_setzero_ps(); }
static inline vf vload(const float* p) { return _mm512_loadu_ps(p); }
static inline void vstore(float* p, vf a) { _mm512_storeu_ps(p, a); }
static inline vf vset1(float s) { return _mm512_set1_ps(s); }
static inline vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf vfma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline float vhsum(vf a) {
    __m256 h = _mm256_add_ps(_mm512_extractf32x8_ps(a, 0), _mm512_extractf32x8_ps(a, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
}  // namespace

#define KNS avx512_impl
#define VW 16
#define MR_MAX 12
#include "cpu/kernels_impl.inc"

namespace sl4j::cpu {
const KernelTable& kernels_avx512() { return avx512_impl::kTable; }
}  // namespace sl4j::cpu
#else
namespace sl4j::cpu {
const KernelTable& kernels_avx512() { return kernels_scalar(); }
}  // namespace sl4j::cpu
#endif
