// Standard normal samples from a counter-based stream: NormalStream(key) always yields the same
// sequence, so a tensor filled row by row with one stream per row (key = seed, name, row) has the
// same values whatever the thread count or the order the rows are produced in.
//
// Marsaglia and Tsang's ziggurat (2000) with 128 layers: one 64-bit draw per sample on the fast
// path (about 99% of samples), the tail beyond r = 3.4426 sampled exactly by Marsaglia's method.
// Unlike the paper's SHR3 version, the layer index and the magnitude come from separate bits of
// the draw (the index from the low 7 bits, the signed magnitude from the high 32).
#pragma once
#include <cstdint>

#include "core/hash.h"

namespace sl4j {

// The layer tables, built once (thread-safe static initialisation).
struct ZigguratTables {
    uint32_t k[128];  // |hz| < k[i] accepts layer i's sample without a further test
    float w[128];     // hz · w[i] is the sample
    float f[128];     // exp(-x²/2) at layer i's right edge
    static const ZigguratTables& get();
};

class NormalStream {
public:
    explicit NormalStream(uint64_t key) : state_(mix64(key)) {}

    float next() {
        const ZigguratTables& t = ZigguratTables::get();
        const uint64_t u = draw();
        const int i = (int)(u & 127);
        const int32_t hz = (int32_t)(uint32_t)(u >> 32);
        const uint32_t mag = hz < 0 ? 0u - (uint32_t)hz : (uint32_t)hz;
        if (mag < t.k[i]) return (float)hz * t.w[i];
        return slow(i, hz);
    }

    // Uniform in (0, 1): 24 random bits, never 0.
    float uniform() { return ((float)(draw() >> 40) + 0.5f) * (1.0f / 16777216.0f); }

private:
    uint64_t state_;
    uint64_t draw() {
        state_ += 0x9E3779B97F4A7C15ull;
        return mix64(state_);
    }
    float slow(int i, int32_t hz);
};

// Key of row `row` of the tensor `name` under `seed` (FNV-1a of the name, mixed with both).
uint64_t normal_row_key(uint64_t seed, const char* name, int64_t row);

}  // namespace sl4j
