// AMX (Intel Advanced Matrix Extensions, Sapphire Rapids and later) for the fast precision's prefill:
// int8 tiles (TDPBSSD) for Q4_0 / Q8_0 weights against the 8-bit activation blocks, BF16 tiles
// (TDPBF16PS) for BF16 weights against BF16-rounded activations.
//
// The kernels (cpu/amx_kernel.inc) are written once against a tile-operation layer and compiled
// twice: on the real instructions (cpu/amx_hw.cpp, built only when the compiler takes -mamx-tile
// -mamx-int8 -mamx-bf16) and on TileEmu below, a scalar model of the tile unit. Real work only
// ever runs on the hardware; the emulated kernels serve the tests (on any x86-64) and the
// self-test that compares hardware and emulation once before AMX is first used.
#pragma once
#include <cstdint>
#include <string>

#include "cpu/qdot.h"

namespace sl4j::cpu {

// ---------------------------------------------------------------------------------------------
// Tile layer

// LDTILECFG's 64-byte operand. Palette 1: 8 tiles (tmm0..tmm7), each up to 16 rows of up to
// 64 bytes; colsb and rows of tiles 8..15 and the reserved bytes are zero.
struct TileConfig {
    uint8_t palette;       // 1 (0 releases the tiles)
    uint8_t start_row;     // 0: restarts after an interrupted load are not used
    uint8_t reserved[14];  // zero
    uint16_t colsb[16];    // bytes per row of tile t
    uint8_t rows[16];      // rows of tile t
};
static_assert(sizeof(TileConfig) == 64, "LDTILECFG reads 64 bytes");

constexpr int kTiles = 8, kTileRows = 16, kTileColsb = 64;

// The tile unit modelled per instruction, as the Intel SDM's pseudo-code describes it:
// - config: LDTILECFG palette 1; what raises #GP there (palette > 1, rows > 16, colsb > 64, a
//   tile with only one of rows / colsb zero, non-zero reserved bytes or tiles 8..15) throws
//   sl4j::Error (SL4J_ERR_INTERNAL); start_row != 0 is not modelled and throws too. All tiles
//   are zeroed. Palette 0 is release().
// - load / store: TILELOADD / TILESTORED, rows x colsb bytes at base + row * stride; a load
//   zeroes the rest of each row and the rows past `rows`.
// - dpbssd / dpbusd: TDPBSSD (s8 x s8) / TDPBUSD (u8 of A x s8 of B). C[m][n] (dword) +=
//   the 4 products of A[m] dword k with B[k] dword n, for k < colsb(A) / 4, each dword sum added
//   with 32-bit wraparound (no saturation).
// - dpbf16ps: TDPBF16PS as the SDM's current pseudo-code gives it, per row m of C: the
//   even products A[m].bf16[2k] * B[k].bf16[2n] and the odd ones A[m].bf16[2k+1] *
//   B[k].bf16[2n+1] accumulate apart, each in an FP32 FMA chain from zero over k ascending; then
//   C[m][n] = C[m][n] + (even + odd). Every operation rounds to nearest even; denormal inputs
//   (the bf16 operands, C) are read as zero of their sign (DAZ) and denormal results written as
//   zero of their sign (FTZ), whatever MXCSR says; MXCSR is neither read nor written. (The
//   Intrinsics Guide's shorter pseudo-code adds each product to C in turn: that is not what is
//   modelled.)
// - The tile-shape checks of the dot products (#UD on hardware): all of C, A, B configured and
//   distinct, rows(C) == rows(A), colsb(A) == 4 * rows(B), colsb(C) == colsb(B), colsb of A and
//   C multiples of 4. A failed check throws sl4j::Error (SL4J_ERR_INTERNAL), so a kernel whose
//   tiles would fault on the hardware fails its tests here.
// Not modelled: restarts (start_row), exceptions other than these, NaN payloads beyond what the
// host's FP32 arithmetic gives.
class TileEmu {
public:
    TileEmu();
    void config(const TileConfig& c);
    void release();
    void load(int t, const void* base, int64_t stride);
    void store(int t, void* base, int64_t stride) const;
    void zero(int t);
    void dpbssd(int c, int a, int b);
    void dpbusd(int c, int a, int b);
    void dpbf16ps(int c, int a, int b);
    // The kernels' spelling (tile numbers are immediates on the hardware).
    template <int T> void load(const void* base, int64_t stride) { load(T, base, stride); }
    template <int T> void store(void* base, int64_t stride) const { store(T, base, stride); }
    template <int T> void zero() { zero(T); }
    template <int C, int A, int B> void dpbssd() { dpbssd(C, A, B); }
    template <int C, int A, int B> void dpbf16ps() { dpbf16ps(C, A, B); }
    // Tests: byte j of row r of tile t.
    uint8_t byte(int t, int r, int j) const { return data_[t][r][j]; }

private:
    void check_tile(const char* op, int t) const;
    void check_dp(const char* op, int c, int a, int b) const;
    template <bool kSignedA>
    void dp_int8(const char* op, int c, int a, int b);
    bool configured_ = false;
    uint8_t rows_[kTiles];
    uint16_t colsb_[kTiles];
    alignas(64) uint8_t data_[kTiles][kTileRows][kTileColsb];
};

// ---------------------------------------------------------------------------------------------
// Kernels

// Q4_0 / Q8_0 weights (QGemm, lanes 16). Panel per group of 16 activation rows, per block of 32:
// s8 q[16][32] (tile A: 16 rows x 32 bytes), float d[16]. Weights, unpacked per 16 rows and
// block: s8 q[8][16][4] (tile B, VNNI: dword k of row r holds elements 4k..4k+3 of weight row r;
// Q4_0 as q - 8), float d[16]. One TDPBSSD per block gives the block's integer sums for 16 x 16
// outputs; each is converted and added as fma(sum, dx * dw, acc), block after block, so every
// output is bit-identical to the other levels' tiled GEMM (qgemm_impl.inc).
const QGemm& amx_qgemm_emulated();

// BF16 weights against activations rounded to BF16 (to nearest even): out[i * ldo + r] =
// sum_j bf16(x_i[j]) * W_r[j], accumulated in FP32 by TDPBF16PS over chunks of 32 elements
// (k need not be a multiple: the panel and weight tiles are zero-padded).
struct AmxBf16Gemm {
    int64_t (*panel_bytes)(int64_t n, int64_t k);
    // Rounds groups [g0, g1) of 16 rows of x (n x k floats, row stride k) into the panel.
    void (*pack)(const float* x, int64_t n, int64_t k, void* panel, int64_t g0, int64_t g1);
    // w: rows BF16 weight rows of k elements, wstride bytes apart.
    void (*gemm)(const void* w, int64_t wstride, int64_t rows, const void* panel, int64_t n, int64_t k, float* out,
                 int64_t ldo);
};
const AmxBf16Gemm& amx_bf16_emulated();

// The hardware kernels: nullptr where AMX is not usable (see amx_status). Never the emulation,
// unless a test has routed the dispatch to it with amx_route_for_tests.
const QGemm* amx_qgemm();
const AmxBf16Gemm* amx_bf16();

// Tests only: make amx_qgemm / amx_bf16 return these (the emulated kernels, to run the fast
// prefill's AMX dispatch on a CPU without AMX); nullptr, nullptr restores the decision. Not for
// use while other threads run matmuls.
void amx_route_for_tests(const QGemm* q, const AmxBf16Gemm* b);

// ---------------------------------------------------------------------------------------------
// Run-time decision

// What the machine says (amx_probe reads it; tests make their own).
struct AmxProbe {
    bool compiled;  // this build has the hardware kernels (the compiler took -mamx-*)
    bool tile, int8, bf16;  // CPUID.(EAX=7,ECX=0):EDX bits 24 (AMX-TILE), 25 (AMX-INT8), 22 (AMX-BF16)
    bool avx512;    // AVX-512 F/BW/VL/DQ + FMA + F16C, the level the kernels' float epilogue is built for
    bool os_tile;   // OSXSAVE and XCR0 bits 17 (XTILECFG) and 18 (XTILEDATA): the OS manages the state
};
AmxProbe amx_probe();

// Side effects of the decision, replaceable by tests.
struct AmxHooks {
    // arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) and the check with ARCH_GET_XCOMP_PERM:
    // 0 when granted, else the errno.
    int (*request_permission)();
    // Hardware against emulation (int8: true; bf16: false): "" when they agree, else what differed.
    // (the default runs both in a child process, cpu/isolated.h: a fault there turns AMX off).
    std::string (*self_test)(bool int8);
};
AmxHooks amx_default_hooks();

struct AmxStatus {
    bool int8 = false, bf16 = false;  // which hardware kernels real work may use
    std::string reason;               // one line for bench --json, starting "amx: "
};

// env: SL4J_AMX's value (nullptr: unset); "0" turns AMX off. In order: the switch, the build,
// CPUID, the OS, the permission request (only when everything before allows AMX), the self-test
// of each kernel kind (only once permission is granted); a failed self-test turns that kind off.
AmxStatus amx_decide(const AmxProbe& p, const char* env, const AmxHooks& hooks);

// The process's decision, made once on first call (SL4J_AMX read then).
const AmxStatus& amx_status();

}  // namespace sl4j::cpu
