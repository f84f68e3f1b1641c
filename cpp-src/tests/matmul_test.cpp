// matmul / matmul_transposed for every weight type and every SIMD level this
// CPU has, against a float64 product with the dequantized weights; and the
// thread pool's contract.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/types.h"
#include "cpu/kernels.h"
#include "cpu/matmul.h"
#include "cpu/simd.h"
#include "cpu/threadpool.h"
#include "quant/quant.h"
#include "stackllama4j.h"
#include "testing.h"

using namespace sl4j;

namespace {

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 7) {}
    uint32_t u32() {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return (uint32_t)(s >> 33);
    }
    float uniform() { return (float)u32() / 2147483648.0f - 1.0f; }
};

const int32_t kTypes[] = {SL4J_TYPE_F32, SL4J_TYPE_F16, SL4J_TYPE_BF16, SL4J_TYPE_Q8_0,
                          SL4J_TYPE_Q4_0, SL4J_TYPE_Q4_K, SL4J_TYPE_Q5_K, SL4J_TYPE_Q6_K};

// Random encoded weights covering every code: random bytes, then the block
// scales overwritten with sane halves (random bytes there could be NaN/inf).
std::vector<uint8_t> random_weights(int32_t type, int64_t m, int64_t k, uint64_t seed) {
    Rng rng(seed);
    const TypeTraits* tt = type_traits(type);
    const int64_t bytes = type_row_bytes(type, k) * m;
    std::vector<uint8_t> w((size_t)bytes);
    if (type == SL4J_TYPE_F32 || type == SL4J_TYPE_F16 || type == SL4J_TYPE_BF16) {
        std::vector<float> f((size_t)(m * k));
        for (float& v : f) v = rng.uniform();
        quantize_row(type, f.data(), w.data(), m * k);
        return w;
    }
    for (uint8_t& b : w) b = (uint8_t)rng.u32();
    auto half = [&](float lo, float hi) { return f32_to_fp16(lo + (hi - lo) * (0.5f + 0.5f * rng.uniform())); };
    for (int64_t b = 0; b < bytes / tt->type_size; ++b) {
        uint8_t* blk = w.data() + b * tt->type_size;
        uint16_t h[2] = {half(0.01f, 0.1f), half(0.001f, 0.05f)};
        switch (type) {
            case SL4J_TYPE_Q8_0:
            case SL4J_TYPE_Q4_0: std::memcpy(blk, h, 2); break;
            case SL4J_TYPE_Q4_K:
            case SL4J_TYPE_Q5_K: std::memcpy(blk, h, 4); break;  // d, dmin
            case SL4J_TYPE_Q6_K: std::memcpy(blk + 208, h, 2); break;
        }
    }
    return w;
}

std::vector<float> random_x(int64_t n, uint64_t seed) {
    Rng rng(seed);
    std::vector<float> x((size_t)n);
    for (float& v : x) v = rng.uniform();
    return x;
}

struct Shape {
    int64_t n, k, m;
};

// Checks out (n x m) = x · Wᵀ and dx (n x k) = dy · W for one type and shape.
void check_products(int32_t type, Shape s, uint64_t seed, const char* level) {
    const auto w = random_weights(type, s.m, s.k, seed);
    std::vector<float> wf((size_t)(s.m * s.k));
    dequantize_row(type, w.data(), wf.data(), s.m * s.k);
    const auto x = random_x(s.n * s.k, seed + 1);
    const auto dy = random_x(s.n * s.m, seed + 2);

    std::vector<float> out((size_t)(s.n * s.m), -777.0f);
    cpu::matmul(out.data(), w.data(), type, x.data(), s.n, s.k, s.m);
    int bad = 0;
    for (int64_t i = 0; i < s.n; ++i)
        for (int64_t r = 0; r < s.m; ++r) {
            double ref = 0, mag = 0;
            for (int64_t j = 0; j < s.k; ++j) {
                const double t = (double)x[i * s.k + j] * wf[r * s.k + j];
                ref += t;
                mag += std::fabs(t);
            }
            if (!(std::fabs(out[i * s.m + r] - ref) <= 1e-5 * mag + 1e-30)) ++bad;
        }
    if (bad)
        sl4j_test::record_failure(__FILE__, __LINE__,
                                  format("matmul %s [%s] n=%lld k=%lld m=%lld: %d wrong", type_traits(type)->name, level,
                                         (long long)s.n, (long long)s.k, (long long)s.m, bad));

    std::vector<float> dx((size_t)(s.n * s.k), -777.0f);
    cpu::matmul_transposed(dx.data(), w.data(), type, dy.data(), s.n, s.k, s.m);
    bad = 0;
    for (int64_t i = 0; i < s.n; ++i)
        for (int64_t j = 0; j < s.k; ++j) {
            double ref = 0, mag = 0;
            for (int64_t r = 0; r < s.m; ++r) {
                const double t = (double)dy[i * s.m + r] * wf[r * s.k + j];
                ref += t;
                mag += std::fabs(t);
            }
            if (!(std::fabs(dx[i * s.k + j] - ref) <= 1e-5 * mag + 1e-30)) ++bad;
        }
    if (bad)
        sl4j_test::record_failure(__FILE__, __LINE__,
                                  format("matmul_transposed %s [%s] n=%lld k=%lld m=%lld: %d wrong",
                                         type_traits(type)->name, level, (long long)s.n, (long long)s.k,
                                         (long long)s.m, bad));
}

std::vector<cpu::Simd> levels() {
    std::vector<cpu::Simd> v;
    for (int l = 0; l <= (int)cpu::simd_detected(); ++l) v.push_back((cpu::Simd)l);
    return v;
}

}  // namespace

TEST(matmul_every_type_every_level) {
    for (cpu::Simd lv : levels()) {
        cpu::set_simd_cap(lv);
        CHECK(std::string(cpu::simd_level()) == cpu::simd_name(lv) || std::getenv("SL4J_SIMD") != nullptr);
        for (int32_t type : kTypes) {
            const int64_t bs = type_traits(type)->block_size;
            const int64_t kb = bs == 1 ? 32 : bs;  // one block (32 for the float types)
            // decode path (n < 4), prefill path (n >= 4), m not a multiple of any tile,
            // k of one block and of several, n splits of the tile rows
            const Shape shapes[] = {{1, kb, 7}, {3, kb, 45}, {1, 3 * kb, 70}, {4, kb, 33},
                                    {13, 2 * kb, 45}, {30, kb, 1}, {5, bs == 1 ? 37 : kb, 66}};
            uint64_t seed = 100;
            for (const Shape& s : shapes) check_products(type, s, seed++, cpu::simd_name(lv));
        }
    }
    cpu::set_simd_cap(cpu::Simd::kAvx512);
}

TEST(matmul_large_k_crosses_column_blocks) {
    // k > 256 with a partial last column block for matmul_transposed; m > 256 row blocks
    for (cpu::Simd lv : levels()) {
        cpu::set_simd_cap(lv);
        check_products(SL4J_TYPE_Q8_0, {6, 32 * 11, 300}, 7, cpu::simd_name(lv));
        check_products(SL4J_TYPE_Q4_K, {2, 256 * 3, 20}, 8, cpu::simd_name(lv));
    }
    cpu::set_simd_cap(cpu::Simd::kAvx512);
}

// The exact prefill GEMM (n past the decode rows) sums each output as one FMA chain over
// j in order, whatever its tiling, packing and k-blocking: bit-equal to std::fma in a loop.
// k crosses the GEMM's k-blocks with a partial last one (and, for the float types, a tail
// shorter than a vector); m leaves a partial weight panel; two threads split the rows.
TEST(matmul_prefill_is_one_fma_chain_per_output) {
    const int before = cpu::threads();
    cpu::set_threads(2);
    for (cpu::Simd lv : levels()) {
        if (lv == cpu::Simd::kScalar) continue;  // no FMA: multiply and add round apart there
        cpu::set_simd_cap(lv);
        for (int32_t type : kTypes) {
            const int64_t bs = type_traits(type)->block_size;
            const int64_t n = 29, k = bs == 1 ? 300 : bs == 32 ? 32 * 11 : 256 * 3, m = 45;
            const auto w = random_weights(type, m, k, 21);
            std::vector<float> wf((size_t)(m * k));
            dequantize_row(type, w.data(), wf.data(), m * k);
            const auto x = random_x(n * k, 22);
            std::vector<float> out((size_t)(n * m));
            cpu::matmul(out.data(), w.data(), type, x.data(), n, k, m);
            int bad = 0;
            for (int64_t i = 0; i < n; ++i)
                for (int64_t r = 0; r < m; ++r) {
                    float acc = 0.0f;
                    for (int64_t j = 0; j < k; ++j) acc = std::fma(x[i * k + j], wf[r * k + j], acc);
                    bad += std::memcmp(&acc, &out[i * m + r], sizeof acc) != 0;
                }
            if (bad)
                sl4j_test::record_failure(__FILE__, __LINE__,
                                          format("prefill %s [%s]: %d outputs differ from the FMA chain",
                                                 type_traits(type)->name, cpu::simd_name(lv), bad));
        }
    }
    cpu::set_simd_cap(cpu::Simd::kAvx512);
    cpu::set_threads(before);
}

TEST(matmul_threads_do_not_change_results) {
    const int before = cpu::threads();
    for (int32_t type : {SL4J_TYPE_F32, SL4J_TYPE_Q4_0, SL4J_TYPE_Q6_K}) {
        const int64_t bs = type_traits(type)->block_size;
        for (int64_t n : {1, 2, 9, 40}) {
            const int64_t k = bs == 1 ? 96 : 2 * bs, m = 77;
            const auto w = random_weights(type, m, k, 5);
            const auto x = random_x(n * k, 6);
            const auto dy = random_x(n * m, 9);
            std::vector<float> a((size_t)(n * m)), b((size_t)(n * m)), ta((size_t)(n * k)), tb((size_t)(n * k));
            cpu::set_threads(1);
            cpu::matmul(a.data(), w.data(), type, x.data(), n, k, m);
            cpu::matmul_transposed(ta.data(), w.data(), type, dy.data(), n, k, m);
            cpu::set_threads(2);
            cpu::matmul(b.data(), w.data(), type, x.data(), n, k, m);
            cpu::matmul_transposed(tb.data(), w.data(), type, dy.data(), n, k, m);
            CHECK(std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
            CHECK(std::memcmp(ta.data(), tb.data(), ta.size() * 4) == 0);
        }
    }
    cpu::set_threads(before);
}

TEST(matmul_parts_equal_one_matmul_each) {
    // q, k, v (GQA: k and v narrower) and gate, up: in decode the parts are one
    // job whose tasks may straddle two parts; each part must come out exactly as
    // its own matmul, at every n of the decode path and past it.
    const int before = cpu::threads();
    for (int threads : {1, 2, 3}) {
        cpu::set_threads(threads);
        for (int32_t type : {SL4J_TYPE_F32, SL4J_TYPE_Q8_0, SL4J_TYPE_Q4_K}) {
            const int64_t k = type == SL4J_TYPE_Q4_K ? 512 : 96;
            const int64_t ms[] = {70, 17, 0, 33, 1};
            for (int64_t n : {1, 3, 8, 9}) {
                std::vector<std::vector<uint8_t>> w;
                std::vector<std::vector<float>> want, got;
                std::vector<cpu::MatmulPart> parts;
                const auto x = random_x(n * k, 40 + n);
                for (int p = 0; p < 5; ++p) {
                    w.push_back(random_weights(type, ms[p], k, 50 + p));
                    want.emplace_back((size_t)(n * ms[p]), 0.0f);
                    got.emplace_back((size_t)(n * ms[p]), -777.0f);
                    cpu::matmul(want[p].data(), w[p].data(), type, x.data(), n, k, ms[p]);
                }
                for (int p = 0; p < 5; ++p) parts.push_back({got[p].data(), w[p].data(), type, ms[p]});
                cpu::matmul_parts(parts.data(), 5, x.data(), n, k);
                for (int p = 0; p < 5; ++p) CHECK(std::memcmp(want[p].data(), got[p].data(), want[p].size() * 4) == 0);
            }
        }
    }
    cpu::set_threads(before);
    std::vector<float> out(8), x(32);
    const cpu::MatmulPart none[1] = {{out.data(), nullptr, SL4J_TYPE_F32, 1}};
    EXPECT_THROWS(cpu::matmul_parts(none, 1, x.data(), 1, 32));  // NULL weights named, not dereferenced
    EXPECT_THROWS(cpu::matmul_parts(none, 0, x.data(), 1, 32));
}

TEST(decode_rows_do_not_depend_on_the_batch) {
    // A sequence must decode to the same bits alone and beside others (generation
    // alone and in a batch give the same tokens): every row of an n-row decode
    // product equals that row's 1-row product exactly, at every type and level.
    for (cpu::Simd lv : levels()) {
        cpu::set_simd_cap(lv);
        for (int32_t type : kTypes) {
            const int64_t bs = type_traits(type)->block_size;
            const int64_t k = bs == 1 ? 100 : 2 * bs, m = 37;
            const auto w = random_weights(type, m, k, 70);
            const auto x = random_x(8 * k, 71);
            for (int64_t n = 2; n <= 8; ++n) {
                std::vector<float> all((size_t)(n * m)), one((size_t)m);
                cpu::matmul(all.data(), w.data(), type, x.data(), n, k, m);
                for (int64_t i = 0; i < n; ++i) {
                    cpu::matmul(one.data(), w.data(), type, x.data() + i * k, 1, k, m);
                    if (std::memcmp(one.data(), all.data() + i * m, (size_t)m * 4) != 0)
                        sl4j_test::record_failure(__FILE__, __LINE__,
                                                  format("%s [%s]: row %lld of %lld differs from its 1-row product",
                                                         type_traits(type)->name, cpu::simd_name(lv), (long long)i,
                                                         (long long)n));
                }
            }
        }
    }
    cpu::set_simd_cap(cpu::Simd::kAvx512);
}

TEST(kernel_dots_and_axpy_rows_against_double) {
    // The vector kernels attention runs on: dot and dot_rows (13 rows: groups of
    // four and single rows) within float rounding of a float64 sum, and axpy_rows
    // exactly `count` axpy calls (same order, same bits), over
    // lengths that hit the 8-vector blocks, single vectors and the scalar tail.
    for (cpu::Simd lv : levels()) {
        const cpu::KernelTable& kt = cpu::kernels_for(lv);
        for (int64_t n : {1, 7, 16, 64, 100, 128, 200}) {
            const int64_t count = 13, stride = n + 5;
            const auto a = random_x(n, 80 + n), rows = random_x(count * stride, 81 + n), w = random_x(count, 82);
            double ref = 0, mag = 0;
            for (int64_t j = 0; j < n; ++j) {
                ref += (double)a[j] * rows[j];
                mag += std::fabs((double)a[j] * rows[j]);
            }
            CHECK(std::fabs(kt.dot(a.data(), rows.data(), n) - ref) <= 1e-6 * mag + 1e-30);
            std::vector<float> dots((size_t)count, -777.0f);
            kt.dot_rows(dots.data(), a.data(), rows.data(), stride, count, n);
            for (int64_t p = 0; p < count; ++p) {
                double rp = 0, mp = 0;
                for (int64_t j = 0; j < n; ++j) {
                    rp += (double)a[j] * rows[p * stride + j];
                    mp += std::fabs((double)a[j] * rows[p * stride + j]);
                }
                CHECK(std::fabs(dots[p] - rp) <= 1e-6 * mp + 1e-30);
            }
            std::vector<float> want(a), got(a);
            for (int64_t p = 0; p < count; ++p) kt.axpy(want.data(), w[p], rows.data() + p * stride, n);
            kt.axpy_rows(got.data(), w.data(), rows.data(), stride, count, n);
            if (std::memcmp(want.data(), got.data(), (size_t)n * 4) != 0)
                sl4j_test::record_failure(__FILE__, __LINE__,
                                          format("axpy_rows [%s] n=%lld differs from %lld axpy calls", cpu::simd_name(lv),
                                                 (long long)n, (long long)count));
        }
    }
}

// dot_rows over many rows (AVX-512: blocks of 16 reduced together, then 4, then 1) gives each row
// the bits of dot_rows over that row alone, so an attention score does not depend on how many
// keys its row has.
TEST(dot_rows_blocks_equal_one_row_at_a_time_bit_for_bit) {
    for (cpu::Simd lv : levels()) {
        const cpu::KernelTable& kt = cpu::kernels_for(lv);
        for (int64_t n : {16, 64, 100, 128}) {
            const int64_t count = 37, stride = n + 16;
            const auto q = random_x(n, 90 + n), rows = random_x(count * stride, 91 + n);
            std::vector<float> all((size_t)count), one(1);
            kt.dot_rows(all.data(), q.data(), rows.data(), stride, count, n);
            int64_t diff = 0;
            for (int64_t p = 0; p < count; ++p) {
                kt.dot_rows(one.data(), q.data(), rows.data() + p * stride, stride, 1, n);
                diff += std::memcmp(&one[0], &all[(size_t)p], 4) != 0;
            }
            if (diff != 0)
                sl4j_test::record_failure(__FILE__, __LINE__, format("dot_rows [%s] n=%lld: %lld of %lld rows differ",
                                                                     cpu::simd_name(lv), (long long)n, (long long)diff,
                                                                     (long long)count));
        }
    }
}

TEST(matmul_rejects_bad_arguments) {
    std::vector<float> out(64), x(64);
    std::vector<uint8_t> w(1024);
    EXPECT_THROWS(cpu::matmul(out.data(), w.data(), SL4J_TYPE_Q4_1, x.data(), 1, 32, 1));
    EXPECT_THROWS(cpu::matmul(out.data(), w.data(), SL4J_TYPE_Q4_K, x.data(), 1, 32, 1));
    EXPECT_THROWS(cpu::matmul(out.data(), w.data(), SL4J_TYPE_F32, x.data(), -1, 32, 1));
    EXPECT_THROWS(cpu::matmul_transposed(out.data(), nullptr, SL4J_TYPE_F32, x.data(), 1, 4, 1));
    try {
        cpu::matmul(out.data(), w.data(), SL4J_TYPE_Q8_0, x.data(), 1, 40, 1);
        CHECK(false);
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("k=40") != std::string::npos);
        CHECK(std::string(e.what()).find("q8_0") != std::string::npos);
        CHECK_EQ(e.status(), (int32_t)SL4J_ERR_INVALID_ARGUMENT);
    }
    // k = 0: the empty sum
    std::fill(out.begin(), out.end(), 5.0f);
    cpu::matmul(out.data(), w.data(), SL4J_TYPE_F32, x.data(), 2, 0, 3);
    for (int i = 0; i < 6; ++i) CHECK_EQ(out[i], 0.0f);
}

TEST(threadpool_covers_range_once_and_nests) {
    const int before = cpu::threads();
    for (int t : {1, 2, 3}) {
        cpu::set_threads(t);
        CHECK_EQ(cpu::threads(), t);
        std::vector<std::atomic<int>> hits(1000);
        for (auto& h : hits) h = 0;
        cpu::parallel_for(1000, 7, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) {
                hits[(size_t)i]++;
                // nested call runs inline on this thread and must not deadlock
                int inner = 0;
                cpu::parallel_for(3, 1, [&](int64_t ib, int64_t ie) { inner += (int)(ie - ib); });
                if (inner != 3) hits[(size_t)i] += 100;
            }
        });
        int wrong = 0;
        for (auto& h : hits) wrong += h.load() != 1;
        CHECK_EQ(wrong, 0);
    }
    // an exception in a task reaches the caller, and the pool stays usable
    cpu::set_threads(2);
    EXPECT_THROWS(cpu::parallel_for(100, 1, [&](int64_t b, int64_t) {
        if (b >= 50) SL4J_FAIL(SL4J_ERR_INTERNAL, "boom");
    }));
    std::atomic<int64_t> sum{0};
    cpu::parallel_for(100, 1, [&](int64_t b, int64_t e) { for (int64_t i = b; i < e; ++i) sum += i; });
    CHECK_EQ(sum.load(), (int64_t)4950);
    CHECK_EQ(sl4j_set_threads(-1), (int32_t)SL4J_ERR_INVALID_ARGUMENT);
    CHECK_EQ(sl4j_set_threads(2), 0);
    CHECK_EQ(sl4j_get_threads(), 2);
    cpu::set_threads(before);
}

TEST(threadpool_serves_concurrent_callers) {
    // Two caller threads (two sessions decoding at once) submit jobs at the same
    // time: every job must cover its own range exactly once, run only its own
    // function, and nobody may deadlock -- including a matmul nested in a task.
    const int before = cpu::threads();
    cpu::set_threads(2);
    const int64_t k = 64, m = 40;
    const auto w = random_weights(SL4J_TYPE_Q4_0, m, k, 11);
    std::vector<std::vector<float>> xs, want;
    for (int64_t n : {1, 3, 12}) {
        xs.push_back(random_x(n * k, 12 + n));
        want.emplace_back((size_t)(n * m));
        cpu::matmul(want.back().data(), w.data(), SL4J_TYPE_Q4_0, xs.back().data(), n, k, m);
    }
    std::atomic<int> wrong{0};
    auto caller = [&](int tag) {
        std::vector<int> hits(997);
        for (int rep = 0; rep < 200; ++rep) {
            std::fill(hits.begin(), hits.end(), 0);
            cpu::parallel_for((int64_t)hits.size(), 5, [&](int64_t b, int64_t e) {
                for (int64_t i = b; i < e; ++i) hits[(size_t)i] += tag;
            });
            for (int h : hits) wrong += h != tag;
            const size_t c = (size_t)rep % xs.size();
            const int64_t n = (int64_t)xs[c].size() / k;
            std::vector<float> out((size_t)(n * m));
            cpu::matmul(out.data(), w.data(), SL4J_TYPE_Q4_0, xs[c].data(), n, k, m);
            wrong += std::memcmp(out.data(), want[c].data(), out.size() * 4) != 0;
        }
        // a matmul inside a task runs inline (and must not wait on the pool)
        cpu::parallel_for(4, 1, [&](int64_t b, int64_t e) {
            for (int64_t t = b; t < e; ++t) {
                std::vector<float> out(want[2].size());
                cpu::matmul(out.data(), w.data(), SL4J_TYPE_Q4_0, xs[2].data(), 12, k, m);
                wrong += std::memcmp(out.data(), want[2].data(), out.size() * 4) != 0;
            }
        });
    };
    std::thread a(caller, 1), b(caller, 2);
    caller(3);
    a.join();
    b.join();
    CHECK_EQ(wrong.load(), 0);
    cpu::set_threads(before);
}

TEST(threadpool_wakes_spinning_and_sleeping_workers) {
    // Workers spin briefly after a job (SL4J_SPIN_US, default 200 us) and then
    // sleep: jobs back to back find them spinning, jobs spaced past the budget
    // must wake them from the condition variable. Both must cover every index once.
    const int before = cpu::threads();
    cpu::set_threads(2);
    std::vector<int> hits(257);
    int wrong = 0;
    auto job = [&] {
        std::fill(hits.begin(), hits.end(), 0);
        cpu::parallel_for((int64_t)hits.size(), 1, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) ++hits[(size_t)i];
        });
        for (int h : hits) wrong += h != 1;
    };
    for (int rep = 0; rep < 5000; ++rep) job();
    for (int rep = 0; rep < 20; ++rep) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        job();
    }
    CHECK_EQ(wrong, 0);
    cpu::set_threads(before);
}

TEST(threadpool_oversubscribed_workers_join_late_or_not_at_all) {
    // More workers than cores: many wake only after their caller has run every chunk and
    // closed the job. They must neither run that job's function after it ended nor hold the
    // caller up, and a worker that joins the next job must serve that job's function.
    const int before = cpu::threads();
    cpu::set_threads(6);
    std::vector<int> hits(61);
    int wrong = 0;
    for (int rep = 0; rep < 20000; ++rep) {
        const int tag = rep % 3 + 1;
        std::fill(hits.begin(), hits.end(), 0);
        cpu::parallel_for((int64_t)hits.size(), 1, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) hits[(size_t)i] += tag;
        });
        for (int h : hits) wrong += h != tag;
    }
    CHECK_EQ(wrong, 0);
    cpu::set_threads(before);
}

TEST(simd_level_names) {
    const std::string s = cpu::simd_level();
    CHECK(s == "scalar" || s == "avx2" || s == "avx512");
}
