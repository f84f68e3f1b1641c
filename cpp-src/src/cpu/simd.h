// Run-time SIMD dispatch. Kernels are compiled per level with target
// attributes, so the library runs on any x86-64 and uses what the CPU has.
#pragma once

namespace sl4j::cpu {

enum class Simd { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

// Best level the CPU supports, capped by SL4J_SIMD (read once) and by the
// test cap below.
Simd simd();

// Highest level the CPU itself supports (ignores caps).
Simd simd_detected();

// Tests: cap the level used from now on (kAvx512 lifts the cap). Not for use
// while other threads run matmuls.
void set_simd_cap(Simd cap);

const char* simd_name(Simd s);

}  // namespace sl4j::cpu
