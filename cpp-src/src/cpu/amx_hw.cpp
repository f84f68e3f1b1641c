// The AMX kernels (cpu/amx_kernel.inc) on the instructions. CMake compiles this file with
// -mamx-tile -mamx-int8 -mamx-bf16 and defines SL4J_AMX_HW when the compiler takes them (those
// flags let the compiler emit AMX only where intrinsics are written, so nothing here runs on a
// CPU without AMX unless amx_status() chose it). The float work around the tiles (weight
// unpacking, the int8 epilogue) is compiled for AVX-512, which every AMX CPU has and amx_probe
// checks.
#include <algorithm>
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

#if defined(SL4J_AMX_HW) && defined(__x86_64__)
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")
#include <immintrin.h>

namespace sl4j::cpu {
namespace {
namespace hw {

// GCC's tile intrinsics are asm statements that name only the address register, not the memory
// behind it (GCC 12: no "memory" operand on _tile_loadd / _tile_loadconfig): compiler barriers
// around each load and config keep the stores that fill the buffer before it and later writes to
// the buffer after it; one after each store keeps later reads from moving above it.
inline void barrier() { __asm__ __volatile__("" ::: "memory"); }

// Tile numbers are immediates in the instructions: each case spells its own.
#define SL4J_TILE_SWITCH(T, OP) \
    switch (T) {                \
        case 0: OP(0); break;   \
        case 1: OP(1); break;   \
        case 2: OP(2); break;   \
        case 3: OP(3); break;   \
        case 4: OP(4); break;   \
        case 5: OP(5); break;   \
        case 6: OP(6); break;   \
        case 7: OP(7); break;   \
    }

struct Tiles {
    void config(const TileConfig& c) {
        barrier();
        _tile_loadconfig(&c);
        barrier();
    }
    void release() { _tile_release(); }
    template <int T> void load(const void* base, int64_t stride) {
        barrier();
#define SL4J_OP(n) _tile_loadd(n, base, stride)
        SL4J_TILE_SWITCH(T, SL4J_OP)
#undef SL4J_OP
        barrier();
    }
    template <int T> void store(void* base, int64_t stride) const {
#define SL4J_OP(n) _tile_stored(n, base, stride)
        SL4J_TILE_SWITCH(T, SL4J_OP)
#undef SL4J_OP
        barrier();
    }
    template <int T> void zero() {
#define SL4J_OP(n) _tile_zero(n)
        SL4J_TILE_SWITCH(T, SL4J_OP)
#undef SL4J_OP
    }
    // The kernels use C in tmm0..3, A in tmm4..5, B in tmm6..7: the tile numbers must be literals,
    // so the four triples are spelt out once, for either dot product.
#define SL4J_DP_SWITCH(C, A, B, OP)                                                      \
    static_assert(C == 2 * (A - 4) + (B - 6), "C, A, B as amx_kernel.inc assigns them"); \
    if constexpr (C == 0) OP(0, 4, 6);                                                   \
    if constexpr (C == 1) OP(1, 4, 7);                                                   \
    if constexpr (C == 2) OP(2, 5, 6);                                                   \
    if constexpr (C == 3) OP(3, 5, 7);
    template <int C, int A, int B> void dpbssd() { SL4J_DP_SWITCH(C, A, B, _tile_dpbssd) }
    template <int C, int A, int B> void dpbf16ps() { SL4J_DP_SWITCH(C, A, B, _tile_dpbf16ps) }
#undef SL4J_DP_SWITCH
};
#undef SL4J_TILE_SWITCH

#include "cpu/amx_kernel.inc"

}  // namespace hw
}  // namespace

bool amx_hw_compiled() { return true; }
const QGemm* amx_qgemm_hw() { return &hw::kAmxQGemm; }
const AmxBf16Gemm* amx_bf16_hw() { return &hw::kAmxBf16; }

}  // namespace sl4j::cpu

#else

namespace sl4j::cpu {
bool amx_hw_compiled() { return false; }
const QGemm* amx_qgemm_hw() { return nullptr; }
const AmxBf16Gemm* amx_bf16_hw() { return nullptr; }
}  // namespace sl4j::cpu

#endif
