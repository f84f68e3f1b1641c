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
// | --prefill-ab [THREADS [ROUNDS]] | --prefill-model FILE [THREADS [RUNS]] | --prefill-cpu [ROUNDS]
// | --qrows [ROUNDS] | --repack-ab [THREADS [ROUNDS]]
// (--fast: Precision::kFast, the integer path for the quantised types; kernels listed at the end).
// --prefill-ab times prefill of the 110M shape's attention product (n = 128, k = 768, m = 2048)
// in G multiply-adds/s on THREADS threads: the exact F32 GEMM, and per quantised type its exact
// path, the fast precision's per-row kernel and its tiled GEMM, alternated ROUNDS times.
// --prefill-model FILE [THREADS [RUNS]] times end-to-end prefill of 128 tokens on a model file
// as `bench` does (fast precision, F16 KV cache, logits of the last row only), RUNS times in one
// session: median and best tok/s by the wall clock and per CPU-second of the process
// (CLOCK_PROCESS_CPUTIME_ID: on one thread, load from other processes does not inflate it), and
// a checksum of the last logits (equal checksums: the same numbers).
// --qrows [ROUNDS] times the fast precision's decode kernel alone (QKernelTable::rows, four weight
// rows per call against one quantised activation row, k = 768 as in the 110M shape) on one thread in
// CPU seconds: ns per weight row and G multiply-adds per CPU-second, from L2 (2048 rows of the 4-bit
// types: the 110M attention product) and from memory (~64 MiB), per type, alternated ROUNDS times.
// --repack-ab [THREADS [ROUNDS]] times, per type with a repacked layout (cpu/repack.h), the fast
// precision on the stored rows against the same product on the repacked rows, alternated: prefill
// (n = 128, k = 768, m = 2048, G multiply-adds/s) and decode at n = 1 (k = 768, m = 2048: the
// weights stay in L2; and k = 4096, m = 16384 from memory: GB/s of weight bytes).
// --cpu-time instead measures one thread in CPU seconds (CLOCK_THREAD_CPUTIME_ID), which other
// processes' load does not inflate: the decode kernel (n = 1) on weights out of cache and in L2,
// beside the stream-sum read of 256 MiB on the same thread, in GB per CPU-second.
// --prefill-cpu times the exact prefill GEMM (k = m = 2048, n = 64 and 128; F32, F16, BF16) on one
// thread in CPU seconds beside that thread's FMA peak, also in CPU seconds, ROUNDS times (default 3):
// the prefill ratio to peak with the least sensitivity to other processes' load.
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
#include "cpu/qdot.h"
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

// CPU seconds of the calling thread (CLOCK_THREAD_CPUTIME_ID) or of the process (CLOCK_PROCESS_CPUTIME_ID).
template <clockid_t Clock> double cpu_clock() {
    timespec ts{};
    clock_gettime(Clock, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}
constexpr auto thread_cpu_seconds = cpu_clock<CLOCK_THREAD_CPUTIME_ID>;
constexpr auto cpu_seconds = cpu_clock<CLOCK_PROCESS_CPUTIME_ID>;

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

// One thread, CPU time: the FMA peak and the exact prefill GEMM (k = m = 2048) as GFLOP per CPU-second.
int prefill_cpu_mode(int rounds) {
    cpu::set_threads(1);
    const cpu::Simd lv = cpu::simd();
    if (lv == cpu::Simd::kScalar) return 1;
    const int64_t km = 2048, iters = 1 << 22;
    const int reps = 5;
    std::vector<std::vector<uint8_t>> w;
    const int32_t types[] = {SL4J_TYPE_F32, SL4J_TYPE_F16, SL4J_TYPE_BF16};
    for (int32_t t : types) w.push_back(make_weights(t, km, km));
    std::printf("prefill k=m=%lld, one thread, simd=%s: GFLOP per CPU-second (least CPU time of %d), x one-thread "
                "FMA peak (CPU time), %d rounds\n",
                (long long)km, cpu::simd_level(), reps, rounds);
    volatile float sink = 0;
    for (int r = 0; r < rounds; ++r) {
        const int64_t vw = lv == cpu::Simd::kAvx512 ? 16 : 8;
        const double tp = best_time(reps, [&] {
#if defined(__x86_64__)
            sink = sink + (lv == cpu::Simd::kAvx512 ? fma_loop_avx512(iters) : fma_loop_avx2(iters));
#endif
        }, thread_cpu_seconds);
        const double peak = 2.0 * 12 * vw * iters / tp / 1e9;
        std::printf("round %d: peak %.1f", r + 1, peak);
        for (size_t ti = 0; ti < std::size(types); ++ti)
            for (int64_t n : {64, 128}) {
                const auto x = noise(n * km, 2);
                std::vector<float> out((size_t)(n * km));
                const double t = best_time(reps, [&] {
                    cpu::matmul(out.data(), w[ti].data(), types[ti], x.data(), n, km, km);
                }, thread_cpu_seconds);
                const double gf = 2.0 * n * km * km / t / 1e9;
                std::printf(" | %s n=%lld %.1f %.2f", type_traits(types[ti])->name, (long long)n, gf, gf / peak);
            }
        std::printf("\n");
        std::fflush(stdout);
    }
    return sink == 12345.f;
}

// The decode kernel alone: see --qrows in the header comment.
int qrows_mode(int rounds) {
    const cpu::QKernelTable& qk = cpu::qkernels();
    const int64_t k = 768;
    const auto x = noise(k, 4);
    const int32_t types[] = {SL4J_TYPE_Q8_0, SL4J_TYPE_Q4_0, SL4J_TYPE_Q4_K, SL4J_TYPE_Q5_K, SL4J_TYPE_Q6_K};
    std::printf("qrows: kernel %s, one thread, k=%lld, 4 rows per call; ns per row (G multiply-adds per CPU-second), "
                "least of 7 per figure, %d alternated rounds\n", qk.name, (long long)k, rounds);
    volatile float sink = 0;
    for (int r = 0; r < rounds; ++r) {
        std::printf("round %d:", r + 1);
        for (int32_t type : types) {
            const cpu::QAct a = cpu::qact_for(type);
            std::vector<char> xq((size_t)cpu::qact_row_bytes(a, k));
            cpu::quantize_act_row(a, x.data(), xq.data(), k);
            const int64_t rb = type_row_bytes(type, k);
            for (int cached = 1; cached >= 0; --cached) {
                const int64_t m = cached ? 2048 : ((64ll << 20) / rb) / 4 * 4;
                const int calls = cached ? 20 : 1;
                const auto w = make_weights(type, k, m);
                std::vector<float> out((size_t)m);
                const double t = best_time(7, [&] {
                    for (int c = 0; c < calls; ++c)
                        for (int64_t i = 0; i < m; i += cpu::kQdotMaxX)
                            qk.rows(type, w.data() + i * rb, rb, cpu::kQdotMaxX, xq.data(), k, out.data() + i);
                    sink = sink + out[0];
                }, thread_cpu_seconds);
                const double per = t / double(calls * m);
                std::printf(" %s %s %.1f (%.1f)", type_traits(type)->name, cached ? "L2" : "mem", per * 1e9,
                            double(k) / per / 1e9);
            }
            std::fflush(stdout);
        }
        std::printf("\n");
    }
    // What the kernels computed, bit for bit (FNV-1a over the outputs of `rows` and `dot`), per level: a change
    // of kernel that keeps these equal kept every result.
    std::printf("output hashes (FNV-1a of the outputs of rows over 2048 weight rows and of dot over 4 activation rows), per level and type:\n");
    for (const cpu::QKernelTable* t : {&cpu::qkernels_scalar(), &cpu::qkernels_avx2(), &cpu::qkernels_avxvnni(),
                                       &cpu::qkernels_avx512vnni()}) {
        if (!cpu::qkernels_supported(*t)) continue;
        std::printf("  %-10s", t->name);
        for (int32_t type : types) {
            uint64_t h = 1469598103934665603ull;
            const cpu::QAct a = cpu::qact_for(type);
            std::vector<char> xq((size_t)cpu::qact_row_bytes(a, k));
            cpu::quantize_act_row(a, x.data(), xq.data(), k);
            const int64_t rb = type_row_bytes(type, k), m = 2048;
            const auto w = make_weights(type, k, m);
            std::vector<float> out((size_t)m);
            for (int64_t i = 0; i < m; i += cpu::kQdotMaxX)
                t->rows(type, w.data() + i * rb, rb, cpu::kQdotMaxX, xq.data(), k, out.data() + i);
            // and `dot`: 4 activation rows against each of the first 64 weight rows
            const auto x4 = noise(4 * k, 5);
            std::vector<char> xq4((size_t)(4 * cpu::qact_row_bytes(a, k)));
            for (int i = 0; i < 4; ++i)
                cpu::quantize_act_row(a, x4.data() + i * k, xq4.data() + i * cpu::qact_row_bytes(a, k), k);
            for (int64_t r = 0; r < 64; ++r) {
                float o4[4];
                t->dot(type, w.data() + r * rb, xq4.data(), cpu::qact_row_bytes(a, k), 4, k, o4, 1);
                out.insert(out.end(), o4, o4 + 4);
            }
            for (float f : out) {
                uint32_t u;
                std::memcpy(&u, &f, 4);
                h = (h ^ u) * 1099511628211ull;
            }
            std::printf(" %s %016llx", type_traits(type)->name, (unsigned long long)h);
        }
        std::printf("\n");
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

int prefill_model_mode(const char* path, int nthreads, int runs) {
    sl4j_set_threads(nthreads);
    sl4j_model_params mp = sl4j_model_default_params();
    mp.device = SL4J_DEVICE_CPU;
    sl4j_model* model = nullptr;
    if (sl4j_model_load(path, &mp, &model) != SL4J_OK) {
        std::fprintf(stderr, "matmul_bench: %s\n", sl4j_last_error());
        return 1;
    }
    sl4j_model_info info;
    sl4j_model_get_info(model, &info);
    const int n = 128;
    std::vector<int32_t> tokens(n);
    for (int i = 0; i < n; ++i) tokens[(size_t)i] = i == 0 ? 1 : 3 + int32_t((int64_t)i * 131 % (info.n_vocab - 3));
    std::vector<int8_t> outputs(n, 0);
    outputs[n - 1] = 1;
    sl4j_session_params sp = sl4j_session_default_params();
    sp.n_ctx = n;
    sp.precision = SL4J_PRECISION_FAST;
    sl4j_session* s = nullptr;
    if (sl4j_session_init_params(model, &sp, &s) != SL4J_OK) {
        std::fprintf(stderr, "matmul_bench: %s\n", sl4j_last_error());
        sl4j_model_free(model);
        return 1;
    }
    std::vector<double> wall, cpu_rate;
    for (int r = 0; r < runs + 1; ++r) {  // the first run warms the mapped weights and is not counted
        sl4j_session_truncate(s, 0, 0);
        const double c0 = cpu_seconds();
        const auto t0 = std::chrono::steady_clock::now();
        if (sl4j_session_decode(s, tokens.data(), nullptr, outputs.data(), nullptr, n, 1) != SL4J_OK) {
            std::fprintf(stderr, "matmul_bench: %s\n", sl4j_last_error());
            sl4j_session_free(s);
            sl4j_model_free(model);
            return 1;
        }
        const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double dc = cpu_seconds() - c0;
        if (r == 0) continue;
        wall.push_back(n / dt);
        cpu_rate.push_back(n / dc);
    }
    std::vector<float> logits((size_t)info.n_vocab);
    sl4j_session_get_logits(s, logits.data(), info.n_vocab);
    double checksum = 0;
    for (float v : logits) checksum += v;
    std::sort(wall.begin(), wall.end());
    std::sort(cpu_rate.begin(), cpu_rate.end());
    std::printf("prefill %d tokens, %s, threads=%d, %d runs: tok/s median %.0f best %.0f; per CPU-second median %.0f "
                "best %.0f; logits checksum %.6f; kernels %s\n",
                n, path, nthreads, runs, wall[wall.size() / 2], wall.back(), cpu_rate[cpu_rate.size() / 2],
                cpu_rate.back(), checksum, cpu::kernels_ran_take().c_str());
    sl4j_session_free(s);
    sl4j_model_free(model);
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
    if (argc > 2 && std::strcmp(argv[1], "--prefill-model") == 0)
        return prefill_model_mode(argv[2], argc > 3 ? std::atoi(argv[3]) : 1,
                                  argc > 4 ? std::max(1, std::atoi(argv[4])) : 10);
    if (argc > 1 && std::strcmp(argv[1], "--repack-ab") == 0)
        return repack_ab_mode(argc > 2 ? std::atoi(argv[2]) : 1, argc > 3 ? std::atoi(argv[3]) : 3);
    if (argc > 1 && std::strcmp(argv[1], "--cpu-time") == 0) return cpu_time_mode();
    if (argc > 1 && std::strcmp(argv[1], "--prefill-cpu") == 0) return prefill_cpu_mode(argc > 2 ? std::atoi(argv[2]) : 3);
    if (argc > 1 && std::strcmp(argv[1], "--qrows") == 0) return qrows_mode(argc > 2 ? std::atoi(argv[2]) : 3);
    if (argc > 1 && std::strcmp(argv[1], "--prefill-ab") == 0)
        return prefill_ab_mode(argc > 2 ? std::atoi(argv[2]) : 1, argc > 3 ? std::atoi(argv[3]) : 3);
    bool quick = false;
    cpu::Precision prec = cpu::Precision::kExact;
    for (int a = 1; a < argc; ++a) {
        if (std::strcmp(argv[a], "--quick") == 0) quick = true;
        else if (std::strcmp(argv[a], "--fast") == 0) prec = cpu::Precision::kFast;
        else {
            std::fprintf(stderr, "usage: matmul_bench [--quick] [--fast] | --cpu-time | --prefill-ab [THREADS [ROUNDS]] | "
                                 "--prefill-model FILE [THREADS [RUNS]] | --prefill-cpu [ROUNDS] | --qrows [ROUNDS] | "
                                 "--repack-ab [THREADS [ROUNDS]]  (--fast: the integer path for quantised types)\n");
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
