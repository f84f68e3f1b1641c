// The scalar model of the AMX tile unit (TileEmu, semantics in cpu/amx.h) and the AMX kernels
// compiled on it: what the tests run on any x86-64, and what the self-test holds the hardware to.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "cpu/amx.h"
#include "quant/blocks.h"
#include "quant/fp16.h"
#include "stackllama4j.h"

namespace sl4j::cpu {

namespace {
[[noreturn]] void fault(const char* op, const std::string& what) {
    SL4J_FAIL(SL4J_ERR_INTERNAL, "AMX emulation: %s: %s (the hardware would fault)", op, what.c_str());
}

// DAZ / FTZ: a denormal FP32 value becomes zero of its sign.
float flush(float v) { return std::fabs(v) < FLT_MIN ? std::copysign(0.0f, v) : v; }
}  // namespace

TileEmu::TileEmu() { release(); }

void TileEmu::release() {
    configured_ = false;
    std::memset(rows_, 0, sizeof rows_);
    std::memset(colsb_, 0, sizeof colsb_);
    std::memset(data_, 0, sizeof data_);
}

void TileEmu::config(const TileConfig& c) {
    if (c.palette == 0) return release();
    if (c.palette != 1) fault("LDTILECFG", format("palette %d (only palette 1 exists)", c.palette));
    if (c.start_row != 0) fault("LDTILECFG", "start_row != 0 (restarts are not modelled)");
    for (uint8_t b : c.reserved)
        if (b != 0) fault("LDTILECFG", "reserved bytes 2..15 are not zero");
    for (int t = 0; t < 16; ++t) {
        if (t >= kTiles) {
            if (c.colsb[t] != 0 || c.rows[t] != 0) fault("LDTILECFG", format("tile %d configured (palette 1 has 8)", t));
            continue;
        }
        if (c.rows[t] > kTileRows || c.colsb[t] > kTileColsb)
            fault("LDTILECFG", format("tile %d: %d rows x %d bytes (at most 16 x 64)", t, c.rows[t], c.colsb[t]));
        if ((c.rows[t] == 0) != (c.colsb[t] == 0))
            fault("LDTILECFG", format("tile %d: %d rows x %d bytes (both or neither zero)", t, c.rows[t], c.colsb[t]));
    }
    release();
    configured_ = true;
    for (int t = 0; t < kTiles; ++t) rows_[t] = c.rows[t], colsb_[t] = c.colsb[t];
}

void TileEmu::check_tile(const char* op, int t) const {
    if (!configured_) fault(op, "no tile configuration loaded");
    if (t < 0 || t >= kTiles) fault(op, format("tile %d does not exist", t));
    if (rows_[t] == 0) fault(op, format("tile %d is not configured", t));
}

void TileEmu::load(int t, const void* base, int64_t stride) {
    check_tile("TILELOADD", t);
    std::memset(data_[t], 0, sizeof data_[t]);
    for (int r = 0; r < rows_[t]; ++r) std::memcpy(data_[t][r], static_cast<const char*>(base) + r * stride, colsb_[t]);
}

void TileEmu::store(int t, void* base, int64_t stride) const {
    check_tile("TILESTORED", t);
    for (int r = 0; r < rows_[t]; ++r) std::memcpy(static_cast<char*>(base) + r * stride, data_[t][r], colsb_[t]);
}

void TileEmu::zero(int t) {
    check_tile("TILEZERO", t);
    std::memset(data_[t], 0, sizeof data_[t]);
}

void TileEmu::check_dp(const char* op, int c, int a, int b) const {
    check_tile(op, c), check_tile(op, a), check_tile(op, b);
    if (c == a || c == b || a == b) fault(op, format("tiles %d, %d, %d are not distinct", c, a, b));
    if (colsb_[c] % 4 != 0 || colsb_[a] % 4 != 0)
        fault(op, format("colsb of C (%d) and A (%d) must be multiples of 4", colsb_[c], colsb_[a]));
    if (rows_[c] != rows_[a]) fault(op, format("rows of C (%d) != rows of A (%d)", rows_[c], rows_[a]));
    if (colsb_[a] != 4 * rows_[b]) fault(op, format("colsb of A (%d) != 4 x rows of B (%d)", colsb_[a], rows_[b]));
    if (colsb_[c] != colsb_[b]) fault(op, format("colsb of C (%d) != colsb of B (%d)", colsb_[c], colsb_[b]));
}

// C[m].dword[n] = C[m].dword[n] + sum of the 4 byte products, per k, 32-bit wraparound; bytes
// of C's rows past colsb and rows past rows(C) end zero, as the hardware writes them.
template <bool kSignedA>
void TileEmu::dp_int8(const char* op, int c, int a, int b) {
    check_dp(op, c, a, b);
    const int M = rows_[c], N = colsb_[c] / 4, K = colsb_[a] / 4;
    for (int m = 0; m < M; ++m) {
        uint32_t acc[kTileColsb / 4] = {};
        for (int n = 0; n < N; ++n) std::memcpy(&acc[n], &data_[c][m][4 * n], 4);
        for (int kk = 0; kk < K; ++kk)
            for (int n = 0; n < N; ++n) {
                int32_t s = 0;
                for (int e = 0; e < 4; ++e) {
                    const uint8_t x = data_[a][m][4 * kk + e], y = data_[b][kk][4 * n + e];
                    s += (kSignedA ? (int32_t)(int8_t)x : (int32_t)x) * (int32_t)(int8_t)y;
                }
                acc[n] += (uint32_t)s;
            }
        std::memset(data_[c][m], 0, kTileColsb);
        std::memcpy(data_[c][m], acc, 4 * (size_t)N);
    }
    for (int m = M; m < kTileRows; ++m) std::memset(data_[c][m], 0, kTileColsb);
}

void TileEmu::dpbssd(int c, int a, int b) { dp_int8<true>("TDPBSSD", c, a, b); }
void TileEmu::dpbusd(int c, int a, int b) { dp_int8<false>("TDPBUSD", c, a, b); }

// Per row m, as the SDM's pseudo-code: the even and the odd products of each pair accumulate
// apart over k (FP32 FMAs from zero), then per n their sum is added to C: three roundings to
// nearest even per output and instruction, denormals in and out as zero.
void TileEmu::dpbf16ps(int c, int a, int b) {
    check_dp("TDPBF16PS", c, a, b);
    const int M = rows_[c], N = colsb_[c] / 4, K = colsb_[a] / 4;
    auto bf = [](const uint8_t* p) {  // bf16 -> fp32, denormal as zero
        uint16_t h;
        std::memcpy(&h, p, 2);
        return flush(bf16_bits_to_f32(h));
    };
    for (int m = 0; m < M; ++m) {
        float even[kTileColsb / 4] = {}, odd[kTileColsb / 4] = {};
        for (int kk = 0; kk < K; ++kk)
            for (int n = 0; n < N; ++n) {
                const uint8_t* x = &data_[a][m][4 * kk];
                const uint8_t* y = &data_[b][kk][4 * n];
                even[n] = flush(std::fma(bf(x), bf(y), even[n]));
                odd[n] = flush(std::fma(bf(x + 2), bf(y + 2), odd[n]));
            }
        float acc[kTileColsb / 4] = {};
        for (int n = 0; n < N; ++n) {
            std::memcpy(&acc[n], &data_[c][m][4 * n], 4);
            acc[n] = flush(flush(acc[n]) + flush(even[n] + odd[n]));
        }
        std::memset(data_[c][m], 0, kTileColsb);
        std::memcpy(data_[c][m], acc, 4 * (size_t)N);
    }
    for (int m = M; m < kTileRows; ++m) std::memset(data_[c][m], 0, kTileColsb);
}

namespace {
namespace emu {
using Tiles = TileEmu;
#include "cpu/amx_kernel.inc"
}  // namespace emu
}  // namespace

const QGemm& amx_qgemm_emulated() { return emu::kAmxQGemm; }
const AmxBf16Gemm& amx_bf16_emulated() { return emu::kAmxBf16; }

}  // namespace sl4j::cpu
