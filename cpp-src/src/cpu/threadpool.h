// The process-wide CPU worker pool. parallel_for splits [0, n) into chunks run
// on the pool's threads (the caller's thread takes part). Calls from inside a
// task run serially, so nested use cannot deadlock.
#pragma once
#include <cstdint>
#include <functional>

namespace sl4j::cpu {

// fn(begin, end) is called on disjoint sub-ranges covering [0, n); `grain` is
// the smallest chunk worth a thread.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// 0 = one thread per core.
void set_threads(int n);
int threads();

// SIMD level chosen at run time: "scalar", "avx2", "avx512". The environment
// variable SL4J_SIMD (scalar|avx2|avx512) caps it, so tests can run every path.
const char* simd_level();

}  // namespace sl4j::cpu
