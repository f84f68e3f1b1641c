// The per-SIMD-level compute kernels behind matmul. Each level lives in its own
// translation unit compiled under a target pragma (kernels_<level>.cpp, all
// sharing kernels_impl.inc); the drivers in matmul.cpp pick one table at run time.
#pragma once
#include <cstdint>

#include "cpu/simd.h"

namespace sl4j::cpu {

struct KernelTable {
    int mr;  // rows of `a` per micro-kernel call (at most)
    int nr;  // columns of `b` per micro-kernel call (exactly)
    // Decode n elements of a supported type (n a whole number of blocks).
    void (*dequant)(int32_t type, const void* src, float* dst, int64_t n);
    // sum_p a[p] * b[p], in a fixed order for a given level and n.
    float (*dot)(const float* a, const float* b, int64_t n);
    // out[p] = sum_j q[j] * rows[p*stride + j] for p < count (rows of n floats).
    void (*dot_rows)(float* out, const float* q, const float* rows, int64_t stride, int64_t count, int64_t n);
    // c[i*nr + j] (+)= sum_{p<kc} a[p*mr + i] * b[p*ldb + j] for i < rows (1..mr), j < nr:
    // `a` holds mr rows packed p-major (see pack_rows in matmul.cpp); with `add`
    // the sums start from c's values (k-blocking), else from zero.
    void (*kern)(const float* a, int rows, const float* b, int64_t ldb, int64_t kc, float* c, bool add);
    // The prefill GEMM's weight panel: columns [0, kc) of weight rows r < rows (row r at
    // w + r * rb, in `type`; kc a whole number of blocks) decoded into panel[p*nr + r],
    // rows rows..nr-1 zero. buf: scratch of nr * kc floats for types decoded row by row.
    void (*pack_panel)(int32_t type, const void* w, int64_t rb, int rows, int64_t kc, float* panel, float* buf);
    // y[j] += s * x[j]
    void (*axpy)(float* y, float s, const float* x, int64_t n);
    // y[j] += sum_{p<count} w[p] * rows[p*stride + j]: count axpy calls in one, same sums.
    void (*axpy_rows)(float* y, const float* w, const float* rows, int64_t stride, int64_t count, int64_t n);
    // The decode step: out[i*ldo + r] = sum_j x[i*k + j] * W[r][j] for rows r in
    // [r0, r1) of w (row stride rb bytes) and activation rows i < n (any n, but
    // meant for a few). Decodes each weight block once for all n rows.
    void (*gemv)(int32_t type, const void* w, int64_t rb, int64_t r0, int64_t r1, const float* x, int64_t n,
                 int64_t k, float* out, int64_t ldo);
    // Sum of n floats read once at full streaming speed (the read-bandwidth floor).
    float (*stream_sum)(const float* a, int64_t n);
    // dst[j] = the FP16 bits of src[j], rounded to nearest even: f32_to_half (quant/fp16.h) bit
    // for bit, NaNs and subnormals included.
    void (*f16_encode)(const float* src, uint16_t* dst, int64_t n);
    // out[j] = silu(gate[j]) * up[j] with the exponential on vectors (the fast precision): within
    // a few ulp of swiglu_elem (core/kernel_math.h), which the scalar level runs unchanged.
    void (*swiglu_fast)(float* out, const float* gate, const float* up, int64_t n);
};

const KernelTable& kernels_scalar();
const KernelTable& kernels_avx2();    // only valid to call when the CPU has AVX2+FMA
const KernelTable& kernels_avx512();  // only valid to call when the CPU has AVX-512F/BW/VL/DQ

const KernelTable& kernels_for(Simd level);

}  // namespace sl4j::cpu
