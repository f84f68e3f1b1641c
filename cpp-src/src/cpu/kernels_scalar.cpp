// Baseline kernels: plain C++ on a 4-float "vector" the compiler maps onto
// whatever the build's base ISA offers (SSE2 on x86-64). Multiply and add stay
// separate, as without FMA hardware.
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "cpu/kernels.h"
#include "quant/dequant_kernels.h"

namespace {
struct vf {
    float v[4];
};
static inline vf vzero() { return vf{{0, 0, 0, 0}}; }
static inline vf vload(const float* p) { return vf{{p[0], p[1], p[2], p[3]}}; }
static inline void vstore(float* p, vf a) {
    for (int i = 0; i < 4; ++i) p[i] = a.v[i];
}
static inline vf vset1(float s) { return vf{{s, s, s, s}}; }
static inline vf vadd(vf a, vf b) {
    vf r;
    for (int i = 0; i < 4; ++i) r.v[i] = a.v[i] + b.v[i];
    return r;
}
static inline vf vfma(vf a, vf b, vf c) {
    vf r;
    for (int i = 0; i < 4; ++i) r.v[i] = a.v[i] * b.v[i] + c.v[i];
    return r;
}
static inline float vhsum(vf a) { return (a.v[0] + a.v[2]) + (a.v[1] + a.v[3]); }
static inline void vtranspose(vf (&r)[4]) {
    for (int i = 0; i < 4; ++i)
        for (int j = i + 1; j < 4; ++j) std::swap(r[i].v[j], r[j].v[i]);
}
}  // namespace

#define KNS scalar_impl
#define VW 4
#define MR_MAX 6
#include "cpu/kernels_impl.inc"

namespace sl4j::cpu {
const KernelTable& kernels_scalar() { return scalar_impl::kTable; }
}  // namespace sl4j::cpu
