#include "cpu/ops_lora.h"

#include "core/kernel_math.h"
#include "cpu/threadpool.h"

namespace sl4j::cpu {

void dropout_forward(float* xd, const float* x, float p, uint64_t seed, int64_t n) {
    const float keep_scale = 1.f / (1.f - p);
    const uint64_t threshold = dropout_keep_threshold(p);
    parallel_for(n, 4096, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) xd[i] = dropout_kept(threshold, seed, i) ? x[i] * keep_scale : 0.f;
    });
}

void dropout_backward(float* dx, const float* dxd, float p, uint64_t seed, int64_t n) {
    const float keep_scale = 1.f / (1.f - p);
    const uint64_t threshold = dropout_keep_threshold(p);
    parallel_for(n, 4096, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i)
            if (dropout_kept(threshold, seed, i)) dx[i] += dxd[i] * keep_scale;
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
