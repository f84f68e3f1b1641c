// Memory read bandwidth of this machine, measured with the CPU pool and the SIMD
// streaming kernel: the floor that decode speed is judged against (decode reads
// every weight once per token). Also the copy bandwidth, for comparison.
#include <chrono>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "api/guard.h"
#include "cpu/kernels.h"
#include "cpu/simd.h"
#include "cpu/threadpool.h"

namespace sl4j::cpu {

double measure_read_bandwidth(int64_t n_bytes, int repeats) {
    const int64_t n = n_bytes / static_cast<int64_t>(sizeof(float));
    std::vector<float> buf(static_cast<size_t>(n), 1.0f);
    const KernelTable& kt = kernels_for(simd());
    constexpr int64_t kChunk = 1 << 16;  // floats per task: 256 KiB
    std::vector<float> partial(static_cast<size_t>((n + kChunk - 1) / kChunk), 0.0f);
    double best = 0;
    for (int rep = 0; rep < repeats; ++rep) {
        auto t0 = std::chrono::steady_clock::now();
        parallel_for((n + kChunk - 1) / kChunk, 16, [&](int64_t c0, int64_t c1) {
            for (int64_t c = c0; c < c1; ++c)
                partial[(size_t)c] = kt.stream_sum(buf.data() + c * kChunk, std::min(kChunk, n - c * kChunk));
        });
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (secs > 0) best = std::max(best, double(n_bytes) / secs / 1e9);
    }
    return partial[0] < 0 ? 0 : best;  // never true; keeps the sums (and so the loads) alive
}

double measure_copy_bandwidth(int64_t n_bytes, int repeats) {
    std::vector<char> src(static_cast<size_t>(n_bytes), 1), dst(static_cast<size_t>(n_bytes), 0);
    const int64_t t = threads();
    double best = 0;
    for (int rep = 0; rep < repeats; ++rep) {
        auto t0 = std::chrono::steady_clock::now();
        parallel_for(t, 1, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i) {
                const int64_t a = n_bytes * i / t, b = n_bytes * (i + 1) / t;
                std::memcpy(dst.data() + a, src.data() + a, static_cast<size_t>(b - a));
            }
        });
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (secs > 0) best = std::max(best, 2.0 * double(n_bytes) / secs / 1e9);
    }
    return dst[static_cast<size_t>(n_bytes) - 1] == 1 ? best : 0;  // the copy happened
}

}  // namespace sl4j::cpu

extern "C" int32_t sl4j_measure_copy_bandwidth(int64_t n_bytes, int32_t repeats, double* out_gb_per_s) {
    return sl4j::guard([&] {
        SL4J_CHECK_HANDLE(out_gb_per_s);
        SL4J_CHECK_ARG(n_bytes >= (1 << 20) && repeats >= 1, "need at least 1 MiB and one repeat");
        *out_gb_per_s = sl4j::cpu::measure_copy_bandwidth(n_bytes, repeats);
    });
}

extern "C" int32_t sl4j_measure_read_bandwidth(int64_t n_bytes, int32_t repeats, double* out_gb_per_s) {
    return sl4j::guard([&] {
        SL4J_CHECK_HANDLE(out_gb_per_s);
        SL4J_CHECK_ARG(n_bytes >= (1 << 20) && repeats >= 1, "need at least 1 MiB and one repeat");
        *out_gb_per_s = sl4j::cpu::measure_read_bandwidth(n_bytes, repeats);
    });
}
