// Micro benchmark (not a test): F32 prefill GFLOP/s and decode (n = 1) weight
// GB/s per type, beside memcpy and parallel-read bandwidth measured in the same
// run. Build from the repository root:
//   g++ -std=c++17 -O2 -Icpp-src/include -Icpp-src/src cpp-src/src/*/*.cpp cpp-src/bench/matmul_bench.cpp -o matmul_bench -lpthread
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

#include "core/types.h"
#include "cpu/matmul.h"
#include "cpu/simd.h"
#include "cpu/threadpool.h"
#include "quant/quant.h"
#include "stackllama4j.h"

using namespace sl4j;

namespace {

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Best time of `reps` runs of fn, after one warm-up run.
double best_time(int reps, const std::function<void()>& fn) {
    fn();
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
        const double t0 = now();
        fn();
        best = std::min(best, now() - t0);
    }
    return best;
}

std::vector<float> noise(int64_t n, uint32_t seed) {
    std::vector<float> v((size_t)n);
    for (auto& f : v) {
        seed = seed * 1664525u + 1013904223u;
        f = (float)(seed >> 8) / 8388608.0f - 1.0f;
    }
    return v;
}

}  // namespace

int main() {
    std::printf("simd=%s threads=%d\n", cpu::simd_level(), cpu::threads());

    // bandwidth baselines over 256 MiB (well past any cache)
    const int64_t nbytes = 256ll << 20;
    std::vector<char> src((size_t)nbytes, 1), dst((size_t)nbytes, 0);
    const double t_copy = best_time(3, [&] { std::memcpy(dst.data(), src.data(), (size_t)nbytes); });
    const double copy_gbs = nbytes / t_copy / 1e9;
    std::atomic<uint64_t> sink{0};
    const double t_read = best_time(3, [&] {
        cpu::parallel_for(nbytes / 4096, 64, [&](int64_t b, int64_t e) {
            const uint64_t* p = reinterpret_cast<const uint64_t*>(src.data() + b * 4096);
            uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int64_t i = 0; i < (e - b) * 512; i += 4) s0 += p[i], s1 += p[i + 1], s2 += p[i + 2], s3 += p[i + 3];
            sink += s0 + s1 + s2 + s3;
        });
    });
    const double read_gbs = nbytes / t_read / 1e9;
    std::printf("baseline: memcpy %.1f GB/s (bytes copied/s, 1 thread), parallel read %.1f GB/s (%d threads)\n",
                copy_gbs, read_gbs, cpu::threads());

    // prefill: F32 weights, n = 128 rows of activations
    for (int64_t km : {768, 1024, 2048}) {
        const int64_t n = 128;
        auto w = noise(km * km, 1), x = noise(n * km, 2);
        std::vector<float> out((size_t)(n * km));
        const double t = best_time(3, [&] { cpu::matmul(out.data(), w.data(), SL4J_TYPE_F32, x.data(), n, km, km); });
        const double tt = best_time(3, [&] {
            cpu::matmul_transposed(x.data(), w.data(), SL4J_TYPE_F32, out.data(), n, km, km);
        });
        std::printf("prefill f32 n=%lld k=m=%lld: matmul %.1f GFLOP/s, matmul_transposed %.1f GFLOP/s\n",
                    (long long)n, (long long)km, 2.0 * n * km * km / t / 1e9, 2.0 * n * km * km / tt / 1e9);
    }

    // decode: n = 1, k = 4096, m chosen so the weights are ~128 MiB in every type
    for (int32_t type : {SL4J_TYPE_F32, SL4J_TYPE_Q8_0, SL4J_TYPE_Q4_0, SL4J_TYPE_Q4_K, SL4J_TYPE_Q6_K}) {
        const int64_t k = 4096, rb = type_row_bytes(type, k);
        const int64_t m = (128ll << 20) / rb;
        std::vector<uint8_t> w((size_t)(m * rb));
        {
            auto f = noise(k * 256, 3);  // encode one 256-row slab and tile it
            std::vector<uint8_t> slab((size_t)(256 * rb));
            quantize_row(type, f.data(), slab.data(), k * 256);
            for (int64_t r = 0; r < m; r += 256)
                std::memcpy(w.data() + r * rb, slab.data(), (size_t)(std::min<int64_t>(256, m - r) * rb));
        }
        auto x = noise(k, 4);
        std::vector<float> out((size_t)m);
        const double t = best_time(5, [&] { cpu::matmul(out.data(), w.data(), type, x.data(), 1, k, m); });
        const double gbs = m * rb / t / 1e9;
        std::printf("decode %-5s k=%lld m=%lld (%.0f MiB): %.1f GB/s of weights = %.2f x parallel read, %.1f GFLOP/s\n",
                    type_traits(type)->name, (long long)k, (long long)m, m * rb / 1048576.0, gbs, gbs / read_gbs,
                    2.0 * k * m / t / 1e9);
    }
    return (int)(sink.load() == 42);
}
