#include "core/normal.h"

#include <cmath>

namespace sl4j {

namespace {

constexpr double kR = 3.442619855899;            // start of the tail
constexpr double kV = 9.91256303526217e-3;       // area of each layer
constexpr double kM = 2147483648.0;              // 2^31: |hz| scale

ZigguratTables build() {
    ZigguratTables t{};
    double dn = kR, tn = kR;
    const double q = kV / std::exp(-0.5 * dn * dn);
    t.k[0] = (uint32_t)(dn / q * kM);
    t.k[1] = 0;
    t.w[0] = (float)(q / kM);
    t.w[127] = (float)(dn / kM);
    t.f[0] = 1.0f;
    t.f[127] = (float)std::exp(-0.5 * dn * dn);
    for (int i = 126; i >= 1; --i) {
        dn = std::sqrt(-2.0 * std::log(kV / dn + std::exp(-0.5 * dn * dn)));
        t.k[i + 1] = (uint32_t)(dn / tn * kM);
        tn = dn;
        t.f[i] = (float)std::exp(-0.5 * dn * dn);
        t.w[i] = (float)(dn / kM);
    }
    return t;
}

}  // namespace

const ZigguratTables& ZigguratTables::get() {
    static const ZigguratTables t = build();
    return t;
}

float NormalStream::slow(int i, int32_t hz) {
    const ZigguratTables& t = ZigguratTables::get();
    for (;;) {
        const float x = (float)hz * t.w[i];
        if (i == 0) {  // the tail x > r: Marsaglia's exact method
            double xx, yy;
            do {
                xx = -std::log((double)uniform()) / kR;
                yy = -std::log((double)uniform());
            } while (yy + yy < xx * xx);
            return (float)(hz > 0 ? kR + xx : -kR - xx);
        }
        // the wedge between layer i and the curve
        if (t.f[i] + uniform() * (t.f[i - 1] - t.f[i]) < std::exp(-0.5 * (double)x * x)) return x;
        const uint64_t u = draw();
        i = (int)(u & 127);
        hz = (int32_t)(uint32_t)(u >> 32);
        const uint32_t mag = hz < 0 ? 0u - (uint32_t)hz : (uint32_t)hz;
        if (mag < t.k[i]) return (float)hz * t.w[i];
    }
}

uint64_t normal_row_key(uint64_t seed, const char* name, int64_t row) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char* p = name; *p != '\0'; ++p) h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return mix64(mix64(seed) ^ h) ^ mix64((uint64_t)row);
}

}  // namespace sl4j
