#include "cpu/ops_lora.h"

#include "core/hash.h"
#include "cpu/threadpool.h"

namespace sl4j::cpu {

namespace {
// Dropout keeps element i of a call with mask seed `seed` when
// double(mix64(seed ^ mix64(i))) >= p * 2^64. Rounding to double is monotonic, so
// that is an integer test h >= threshold(p), with the threshold found once per call
// (the mask stays bit-for-bit the one the double comparison gives).
uint64_t keep_threshold(float p) {
    const double bound = double(p) * 18446744073709551616.0;
    uint64_t lo = 0, hi = ~uint64_t(0);  // double(hi) = 2^64 >= bound: the answer is in [lo, hi]
    while (lo < hi) {
        const uint64_t mid = lo + (hi - lo) / 2;
        if (double(mid) >= bound)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}
inline bool kept(uint64_t threshold, uint64_t seed, int64_t i) {
    return mix64(seed ^ mix64(uint64_t(i))) >= threshold;
}
}  // namespace

void dropout_forward(float* xd, const float* x, float p, uint64_t seed, int64_t n) {
    const float keep_scale = 1.f / (1.f - p);
    const uint64_t threshold = keep_threshold(p);
    parallel_for(n, 4096, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) xd[i] = kept(threshold, seed, i) ? x[i] * keep_scale : 0.f;
    });
}

void dropout_backward(float* dx, const float* dxd, float p, uint64_t seed, int64_t n) {
    const float keep_scale = 1.f / (1.f - p);
    const uint64_t threshold = keep_threshold(p);
    parallel_for(n, 4096, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i)
            if (kept(threshold, seed, i)) dx[i] += dxd[i] * keep_scale;
    });
}

void add_scaled(float* y, const float* x, float alpha, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void scale(float* x, float alpha, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] *= alpha;
}

void outer_accumulate(float* out, const float* a, const float* b, int64_t n, int64_t P, int64_t Q, float alpha) {
    parallel_for(P, 1, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
            float* o = out + p * Q;
            for (int64_t i = 0; i < n; ++i) {
                const float c = alpha * a[i * P + p];
                if (c == 0.f) continue;
                const float* bi = b + i * Q;
                for (int64_t q = 0; q < Q; ++q) o[q] += c * bi[q];
            }
        }
    });
}

}  // namespace sl4j::cpu
