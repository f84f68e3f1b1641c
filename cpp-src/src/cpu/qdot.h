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

// Prefill (more than 8 activation rows): a register-tiled GEMM over the same integer maths.
// The activations' quantised rows are repacked once per product into a panel of groups of
// `lanes` rows (row i of a group in 32-bit lane i, as x + 128 in u8), and each tile of weight
// rows, unpacked once to signed bytes with its per-block scales and offset corrections, meets
// every group of the panel; per block the integer sums are those of `dot`.
struct QGemm {
    int lanes;  // activation rows per group of the panel
    // Whether gemm takes this weight type (AVX2: not Q8_0, whose products overflow vpmaddubsw).
    bool (*supports)(int32_t wtype);
    // Bytes of the panel of n activation rows (padded to whole groups) of k elements.
    int64_t (*panel_bytes)(QAct a, int64_t n, int64_t k);
    // Repack groups [g0, g1) of the quantised rows (row i at xq + i * xstride) into the panel.
    void (*pack)(QAct a, const void* xq, int64_t xstride, int64_t n, int64_t k, void* panel, int64_t g0, int64_t g1);
    // out[i * ldo + r] = sum_j W_r[j] * X_i[j] for r < rows, i < n: W_r at w + r * wstride in wtype,
    // X_i in the panel packed for qact_for(wtype).
    void (*gemm)(int32_t wtype, const void* w, int64_t wstride, int64_t rows, const void* panel, int64_t n, int64_t k,
                 float* out, int64_t ldo);
};

// Kernels on weights repacked by cpu/repack.h (groups of kRepackRows rows, one row per 32-bit
// lane). Each gives, bit for bit, what its level's kernels give on the stored rows: `gemv` what
// QKernelTable::dot gives row by row (the decode order: per row, 8 lane sums over the blocks and
// the Q4_0 offset through a separate float sum), `gemm` what the level's prefill gives (QGemm::gemm
// where the level has one for the type, else `dot`).
struct QPacked {
    bool (*supports)(int32_t wtype);
    // out[i * ldo + r] = sum_j W_r[j] * X_i[j] for i < nx (1..kQdotMaxX) and the rows r < m of
    // groups [g0, g1); X_i the quantised activation row at xq + i * xstride.
    void (*gemv)(int32_t wtype, const void* packed, int64_t m, int64_t k, int64_t g0, int64_t g1, const void* xq,
                 int64_t xstride, int nx, float* out, int64_t ldo);
    // The same for n activation rows (prefill), in the prefill order.
    void (*gemm)(int32_t wtype, const void* packed, int64_t m, int64_t k, int64_t g0, int64_t g1, const void* xq,
                 int64_t xstride, int64_t n, float* out, int64_t ldo);
};

struct QKernelTable {
    const char* name;  // "scalar", "avx2", "avxvnni", "avx512vnni"
    // out[i * ldo] = sum_j W[j] * X_i[j] for i < nx (1..kQdotMaxX): w is one row of k
    // elements in wtype (qact_for(wtype) != kNone), X_i the quantised activation row at
    // xq + i * xstride bytes. The weight row's blocks are unpacked once for all nx rows.
    void (*dot)(int32_t wtype, const void* w, const void* xq, int64_t xstride, int nx, int64_t k, float* out,
                int64_t ldo);
    // Decode: out[r] = sum_j W_r[j] * X[j] for r < nrows (1..kQdotMaxX), W_r at w + r * wstride, X
    // one quantised activation row; each out[r] is bit-identical to `dot` of row r with nx = 1.
    // Q4_0 and the K-quants run the rows' accumulator chains interleaved, so one activation row does
    // not wait on one chain's latency; Q8_0 runs the rows one after another.
    void (*rows)(int32_t wtype, const void* w, int64_t wstride, int nrows, const void* xq, int64_t k, float* out);
    const QGemm* gemm;  // nullptr: prefill runs `dot` over tiles of kQdotMaxX activation rows
    // quantize_act_row at this level, bit for bit.
    void (*quantize)(QAct a, const float* x, void* dst, int64_t k);
    const QPacked* packed;  // kernels on repacked weights (cpu/repack.h)
};
constexpr int kQdotMaxX = 4;

const QKernelTable& qkernels_scalar();
const QKernelTable& qkernels_avx2();        // only on a CPU with AVX2
const QKernelTable& qkernels_avxvnni();     // only on a CPU with AVX-VNNI
const QKernelTable& qkernels_avx512vnni();  // only on a CPU with AVX-512 F/BW/VL + VNNI
// Their prefill GEMMs (cpu/qgemm_<level>.cpp); only on a CPU that runs the level.
const QGemm& qgemm_avx2();
const QGemm& qgemm_avxvnni();
const QGemm& qgemm_avx512vnni();
// Their kernels on repacked weights (cpu/qpacked_impl.inc, compiled in cpu/qgemm_<level>.cpp;
// the scalar reference in cpu/qdot_scalar.cpp).
const QPacked& qpacked_avx2();
const QPacked& qpacked_avxvnni();
const QPacked& qpacked_avx512vnni();

// Which of the above the CPU can run (scalar always).
bool qkernels_supported(const QKernelTable& t);
// The best table the CPU runs within the SIMD cap of simd() (SL4J_SIMD, tests).
const QKernelTable& qkernels();

}  // namespace sl4j::cpu
