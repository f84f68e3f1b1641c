#include "cpu/simd.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "cpu/threadpool.h"

namespace sl4j::cpu {

namespace {

Simd detect() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("fma"))
        return Simd::kAvx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Simd::kAvx2;
#endif
    return Simd::kScalar;
}

Simd env_cap() {
    const char* e = std::getenv("SL4J_SIMD");
    if (e == nullptr || *e == '\0') return Simd::kAvx512;
    if (std::strcmp(e, "scalar") == 0) return Simd::kScalar;
    if (std::strcmp(e, "avx2") == 0) return Simd::kAvx2;
    return Simd::kAvx512;  // "avx512" or anything unknown: no cap
}

Simd min_level(Simd a, Simd b) { return (int)a < (int)b ? a : b; }

std::atomic<int> g_test_cap{(int)Simd::kAvx512};

}  // namespace

Simd simd_detected() {
    static const Simd s = detect();
    return s;
}

Simd simd() {
    static const Simd base = min_level(simd_detected(), env_cap());
    return min_level(base, (Simd)g_test_cap.load(std::memory_order_relaxed));
}

void set_simd_cap(Simd cap) { g_test_cap.store((int)cap); }

const char* simd_name(Simd s) {
    switch (s) {
        case Simd::kAvx512: return "avx512";
        case Simd::kAvx2: return "avx2";
        default: return "scalar";
    }
}

const char* simd_level() { return simd_name(simd()); }

}  // namespace sl4j::cpu
