// The `fast` precision's integer path: activations are quantised to 8-bit blocks
// once per product (block_q8_a32 for Q4_0/Q8_0 weights, block_q8_K for the
// K-quants, see quant/blocks.h; the 32-blocks keep an FP16 scale, the 256-blocks a
// float one, as ggml's block_q8_0 and block_q8_K) and each weight row meets them in integer dot
// products, scaled to float once per block. Per SIMD level: AVX-512 VNNI
// (vpdpbusd on 256-bit vectors), AVX-VNNI (the same instruction, VEX-encoded),
// AVX2 (vpmaddubsw + vpmaddwd) and a scalar reference; all give the same integer
// sums, so levels differ only in float rounding.
#pragma once
#include <cstdint>

namespace sl4j::cpu {

// Activation block kind a weight type pairs with.
enum class QAct { kNone = 0, kQ8_32 = 1, kQ8_K = 2 };

// kNone when the type has no integer path (float types, Q4_1, ...).
QAct qact_for(int32_t wtype);
// Bytes of one activation row of k elements (k a multiple of the block size).
int64_t qact_row_bytes(QAct a, int64_t k);
// Quantise one row of k floats into dst (qact_row_bytes(a, k) bytes).
void quantize_act_row(QAct a, const float* x, void* dst, int64_t k);

struct QKernelTable {
    const char* name;  // "scalar", "avx2", "avxvnni", "avx512vnni"
    // out[i * ldo] = sum_j W[j] * X_i[j] for i < nx (1..kQdotMaxX): w is one row of k
    // elements in wtype (qact_for(wtype) != kNone), X_i the quantised activation row at
    // xq + i * xstride bytes. The weight row's blocks are unpacked once for all nx rows.
    void (*dot)(int32_t wtype, const void* w, const void* xq, int64_t xstride, int nx, int64_t k, float* out,
                int64_t ldo);
};
constexpr int kQdotMaxX = 4;

const QKernelTable& qkernels_scalar();
const QKernelTable& qkernels_avx2();        // only on a CPU with AVX2
const QKernelTable& qkernels_avxvnni();     // only on a CPU with AVX-VNNI
const QKernelTable& qkernels_avx512vnni();  // only on a CPU with AVX-512 F/BW/VL + VNNI

// Which of the above the CPU can run (scalar always).
bool qkernels_supported(const QKernelTable& t);
// The best table the CPU runs within the SIMD cap of simd() (SL4J_SIMD, tests).
const QKernelTable& qkernels();

}  // namespace sl4j::cpu
