// AVX2 + FMA kernels: 8-float vectors, a 6 x 16 register tile (12 of the 16 ymm
// registers hold accumulators).
#include <cstdint>
#include <cstring>

#include "stackllama4j.h"

// Everything below (the block decoders included) is compiled for this level.
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx2,fma,f16c")
#include <immintrin.h>
#endif

#include "cpu/kernels.h"
#include "quant/dequant_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
namespace {
#define KERNEL_HAS_AVX2
#include "cpu/dequant_avx2.inc"

typedef __m256 vf;
static inline vf vzero() { return _mm256_setzero_ps(); }
static inline vf vload(const float* p) { return _mm256_loadu_ps(p); }
static inline void vstore(float* p, vf a) { _mm256_storeu_ps(p, a); }
static inline vf vset1(float s) { return _mm256_set1_ps(s); }
static inline vf vadd(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf vfma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline float vhsum(vf a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
}  // namespace

#define KNS avx2_impl
#define VW 8
#define MR_MAX 6
#include "cpu/kernels_impl.inc"

namespace sl4j::cpu {
const KernelTable& kernels_avx2() { return avx2_impl::kTable; }
}  // namespace sl4j::cpu
#else
namespace sl4j::cpu {
const KernelTable& kernels_avx2() { return kernels_scalar(); }
}  // namespace sl4j::cpu
#endif
