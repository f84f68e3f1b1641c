// Micro benchmark (not a test) of cpu::matmul against two baselines measured in
// the same run: the parallel read bandwidth (all threads summing floats over a
// buffer far larger than the caches) and the FMA peak (a register-only FMA loop
// on all threads). Decode (n = 1..8) is reported as GB/s of weight bytes and its
// ratio to the read baseline and to the roofline min(read bandwidth, FMA peak
// at that n) -- with F32 activations n rows cost 2n flops per weight, so past a
// few rows decode is compute-bound; a last column runs n = 1 on weights that stay in
// L2, the kernel's arithmetic ceiling. Prefill is GFLOP/s and its ratio to peak.
// Every figure is the best of several repetitions: the machine is shared.
// Built by CMake as matmul_bench; run: cmake-build/matmul_bench [--quick] [--fast] | --cpu-time
// | --prefill-ab [THREADS [ROUNDS]]
// (--fast: Precision::kFast, the integer path for the quantised types; kernels listed at the end).
// --prefill-ab times prefill of the 110M shape's attention product (n = 128, k = 768, m = 2048)
// in G multiply-adds/s on THREADS threads: the exact F32 GEMM, and per quantised type its exact
// path, the fast precision's per-row kernel and its tiled GEMM, alternated ROUNDS times.
// --repack-ab [THREADS [ROUNDS]] times, per type with a repacked layout (cpu/repack.h), the fast
// precision on the stored rows against the same product on the repacked rows, alternated: prefill
// (n = 128, k = 768, m = 2048, G multiply-adds/s) and decode at n = 1 (k = 768, m = 2048: the
// weights stay in L2; and k = 4096, m = 16384 from memory: GB/s of weight bytes).
// --cpu-time instead measures one thread in CPU seconds (CLOCK_THREAD_CPUTIME_ID), which other
// processes' load does not inflate: the decode kernel (n = 1) on weights out of cache and in L2,
// beside the stream-sum read of 256 MiB on the same thread, in GB per CPU-second.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iterator>
#include <vector>

#include "core/types.h"
#include "cpu/kernels.h"
#include "cpu/matmul.h"
#include "cpu/repack.h"
#include "cpu/simd.h"
#include "cpu/threadpool.h"
#include "quant/quant.h"
#include "stackllama4j.h"

#if defined(__x86_64__)
#include <immintrin.h>
// GCC 12 reports -Wuninitialized inside avx512fintrin.h's _mm512_reduce_add_ps, which starts from
// _mm512_undefined_pd() (uninitialised by design, then fully overwritten); silenced for this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

using namespace sl4j;

namespace {

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Best time of `reps` runs of fn on `clock` (wall seconds by default), after one warm-up run.
double best_time(int reps, const std::function<void()>& fn, double (*clock)() = now) {
    fn();
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
        const double t0 = clock();
        fn();
        best = std::min(best, clock() - t0);
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


#if defined(__x86_64__)
// 12 independent FMA chains in registers: `iters` x 12 x 16 FMAs.
__attribute__((target("avx512f"))) float fma_loop_avx512(int64_t iters) {
    __m512 a[12];
    for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(0.001f * (float)i);
    const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int64_t it = 0; it < iters; ++it)
        for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], b, c);
    __m512 s = a[0];
    for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}
__attribute__((target("avx2,fma"))) float fma_loop_avx2(int64_t iters) {
    __m256 a[12];
    for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(0.001f * (float)i);
    const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int64_t it = 0; it < iters; ++it)
        for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], b, c);
    __m256 s = a[0];
    for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, a[i]);
    float t[8];
    _mm256_storeu_ps(t, s);
    return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#endif

// FMA peak in GFLOP/s over all pool threads, at the SIMD level matmul uses.
double fma_peak(std::atomic<uint64_t>& sink) {
    const cpu::Simd lv = cpu::simd();
    if (lv == cpu::Simd::kScalar) return 0;
    const int64_t iters = 1 << 20;
    const int64_t vw = lv == cpu::Simd::kAvx512 ? 16 : 8;
    const int64_t tasks = 8 * cpu::threads();  // several per thread so both stay busy
    const double t = best_time(5, [&] {
        cpu::parallel_for(tasks, 1, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) {
#if defined(__x86_64__)
                const float f = lv == cpu::Simd::kAvx512 ? fma_loop_avx512(iters) : fma_loop_avx2(iters);
                sink += (uint64_t)(f != 0.5f);
#endif
            }
        });
    });
    return 2.0 * 12 * vw * iters * tasks / t / 1e9;
}

// Weights of m rows x k in `type`: one random 64-row slab encoded and tiled.
std::vector<uint8_t> make_weights(int32_t type, int64_t k, int64_t m) {
    const int64_t rb = type_row_bytes(type, k), slab = std::min<int64_t>(64, m);
    std::vector<uint8_t> w((size_t)(m * rb));
    auto f = noise(k * slab, 3);
    std::vector<uint8_t> enc((size_t)(slab * rb));
    if (type == SL4J_TYPE_Q5_K) {  // no encoder: random codes, sane d / dmin halves
        uint32_t s = 9;
        for (auto& b : enc) b = (uint8_t)((s = s * 1664525u + 1013904223u) >> 24);
        const uint16_t h[2] = {f32_to_fp16(0.01f), f32_to_fp16(0.002f)};
        for (int64_t b = 0; b < slab * rb / 176; ++b) std::memcpy(enc.data() + b * 176, h, 4);
    } else {
        quantize_row(type, f.data(), enc.data(), k * slab);
    }
    for (int64_t r = 0; r < m; r += slab)
        std::memcpy(w.data() + r * rb, enc.data(), (size_t)(std::min(slab, m - r) * rb));
    return w;
}

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// One thread, CPU time: decode gemv (n = 1, k = 4096) from memory (~128 MiB) and from L2
// (512 KiB), and the stream-sum read of 256 MiB, each in GB per CPU-second.
int cpu_time_mode() {
    const cpu::KernelTable& kt = cpu::kernels_for(cpu::simd());
    const int reps = 7;
    std::vector<float> buf((size_t)(256ll << 20) / sizeof(float), 1.f);
    volatile float sink = 0;
    const double t_read =
        best_time(reps, [&] { sink = sink + kt.stream_sum(buf.data(), (int64_t)buf.size()); }, thread_cpu_seconds);
    const double read = double(buf.size() * sizeof(float)) / t_read / 1e9;
    std::printf("simd=%s, one thread, CPU time (least of %d): stream-sum read of 256 MiB %.1f GB per CPU-second\n",
                cpu::simd_level(), reps, read);
    std::printf("%-5s | n=1 out of cache: GB/CPU-s  x read | n=1 from L2: GB/CPU-s  x read | out of cache / L2\n", "type");
    const int64_t k = 4096;
    auto x = noise(k, 4);
    for (int32_t type : {SL4J_TYPE_F32, SL4J_TYPE_F16, SL4J_TYPE_Q8_0, SL4J_TYPE_Q4_0, SL4J_TYPE_Q4_K, SL4J_TYPE_Q6_K}) {
        const int64_t rb = type_row_bytes(type, k);
        double gbs[2];
        for (int cached = 0; cached < 2; ++cached) {
            const int64_t m = cached ? std::max<int64_t>(16, (512ll << 10) / rb) : (128ll << 20) / rb;
            const int calls = cached ? 200 : 1;
            const auto w = make_weights(type, k, m);
            std::vector<float> out((size_t)m);
            const double t = best_time(reps, [&] {
                for (int c = 0; c < calls; ++c) kt.gemv(type, w.data(), rb, 0, m, x.data(), 1, k, out.data(), m);
            }, thread_cpu_seconds);
            gbs[cached] = double(calls) * double(m * rb) / t / 1e9;
        }
        std::printf("%-5s | %24.1f  %6.2f | %19.1f  %6.2f | %17.2f\n", type_traits(type)->name, gbs[0], gbs[0] / read,
                    gbs[1], gbs[1] / read, gbs[0] / gbs[1]);
        std::fflush(stdout);
    }
    return sink == 12345.f;
}

// Prefill n = 128, k = 768, m = 2048: exact F32 beside each quantised type's exact, fast per-row
// and fast tiled products, alternated `rounds` times (each figure the best of 5 calls).
int prefill_ab_mode(int nthreads, int rounds) {
    cpu::set_threads(nthreads);
    const int64_t n = 128, k = 768, m = 2048;
    const auto x = noise(n * k, 2);
    std::vector<float> out((size_t)(n * m));
    const int32_t types[] = {SL4J_TYPE_F32, SL4J_TYPE_Q8_0, SL4J_TYPE_Q4_0, SL4J_TYPE_Q4_K, SL4J_TYPE_Q5_K, SL4J_TYPE_Q6_K};
    std::vector<std::vector<uint8_t>> w;
    for (int32_t t : types) w.push_back(make_weights(t, k, m));
    std::printf("prefill n=%lld k=%lld m=%lld, threads=%d, simd=%s: G multiply-adds/s, best of 5 per figure, %d "
                "alternated rounds (shared machine: compare within a round)\n",
                (long long)n, (long long)k, (long long)m, cpu::threads(), cpu::simd_level(), rounds);
    auto gmacs = [&](size_t ti, cpu::Precision p, bool tiled) {
        cpu::set_qgemm_tiled(tiled);
        const double t = best_time(5, [&] { cpu::matmul(out.data(), w[ti].data(), types[ti], x.data(), n, k, m, p); });
        cpu::set_qgemm_tiled(true);
        return double(n * k * m) / t / 1e9;
    };
    for (int r = 0; r < rounds; ++r) {
        const double f32 = gmacs(0, cpu::Precision::kExact, true);
        std::printf("round %d: f32 exact %.1f\n", r + 1, f32);
        for (size_t ti = 1; ti < std::size(types); ++ti) {
            const double ex = gmacs(ti, cpu::Precision::kExact, true);
            const double rows = gmacs(ti, cpu::Precision::kFast, false);
            const double tiled = gmacs(ti, cpu::Precision::kFast, true);
            std::printf("  %-5s exact %6.1f | fast per-row %6.1f | fast tiled %6.1f | tiled / per-row %.2f, "
                        "tiled / f32 exact %.2f\n",
                        type_traits(types[ti])->name, ex, rows, tiled, tiled / rows, tiled / f32);
            std::fflush(stdout);
        }
    }
    std::printf("kernels: %s\n", cpu::kernels_ran_take().c_str());
    return 0;
}

// The fast precision on stored against repacked rows, alternated (see --repack-ab above).
int repack_ab_mode(int nthreads, int rounds) {
    cpu::set_threads(nthreads);
    struct Shape {
        const char* what;
        int64_t n, k, m;
    };
    const Shape shapes[] = {{"prefill", 128, 768, 2048}, {"decode L2", 1, 768, 2048}, {"decode mem", 1, 4096, 16384}};
    std::printf("fast precision, stored vs repacked rows, threads=%d, simd=%s, best of 7 per figure, %d alternated "
                "rounds (shared machine: compare within a round)\n",
                cpu::threads(), cpu::simd_level(), rounds);
    for (int32_t type : {SL4J_TYPE_Q4_0}) {
        for (const Shape& s : shapes) {
            const auto w = make_weights(type, s.k, s.m);
            std::vector<uint8_t> p((size_t)cpu::repack_bytes(type, s.m, s.k));
            cpu::repack(type, w.data(), s.m, s.k, p.data());
            const auto x = noise(s.n * s.k, 3);
            std::vector<float> out((size_t)(s.n * s.m));
            auto rate = [&](const void* packed) {
                const cpu::MatmulPart part{out.data(), w.data(), type, s.m, packed};
                const double t = best_time(7, [&] { cpu::matmul_parts(&part, 1, x.data(), s.n, s.k, cpu::Precision::kFast); });
                return s.n > 1 ? double(s.n * s.k * s.m) / t / 1e9 : double(w.size()) / t / 1e9;
            };
            for (int r = 0; r < rounds; ++r) {
                const double a = rate(nullptr), b = rate(p.data());
                std::printf("  %-5s %-10s n=%-3lld k=%-4lld m=%-5lld round %d: stored %7.1f | repacked %7.1f %s | "
                            "repacked / stored %.2f\n",
                            type_traits(type)->name, s.what, (long long)s.n, (long long)s.k, (long long)s.m, r + 1, a, b,
                            s.n > 1 ? "G madds/s" : "GB/s", b / a);
                std::fflush(stdout);
            }
        }
    }
    std::printf("kernels: %s\n", cpu::kernels_ran_take().c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "--repack-ab") == 0)
        return repack_ab_mode(argc > 2 ? std::atoi(argv[2]) : 1, argc > 3 ? std::atoi(argv[3]) : 3);
    if (argc > 1 && std::strcmp(argv[1], "--cpu-time") == 0) return cpu_time_mode();
    if (argc > 1 && std::strcmp(argv[1], "--prefill-ab") == 0)
        return prefill_ab_mode(argc > 2 ? std::atoi(argv[2]) : 1, argc > 3 ? std::atoi(argv[3]) : 3);
    bool quick = false;
    cpu::Precision prec = cpu::Precision::kExact;
    for (int a = 1; a < argc; ++a) {
        if (std::strcmp(argv[a], "--quick") == 0) quick = true;
        else if (std::strcmp(argv[a], "--fast") == 0) prec = cpu::Precision::kFast;
        else {
            std::fprintf(stderr, "usage: matmul_bench [--quick] [--fast] | --cpu-time | --prefill-ab [THREADS [ROUNDS]] | --repack-ab [THREADS [ROUNDS]]  (--fast: the integer path for quantised types)\n");
            return 2;
        }
    }
    const int reps = quick ? 3 : 7;
    std::printf("precision=%s ", prec == cpu::Precision::kFast ? "fast" : "exact");
    std::printf("simd=%s threads=%d; best of %d repetitions each (shared, noisy machine: figures vary run to run)\n",
                cpu::simd_level(), cpu::threads(), reps);

    // baselines
    std::atomic<uint64_t> sink{0};
    const int64_t nbytes = 256ll << 20;  // far past the caches
    double read_gbs = 0;
    if (sl4j_measure_read_bandwidth(nbytes, reps, &read_gbs) != 0) return 1;
    const double peak = fma_peak(sink);
    std::printf("baseline: parallel read %.1f GB/s (SIMD stream sum over 256 MiB with prefetch, %d threads); FMA peak %.1f GFLOP/s\n",
                read_gbs, cpu::threads(), peak);

    const int32_t types[] = {SL4J_TYPE_F32, SL4J_TYPE_F16, SL4J_TYPE_BF16, SL4J_TYPE_Q8_0,
                             SL4J_TYPE_Q4_0, SL4J_TYPE_Q4_K, SL4J_TYPE_Q5_K, SL4J_TYPE_Q6_K};

    // decode: k = 4096, m chosen so the weights are ~128 MiB in every type
    std::printf("\ndecode (k=4096, ~128 MiB of weights): GB/s of weight bytes, x read baseline, x roofline\n");
    std::printf("%-5s", "type");
    for (int n : {1, 2, 4, 8}) std::printf(" |      n=%d: GB/s  xread  xroof", n);
    std::printf(" | n=1 from L2: GB/s\n");
    for (int32_t type : types) {
        const int64_t k = 4096, rb = type_row_bytes(type, k);
        const int64_t m = (128ll << 20) / rb;
        const auto w = make_weights(type, k, m);
        std::printf("%-5s", type_traits(type)->name);
        for (int64_t n : {1, 2, 4, 8}) {
            auto x = noise(n * k, 4);
            std::vector<float> out((size_t)(n * m));
            const double t = best_time(reps, [&] { cpu::matmul(out.data(), w.data(), type, x.data(), n, k, m, prec); });
            const double gbs = m * rb / t / 1e9;
            // bytes/s the FMA peak could consume at 2n flops per weight
            const double compute_gbs = peak / (2.0 * n) * ((double)rb / k);
            const double roof = peak > 0 ? std::min(read_gbs, compute_gbs) : read_gbs;
            std::printf(" | %15.1f  %5.2f  %5.2f", gbs, gbs / read_gbs, gbs / roof);
        }
        {
            // The same product on 512 KiB of weights per thread, which stay in L2: the
            // arithmetic ceiling of the fused kernel, with no memory traffic to wait on.
            const int64_t mc = std::max<int64_t>(16, cpu::threads() * (512ll << 10) / rb);
            const auto wc = make_weights(type, k, mc);
            auto x = noise(k, 4);
            std::vector<float> out((size_t)mc);
            constexpr int kCalls = 50;
            const double t = best_time(reps, [&] {
                for (int c = 0; c < kCalls; ++c) cpu::matmul(out.data(), wc.data(), type, x.data(), 1, k, mc, prec);
            });
            std::printf(" | %17.1f", kCalls * mc * rb / t / 1e9);
        }
        std::printf("\n");
        std::fflush(stdout);
    }

    // prefill
    std::printf("\nprefill matmul (x·Wᵀ, k=m=2048): GFLOP/s, x FMA peak\n");
    for (int32_t type : types) {
        const int64_t km = 2048;
        const auto w = make_weights(type, km, km);
        std::printf("%-5s", type_traits(type)->name);
        for (int64_t n : {64, 128, 512}) {
            if (quick && n == 512) continue;
            auto x = noise(n * km, 2);
            std::vector<float> out((size_t)(n * km));
            const double t = best_time(reps, [&] { cpu::matmul(out.data(), w.data(), type, x.data(), n, km, km, prec); });
            const double gf = 2.0 * n * km * km / t / 1e9;
            std::printf(" | n=%3lld: %6.1f GFLOP/s %5.2f", (long long)n, gf, peak > 0 ? gf / peak : 0.0);
        }
        std::printf("\n");
        std::fflush(stdout);
    }
    {
        const int64_t n = 128, km = 2048;
        auto w = noise(km * km, 1), dy = noise(n * km, 2);
        std::vector<float> dx((size_t)(n * km));
        const double t = best_time(reps, [&] {
            cpu::matmul_transposed(dx.data(), w.data(), SL4J_TYPE_F32, dy.data(), n, km, km);
        });
        const double gf = 2.0 * n * km * km / t / 1e9;
        std::printf("matmul_transposed f32 n=128 k=m=2048: %.1f GFLOP/s %.2f x peak\n", gf, peak > 0 ? gf / peak : 0.0);
    }
    std::printf("kernels: %s\n", cpu::kernels_ran_take().c_str());
    return (int)(sink.load() == 12345);
}
