// A counter-based hash for dropout masks and init: the same (seed, i) always gives the same bits.
#pragma once
#include <cstdint>

#include "core/hd.h"

namespace sl4j {

SL4J_HD inline uint64_t mix64(uint64_t x) {  // splitmix64's finaliser
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

}  // namespace sl4j
