// Memory read bandwidth of this machine, measured with the CPU pool: the floor
// that decode speed is judged against (decode reads every weight once per token).
#include <chrono>
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "api/guard.h"
#include "cpu/threadpool.h"

namespace sl4j::cpu {

double measure_read_bandwidth(int64_t n_bytes, int repeats) {
    const int64_t n = n_bytes / static_cast<int64_t>(sizeof(float));
    std::vector<float> buf(static_cast<size_t>(n), 1.0f);
    std::vector<double> partial(64, 0.0);
    double best = 0;
    for (int rep = 0; rep < repeats; ++rep) {
        auto t0 = std::chrono::steady_clock::now();
        parallel_for(n, 1 << 20, [&](int64_t a, int64_t b) {
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            int64_t i = a;
            for (; i + 4 <= b; i += 4) {
                s0 += buf[i];
                s1 += buf[i + 1];
                s2 += buf[i + 2];
                s3 += buf[i + 3];
            }
            for (; i < b; ++i) s0 += buf[i];
            partial[(a / (1 << 20)) % 64] += s0 + s1 + s2 + s3;  // keeps the loads alive
        });
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (secs > 0) best = std::max(best, double(n_bytes) / secs / 1e9);
    }
    return partial[0] < 0 ? 0 : best;  // never true; defeats dead-code elimination
}

}  // namespace sl4j::cpu

extern "C" int32_t sl4j_measure_read_bandwidth(int64_t n_bytes, int32_t repeats, double* out_gb_per_s) {
    return sl4j::guard([&] {
        SL4J_CHECK_HANDLE(out_gb_per_s);
        SL4J_CHECK_ARG(n_bytes >= (1 << 20) && repeats >= 1, "need at least 1 MiB and one repeat");
        *out_gb_per_s = sl4j::cpu::measure_read_bandwidth(n_bytes, repeats);
    });
}
