// The fast precision's integer path (cpu/qdot.h): activation quantisation, every
// integer dot-product kernel this CPU runs against a float64 evaluation of the same
// quantised maths, and cpu::matmul / matmul_parts with Precision::kFast against the
// exact product with a bound derived from the activation quantisation step.
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "../bench/random_weights.h"
#include "core/error.h"
#include "core/types.h"
#include "cpu/amx.h"
#include "cpu/matmul.h"
#include "cpu/qdot.h"
#include "cpu/repack.h"
#include "cpu/simd.h"
#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/quant.h"
#include "stackllama4j.h"
#include "testing.h"

using namespace sl4j;

namespace {

const int32_t kQTypes[] = {SL4J_TYPE_Q4_0, SL4J_TYPE_Q8_0, SL4J_TYPE_Q4_K, SL4J_TYPE_Q5_K, SL4J_TYPE_Q6_K};

std::vector<float> random_x(int64_t n, uint64_t seed) {
    std::vector<float> x((size_t)n);
    for (int64_t i = 0; i < n; ++i) x[(size_t)i] = bench::random_uniform(seed, (uint64_t)i, 1.0f);
    // some all-zero blocks and some large outliers, as real activations have
    for (int64_t i = 0; i < n && n >= 512; ++i) {
        if (i >= 256 && i < 288) x[(size_t)i] = 0.0f;
        if (i % 97 == 5) x[(size_t)i] *= 20.0f;
    }
    return x;
}

// The dequantised activation row (d * q per element).
std::vector<double> dequant_act(cpu::QAct a, const void* xq, int64_t k) {
    std::vector<double> v((size_t)k);
    if (a == cpu::QAct::kQ8_32) {
        const auto* b = static_cast<const block_q8_a32*>(xq);
        for (int64_t j = 0; j < k; ++j) v[(size_t)j] = (double)b[j / 32].d * b[j / 32].qs[j % 32];
    } else {
        const auto* b = static_cast<const block_q8_K*>(xq);
        for (int64_t j = 0; j < k; ++j) v[(size_t)j] = (double)b[j / 256].d * b[j / 256].qs[j % 256];
    }
    return v;
}

std::vector<const cpu::QKernelTable*> tables() {
    std::vector<const cpu::QKernelTable*> t;
    for (const cpu::QKernelTable* q : {&cpu::qkernels_scalar(), &cpu::qkernels_avx2(), &cpu::qkernels_avxvnni(),
                                       &cpu::qkernels_avx512vnni()})
        if (cpu::qkernels_supported(*q)) t.push_back(q);
    return t;
}

}  // namespace

TEST(qdot_activation_quantisation_blocks) {
    const int64_t k = 1024;
    const auto x = random_x(k, 11);
    for (cpu::QAct a : {cpu::QAct::kQ8_32, cpu::QAct::kQ8_K}) {
        const int bs = a == cpu::QAct::kQ8_32 ? 32 : 256;
        std::vector<char> q((size_t)cpu::qact_row_bytes(a, k));
        CHECK_EQ((int64_t)q.size(), k / bs * (a == cpu::QAct::kQ8_32 ? 40 : 292));
        cpu::quantize_act_row(a, x.data(), q.data(), k);
        const auto v = dequant_act(a, q.data(), k);
        for (int64_t b = 0; b < k / bs; ++b) {
            double amax = 0;
            for (int j = 0; j < bs; ++j) amax = std::fmax(amax, std::fabs(x[(size_t)(b * bs + j)]));
            const int8_t* qs = a == cpu::QAct::kQ8_32 ? static_cast<block_q8_a32*>((void*)q.data())[b].qs
                                                      : static_cast<block_q8_K*>((void*)q.data())[b].qs;
            const float d = a == cpu::QAct::kQ8_32 ? static_cast<block_q8_a32*>((void*)q.data())[b].d
                                                   : static_cast<block_q8_K*>((void*)q.data())[b].d;
            // 32-blocks keep the FP16 rounding of max|x| / 127 (ggml's block_q8_0), 256-blocks the float
            const float step = (float)amax / 127.0f;
            if (a == cpu::QAct::kQ8_32) {
                CHECK_EQ(d, half_to_f32(f32_to_half(step)));
                CHECK(std::fabs(d - amax / 127.0) <= std::fmax(amax / 127.0 * std::ldexp(1.0, -11), std::ldexp(1.0, -25)));
            } else {
                CHECK_NEAR(d, amax / 127.0, 1e-7 * amax);
            }
            int peak = 0, sum = 0;
            for (int j = 0; j < bs; ++j) {
                peak = std::max(peak, std::abs((int)qs[j]));
                sum += qs[j];
                // q within half a step of x / step (q is rounded against the float step), so d * q
                // within half a step plus |q| times the scale's rounding
                const double err = std::fabs(v[(size_t)(b * bs + j)] - x[(size_t)(b * bs + j)]);
                CHECK(err <= 0.5 * step * (1 + 1e-6) + std::abs((int)qs[j]) * std::fabs(d - (double)step));
            }
            CHECK_EQ(peak, amax > 0 ? 127 : 0);
            if (a == cpu::QAct::kQ8_32) {
                CHECK_EQ(static_cast<block_q8_a32*>((void*)q.data())[b].sum, sum);
            } else {
                const auto& blk = static_cast<block_q8_K*>((void*)q.data())[b];
                for (int g = 0; g < 16; ++g) {
                    int s = 0;
                    for (int j = 0; j < 16; ++j) s += blk.qs[16 * g + j];
                    CHECK_EQ((int)blk.bsums[g], s);
                }
            }
        }
    }
}

// Every level's activation quantiser is quantize_act_row bit for bit: random rows of several
// magnitudes, an all-zero block, blocks whose values sit on exact half-steps of the grid (ties to
// even), a block holding one huge value among tiny ones, and a NaN (skipped by the maximum).
TEST(qdot_level_quantisers_equal_quantize_act_row_bit_for_bit) {
    const int64_t k = 1024;
    std::vector<float> x = random_x(k, 12);
    for (int64_t j = 0; j < k; ++j) x[(size_t)j] *= j < 256 ? 1e-3f : j < 512 ? 1.0f : 40.0f;
    for (int j = 0; j < 32; ++j) x[(size_t)(32 + j)] = 0.0f;
    for (int j = 0; j < 32; ++j) x[(size_t)(64 + j)] = j == 0 ? 127.0f : (float)(j % 9 - 4) + 0.5f;  // ties
    for (int j = 0; j < 32; ++j) x[(size_t)(96 + j)] = j == 5 ? 3e30f : 1e-30f * (float)(j - 16);
    // x * (127 / max) rounds to exactly 72.5 in float (ties to 72); computed exactly, as an FMA
    // would before adding the rounding constant, it is above 72.5 and becomes 73
    x[128] = 27278.373f, x[129] = 15572.2998f;
    for (cpu::QAct a : {cpu::QAct::kQ8_32, cpu::QAct::kQ8_K}) {
        std::vector<char> ref((size_t)cpu::qact_row_bytes(a, k)), got(ref.size());
        cpu::quantize_act_row(a, x.data(), ref.data(), k);
        for (const cpu::QKernelTable* t : tables()) {
            std::fill(got.begin(), got.end(), 0x5A);
            t->quantize(a, x.data(), got.data(), k);
            int64_t diff = 0;
            for (size_t i = 0; i < ref.size(); ++i) diff += ref[i] != got[i];
            if (diff != 0) std::printf("  %s, %s: %lld bytes differ\n", t->name, a == cpu::QAct::kQ8_32 ? "q8_32" : "q8_K",
                                       (long long)diff);
            CHECK_EQ(diff, 0);
        }
    }
}

// A block holding a NaN or an infinity quantises to a NaN scale with zero codes and sums at every
// level, and the blocks around it as before: the fast products over it are NaN, as the float ones
// would be, instead of finite numbers made from an undefined float-to-int conversion.
TEST(qdot_quantisers_turn_a_non_finite_block_into_a_nan_scale) {
    const int64_t k = 1024;
    const std::vector<float> clean = random_x(k, 13);
    for (float poison : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                         -std::numeric_limits<float>::infinity()}) {
        std::vector<float> x = clean;
        x[300] = poison;  // 32-block 9, 256-block 1
        for (cpu::QAct a : {cpu::QAct::kQ8_32, cpu::QAct::kQ8_K}) {
            std::vector<char> want((size_t)cpu::qact_row_bytes(a, k)), got(want.size());
            cpu::quantize_act_row(a, clean.data(), want.data(), k);
            for (const cpu::QKernelTable* t : tables()) {
                std::fill(got.begin(), got.end(), 0x5A);
                t->quantize(a, x.data(), got.data(), k);
                // blocks other than the poisoned one as in the clean row; the poisoned one NaN-scaled,
                // every code and sum zero
                auto check = [&](auto block, int64_t bs, auto&& zeroed) {
                    using B = decltype(block);
                    const auto* w = reinterpret_cast<const B*>(want.data());
                    const auto* g = reinterpret_cast<const B*>(got.data());
                    for (int64_t b = 0; b < k / bs; ++b) {
                        if (b != 300 / bs) {
                            CHECK(std::memcmp(&w[b], &g[b], sizeof(B)) == 0);
                            continue;
                        }
                        CHECK(std::isnan(g[b].d));
                        zeroed(g[b]);
                        for (int j = 0; j < bs; ++j) CHECK_EQ((int)g[b].qs[j], 0);
                    }
                };
                if (a == cpu::QAct::kQ8_32)
                    check(block_q8_a32{}, 32, [&](const block_q8_a32& y) { CHECK_EQ(y.sum, 0); });
                else
                    check(block_q8_K{}, 256, [&](const block_q8_K& y) {
                        for (int j = 0; j < 16; ++j) CHECK_EQ((int)y.bsums[j], 0);
                    });
            }
        }
    }
    // end to end: the poisoned activation row's outputs are NaN, the other rows' finite, at every
    // level, in decode and in prefill (tiled and repacked-free paths alike)
    for (int lvl = 0; lvl <= (int)cpu::simd_detected(); ++lvl) {
        cpu::set_simd_cap((cpu::Simd)lvl);
        for (int32_t type : kQTypes) {
            const int64_t m = 21;
            const auto w = bench::random_weight_bytes(type, m, k, 0.5f, 61 + type, true);
            for (int64_t n : {1, 12}) {
                std::vector<float> x = random_x(n * k, 62);
                x[(size_t)((n - 1) * k + 700)] = std::numeric_limits<float>::quiet_NaN();
                std::vector<float> out((size_t)(n * m), 0.0f);
                cpu::matmul(out.data(), w.data(), type, x.data(), n, k, m, cpu::Precision::kFast);
                int wrong = 0;
                for (int64_t i = 0; i < n; ++i)
                    for (int64_t r = 0; r < m; ++r)
                        wrong += (i == n - 1) != std::isnan(out[(size_t)(i * m + r)]);
                CHECK_EQ(wrong, 0);
            }
        }
    }
    cpu::set_simd_cap(cpu::Simd::kAvx512);
}

// Each kernel level, each type, 1..4 activation rows: the float64 sum of dequantised
// weight times dequantised activation, to float rounding (1e-5 of the sum of |terms|).
TEST(qdot_every_kernel_against_double_of_the_quantised_maths) {
    const int64_t k = 768, m = 6, n = 4;
    const auto x = random_x(n * k, 21);
    for (int32_t type : kQTypes) {
        const cpu::QAct a = cpu::qact_for(type);
        const int64_t xrb = cpu::qact_row_bytes(a, k), rb = type_row_bytes(type, k);
        std::vector<char> xq((size_t)(n * xrb));
        for (int64_t i = 0; i < n; ++i) cpu::quantize_act_row(a, x.data() + i * k, xq.data() + i * xrb, k);
        const auto w = bench::random_weight_bytes(type, m, k, 0.5f, 31 + type, true);
        std::vector<float> wf((size_t)(m * k));
        dequantize_row(type, w.data(), wf.data(), m * k);
        for (const cpu::QKernelTable* t : tables()) {
            for (int nx = 1; nx <= cpu::kQdotMaxX; ++nx) {
                int bad = 0;
                for (int64_t r = 0; r < m; ++r) {
                    float out[cpu::kQdotMaxX * 3];
                    t->dot(type, w.data() + r * rb, xq.data(), xrb, nx, k, out, 3);
                    for (int i = 0; i < nx; ++i) {
                        const auto v = dequant_act(a, xq.data() + i * xrb, k);
                        double ref = 0, mag = 0;
                        for (int64_t j = 0; j < k; ++j) {
                            ref += (double)wf[(size_t)(r * k + j)] * v[(size_t)j];
                            mag += std::fabs((double)wf[(size_t)(r * k + j)] * v[(size_t)j]);
                        }
                        if (!(std::fabs(out[i * 3] - ref) <= 1e-5 * mag)) {
                            if (bad++ == 0)
                                sl4j_test::record_failure(
                                    __FILE__, __LINE__,
                                    format("qdot %s [%s] nx=%d row %lld x %d: %.8g vs %.8g (mag %.3g)",
                                           type_traits(type)->name, t->name, nx, (long long)r, i, out[i * 3], ref, mag));
                        }
                    }
                }
            }
        }
    }
}

// The decode kernel (`rows`: up to kQdotMaxX weight rows against one activation row, their
// accumulator chains interleaved) gives, bit for bit, what `dot` gives row by row with nx = 1,
// on every level and type, for each row count and an odd row stride (rows 1 apart, 2 apart).
TEST(qdot_rows_equal_dot_row_by_row_bit_for_bit) {
    const int64_t k = 768, m = 9;
    const auto x = random_x(k, 23);
    for (int32_t type : kQTypes) {
        const cpu::QAct a = cpu::qact_for(type);
        const int64_t rb = type_row_bytes(type, k);
        std::vector<char> xq((size_t)cpu::qact_row_bytes(a, k));
        cpu::quantize_act_row(a, x.data(), xq.data(), k);
        const auto w = bench::random_weight_bytes(type, m, k, 0.5f, 41 + type, true);
        for (const cpu::QKernelTable* t : tables()) {
            for (int64_t step : {1, 2}) {
                for (int nr = 1; nr <= cpu::kQdotMaxX; ++nr) {
                    for (int64_t r0 = 0; r0 + (nr - 1) * step < m; ++r0) {
                        float got[cpu::kQdotMaxX], want = 0.0f;
                        t->rows(type, w.data() + r0 * rb, step * rb, nr, xq.data(), k, got);
                        for (int r = 0; r < nr; ++r) {
                            t->dot(type, w.data() + (r0 + r * step) * rb, xq.data(), 0, 1, k, &want, 1);
                            if (std::memcmp(&got[r], &want, sizeof(float)) != 0)
                                sl4j_test::record_failure(__FILE__, __LINE__, format("%s [%s] rows nr=%d row %lld: %.9g vs dot %.9g", type_traits(type)->name,
                                             t->name, nr, (long long)(r0 + r * step), got[r], want));
                        }
                    }
                }
            }
        }
    }
}

namespace {

// Runs a level's tiled GEMM as matmul does: the quantised rows repacked into its panel, then
// all m weight rows against all n activation rows.
std::vector<float> run_qgemm(const cpu::QGemm& g, int32_t type, const uint8_t* w, const char* xq, int64_t n,
                             int64_t k, int64_t m) {
    const cpu::QAct a = cpu::qact_for(type);
    std::vector<char> panel((size_t)g.panel_bytes(a, n, k));
    g.pack(a, xq, cpu::qact_row_bytes(a, k), n, k, panel.data(), 0, (n + g.lanes - 1) / g.lanes);
    std::vector<float> out((size_t)(n * m), -777.0f);
    g.gemm(type, w, type_row_bytes(type, k), m, panel.data(), n, k, out.data(), m);
    return out;
}

// Weight rows of random codes (every bit pattern, Q8_0's -128 included) whose block scales
// (d, and dmin for Q4_K / Q5_K) are 1: every product is an integer.
std::vector<uint8_t> integer_weights(int32_t type, int64_t m, int64_t k, uint64_t seed) {
    auto w = bench::random_weight_bytes(type, m, k, 0.5f, seed, true);
    const int64_t bs = type_traits(type)->type_size, nblk = (int64_t)w.size() / bs;
    const uint16_t one = f32_to_fp16(1.0f);
    for (int64_t b = 0; b < nblk; ++b) {
        uint8_t* blk = w.data() + b * bs;
        if (type == SL4J_TYPE_Q6_K) {
            std::memcpy(blk + offsetof(block_q6_K, d), &one, 2);
        } else {
            std::memcpy(blk, &one, 2);
            if (type == SL4J_TYPE_Q4_K || type == SL4J_TYPE_Q5_K) std::memcpy(blk + 2, &one, 2);
        }
    }
    return w;
}

struct GemmShape {
    int64_t n, k, m;
};

// fn(table, type, shape) for every level with a tiled GEMM, each type it takes, each shape;
// returns how many cases ran.
template <typename Fn>
int each_qgemm_case(std::initializer_list<GemmShape> shapes, Fn fn) {
    int ran = 0;
    for (const cpu::QKernelTable* t : tables()) {
        if (t->gemm == nullptr) continue;
        for (int32_t type : kQTypes) {
            if (!t->gemm->supports(type)) continue;  // AVX2: Q8_0 runs on the per-row kernel
            for (const GemmShape& s : shapes) fn(*t, type, s), ++ran;
        }
    }
    return ran;
}

// n rows of k floats quantised for the activation kind a, rows contiguous.
std::vector<char> quantize_rows(cpu::QAct a, const std::vector<float>& x, int64_t n, int64_t k) {
    const int64_t xrb = cpu::qact_row_bytes(a, k);
    std::vector<char> xq((size_t)(n * xrb));
    for (int64_t i = 0; i < n; ++i) cpu::quantize_act_row(a, x.data() + i * k, xq.data() + i * xrb, k);
    return xq;
}

}  // namespace

// The tiled GEMM against the scalar reference with integer data (weight scales 1, activations
// integers with one +-127 per block, so the activation scale is 1): the results are integers
// well inside float's exact range, so equal integer sums per block give equal floats, bit for
// bit. Odd shapes: n not a multiple of a group (16) or a tile (32), m not a multiple of the
// 4-row tile, k of one and several blocks.
TEST(qgemm_tiled_integer_sums_equal_the_scalar_reference) {
    const int ran = each_qgemm_case(
        {{9, 256, 1}, {17, 512, 5}, {33, 768, 7}, {50, 256, 13}, {64, 1280, 4}},
        [](const cpu::QKernelTable& t, int32_t type, const GemmShape& s) {
            const cpu::QAct a = cpu::qact_for(type);
            const int bs = a == cpu::QAct::kQ8_32 ? 32 : 256;
            std::vector<float> x((size_t)(s.n * s.k));
            for (int64_t i = 0; i < s.n * s.k; ++i)
                x[(size_t)i] = i % bs == 3 ? (i % 2 ? 127.0f : -127.0f)
                                           : (float)((int)(mix64(91 + (uint64_t)i) % 255) - 127);
            const auto xq = quantize_rows(a, x, s.n, s.k);
            const int64_t xrb = cpu::qact_row_bytes(a, s.k);
            const auto w = integer_weights(type, s.m, s.k, 7 + type);
            const auto got = run_qgemm(*t.gemm, type, w.data(), xq.data(), s.n, s.k, s.m);
            int bad = 0;
            for (int64_t r = 0; r < s.m; ++r)
                for (int64_t i = 0; i < s.n; ++i) {
                    float ref;
                    cpu::qkernels_scalar().dot(type, w.data() + r * type_row_bytes(type, s.k), xq.data() + i * xrb,
                                               xrb, 1, s.k, &ref, 1);
                    CHECK(ref == std::round(ref));  // the data are integer: the check is exact
                    if (got[(size_t)(i * s.m + r)] != ref && bad++ == 0)
                        sl4j_test::record_failure(
                            __FILE__, __LINE__,
                            format("qgemm %s [%s] n=%lld k=%lld m=%lld row %lld x %lld: %.9g vs scalar %.9g",
                                   type_traits(type)->name, t.name, (long long)s.n, (long long)s.k, (long long)s.m,
                                   (long long)r, (long long)i, got[(size_t)(i * s.m + r)], ref));
                }
        });
    if (ran == 0) std::printf("  (no level with a tiled GEMM on this CPU: nothing to compare)\n");
}

// The tiled GEMM on real-valued data against the float64 sum of dequantised weight times
// dequantised activation, to float rounding (1e-5 of the sum of |terms|, as the per-row kernels).
TEST(qgemm_tiled_against_double_of_the_quantised_maths) {
    each_qgemm_case({{11, 768, 6}, {40, 512, 9}, {33, 256, 3}}, [](const cpu::QKernelTable& t, int32_t type,
                                                                   const GemmShape& s) {
        const cpu::QAct a = cpu::qact_for(type);
        const auto xq = quantize_rows(a, random_x(s.n * s.k, 23), s.n, s.k);
        const int64_t xrb = cpu::qact_row_bytes(a, s.k);
        const auto w = bench::random_weight_bytes(type, s.m, s.k, 0.5f, 33 + type, true);
        std::vector<float> wf((size_t)(s.m * s.k));
        dequantize_row(type, w.data(), wf.data(), s.m * s.k);
        const auto got = run_qgemm(*t.gemm, type, w.data(), xq.data(), s.n, s.k, s.m);
        int bad = 0;
        for (int64_t i = 0; i < s.n; ++i) {
            const auto v = dequant_act(a, xq.data() + i * xrb, s.k);
            for (int64_t r = 0; r < s.m; ++r) {
                double ref = 0, mag = 0;
                for (int64_t j = 0; j < s.k; ++j) {
                    ref += (double)wf[(size_t)(r * s.k + j)] * v[(size_t)j];
                    mag += std::fabs((double)wf[(size_t)(r * s.k + j)] * v[(size_t)j]);
                }
                const float o = got[(size_t)(i * s.m + r)];
                if (!(std::fabs(o - ref) <= 1e-5 * mag) && bad++ == 0)
                    sl4j_test::record_failure(
                        __FILE__, __LINE__,
                        format("qgemm %s [%s] n=%lld k=%lld m=%lld row %lld x %lld: %.8g vs %.8g (mag %.3g)",
                               type_traits(type)->name, t.name, (long long)s.n, (long long)s.k, (long long)s.m,
                               (long long)r, (long long)i, o, ref, mag));
            }
        }
    });
}

// Prefill through matmul_parts: the tiled GEMM and the per-row kernel (set_qgemm_tiled(false))
// agree to float rounding, with n and m off every tile size, parts of both activation kinds, and
// stories260K's shapes (k = 64: two blocks of 32; m = 172 and 512).
TEST(matmul_fast_prefill_tiled_equals_the_per_row_kernel) {
    struct Case {
        int64_t k;
        std::vector<int32_t> types;
        std::vector<int64_t> ms;
    };
    const Case cases[] = {
        {512, {SL4J_TYPE_Q4_0, SL4J_TYPE_Q4_K, SL4J_TYPE_Q8_0, SL4J_TYPE_Q6_K, SL4J_TYPE_Q5_K}, {21, 35, 16, 7, 50}},
        {64, {SL4J_TYPE_Q8_0, SL4J_TYPE_Q4_0, SL4J_TYPE_Q8_0}, {172, 172, 512}},
    };
    for (const Case& c : cases) {
        const int64_t k = c.k;
        const int np = (int)c.types.size();
        for (int64_t n : {9, 31, 70}) {
            const auto x = random_x(n * k, 81);
            std::vector<std::vector<uint8_t>> w;
            std::vector<std::vector<float>> got, want;
            std::vector<cpu::MatmulPart> pt, pr;
            for (int p = 0; p < np; ++p) {
                w.push_back(bench::random_weight_bytes(c.types[p], c.ms[p], k, 0.5f, 91 + p, true));
                got.emplace_back((size_t)(n * c.ms[p]), -1.0f);
                want.emplace_back((size_t)(n * c.ms[p]), -2.0f);
            }
            for (int p = 0; p < np; ++p) {
                pt.push_back({got[p].data(), w[p].data(), c.types[p], c.ms[p]});
                pr.push_back({want[p].data(), w[p].data(), c.types[p], c.ms[p]});
            }
            cpu::kernels_ran_take();
            cpu::matmul_parts(pt.data(), np, x.data(), n, k, cpu::Precision::kFast);
            const std::string tiled = cpu::kernels_ran_take();
            cpu::set_qgemm_tiled(false);
            cpu::matmul_parts(pr.data(), np, x.data(), n, k, cpu::Precision::kFast);
            cpu::set_qgemm_tiled(true);
            const std::string rows = cpu::kernels_ran_take();
            const std::string q = cpu::qkernels().name, t0 = type_traits(c.types[0])->name;
            // on a CPU with AMX the 32-block types' prefill runs on its tiles (cpu/amx.h)
            const bool amx = cpu::amx_qgemm() != nullptr && cpu::amx_qgemm()->supports(c.types[0]);
            const bool has_tile = amx || (cpu::qkernels().gemm && cpu::qkernels().gemm->supports(c.types[0]));
            CHECK(tiled.find((has_tile ? "qgemm:" : "qgemm_rows:") + t0 + "/" + (amx ? "amx" : q)) != std::string::npos);
            CHECK(rows.find("qgemm_rows:" + t0 + "/" + q) != std::string::npos);
            for (int p = 0; p < np; ++p) {
                std::vector<float> wf((size_t)(c.ms[p] * k));
                dequantize_row(c.types[p], w[p].data(), wf.data(), c.ms[p] * k);
                int bad = 0;
                for (int64_t i = 0; i < n; ++i)
                    for (int64_t r = 0; r < c.ms[p]; ++r) {
                        double mag = 0;
                        for (int64_t j = 0; j < k; ++j)
                            mag += std::fabs((double)wf[(size_t)(r * k + j)] * x[(size_t)(i * k + j)]);
                        const size_t o = (size_t)(i * c.ms[p] + r);
                        if (!(std::fabs(got[p][o] - want[p][o]) <= 2e-5 * mag)) ++bad;
                    }
                if (bad)
                    sl4j_test::record_failure(__FILE__, __LINE__,
                                              format("tiled vs per-row %s k=%lld n=%lld: %d outputs differ beyond rounding",
                                                     type_traits(c.types[p])->name, (long long)k, (long long)n, bad));
            }
        }
    }
}

// matmul with the fast precision against the exact product with the dequantised
// weights: per output, |error| <= sum over activation blocks of half the block's step
// (max|x| / 254) plus, for the 32-blocks' FP16 scale, 127 times its rounding, times the sum of |w|
// over the block, plus float rounding. Decode and prefill shapes, every SIMD level.
TEST(matmul_fast_within_the_activation_quantisation_bound) {
    struct Shape {
        int64_t n, k, m;
    };
    const Shape shapes[] = {{1, 512, 37}, {3, 768, 64}, {8, 256, 33}, {13, 512, 70}, {40, 256, 48}, {33, 768, 37}};
    for (int lvl = 0; lvl <= (int)cpu::simd_detected(); ++lvl) {
        cpu::set_simd_cap((cpu::Simd)lvl);
        for (int32_t type : kQTypes) {
            for (const Shape& s : shapes) {
                const auto w = bench::random_weight_bytes(type, s.m, s.k, 0.5f, 41 + type, true);
                std::vector<float> wf((size_t)(s.m * s.k));
                dequantize_row(type, w.data(), wf.data(), s.m * s.k);
                const auto x = random_x(s.n * s.k, 51);
                std::vector<float> out((size_t)(s.n * s.m), -777.0f);
                cpu::matmul(out.data(), w.data(), type, x.data(), s.n, s.k, s.m, cpu::Precision::kFast);
                const int bs = cpu::qact_for(type) == cpu::QAct::kQ8_32 ? 32 : 256;
                int bad = 0;
                double worst = 0;
                for (int64_t i = 0; i < s.n; ++i)
                    for (int64_t r = 0; r < s.m; ++r) {
                        double ref = 0, mag = 0, bound = 0;
                        for (int64_t b = 0; b < s.k / bs; ++b) {
                            double amax = 0, wabs = 0;
                            for (int j = 0; j < bs; ++j) {
                                const int64_t c = b * bs + j;
                                const double t = (double)x[(size_t)(i * s.k + c)] * wf[(size_t)(r * s.k + c)];
                                ref += t;
                                mag += std::fabs(t);
                                amax = std::fmax(amax, std::fabs(x[(size_t)(i * s.k + c)]));
                                wabs += std::fabs(wf[(size_t)(r * s.k + c)]);
                            }
                            // FP16 scale: 2^-11 relative, at least half its subnormal spacing (2^-25)
                            const double fp16 = bs == 32 ? std::fmax(amax * std::ldexp(1.0, -11), 127 * std::ldexp(1.0, -25)) : 0.0;
                            bound += (amax / 254.0 + fp16) * wabs;
                        }
                        const double err = std::fabs(out[(size_t)(i * s.m + r)] - ref);
                        worst = std::fmax(worst, err / bound);
                        if (!(err <= bound + 1e-5 * mag)) ++bad;
                    }
                if (bad)
                    sl4j_test::record_failure(__FILE__, __LINE__,
                                              format("fast matmul %s [%s] n=%lld k=%lld m=%lld: %d outside the bound",
                                                     type_traits(type)->name, cpu::simd_name((cpu::Simd)lvl),
                                                     (long long)s.n, (long long)s.k, (long long)s.m, bad));
                // the bound is not vacuous: the error is a sizeable part of it somewhere
                CHECK(worst > 0.005);
            }
        }
    }
    cpu::set_simd_cap(cpu::Simd::kAvx512);
}

// matmul_parts mixing integer-path types with a float type equals one matmul per part.
TEST(matmul_parts_fast_mixed_types_equal_one_matmul_each) {
    const int64_t k = 512;
    const int32_t types[] = {SL4J_TYPE_Q8_0, SL4J_TYPE_Q4_K, SL4J_TYPE_F32, SL4J_TYPE_Q6_K};
    const int64_t ms[] = {40, 24, 17, 33};
    for (int64_t n : {1, 5, 20}) {
        const auto x = random_x(n * k, 61);
        std::vector<std::vector<uint8_t>> w;
        std::vector<std::vector<float>> got, want;
        cpu::MatmulPart parts[4];
        for (int p = 0; p < 4; ++p) {
            w.push_back(bench::random_weight_bytes(types[p], ms[p], k, 0.5f, 71 + p, true));
            got.emplace_back((size_t)(n * ms[p]), -1.0f);
            want.emplace_back((size_t)(n * ms[p]), -2.0f);
        }
        for (int p = 0; p < 4; ++p) parts[p] = {got[p].data(), w[p].data(), types[p], ms[p]};
        cpu::matmul_parts(parts, 4, x.data(), n, k, cpu::Precision::kFast);
        for (int p = 0; p < 4; ++p) {
            cpu::matmul(want[p].data(), w[p].data(), types[p], x.data(), n, k, ms[p], cpu::Precision::kFast);
            CHECK(got[p] == want[p]);
        }
    }
}

TEST(kernels_ran_names_the_fast_and_exact_paths) {
    cpu::kernels_ran_take();
    const int64_t k = 256, m = 16;
    const auto w = bench::random_weight_bytes(SL4J_TYPE_Q4_K, m, k, 0.5f, 3, true);
    const auto x = random_x(16 * k, 5);
    std::vector<float> out((size_t)(16 * m));
    cpu::matmul(out.data(), w.data(), SL4J_TYPE_Q4_K, x.data(), 1, k, m, cpu::Precision::kFast);
    cpu::matmul(out.data(), w.data(), SL4J_TYPE_Q4_K, x.data(), 16, k, m, cpu::Precision::kFast);
    cpu::matmul(out.data(), w.data(), SL4J_TYPE_Q4_K, x.data(), 16, k, m, cpu::Precision::kExact);
    const std::string ran = cpu::kernels_ran_take();
    const std::string q = cpu::qkernels().name, f = cpu::simd_name(cpu::simd());
    CHECK(ran.find("qgemv:q4_K/" + q) != std::string::npos);
    CHECK(ran.find((cpu::qkernels().gemm ? "qgemm:q4_K/" : "qgemm_rows:q4_K/") + q) != std::string::npos);
    CHECK(ran.find("gemm:q4_K/" + f) != std::string::npos);
    CHECK(("," + ran).find(",gemv:") == std::string::npos);  // no exact decode ran
    CHECK(cpu::kernels_ran_take().empty());
}

// ---- weights repacked for the fast precision (cpu/repack.h, QPacked) ----

namespace {

// The repacked copy of m rows of k elements of type.
std::vector<uint8_t> repacked(int32_t type, const std::vector<uint8_t>& w, int64_t m, int64_t k) {
    std::vector<uint8_t> p((size_t)cpu::repack_bytes(type, m, k), 0xEE);
    cpu::repack(type, w.data(), m, k, p.data());
    return p;
}

// Row counts off the group size (16) on both sides, k of one block, odd block counts and
// counts that are not a multiple of 256.
const int64_t kRepackMs[] = {1, 7, 16, 17, 37, 64};
const int64_t kRepackKs[] = {32, 96, 768, 1056};

}  // namespace

// The layout holds the rows exactly: every row comes back byte for byte, the groups are as many
// bytes as their rows (16 x 18 per block of Q4_0), and the rows padding the last group are zero.
TEST(repack_round_trips_every_row_and_pads_with_zero_rows) {
    CHECK(cpu::repack_supported(SL4J_TYPE_Q4_0));
    CHECK(!cpu::repack_supported(SL4J_TYPE_Q8_0) && !cpu::repack_supported(SL4J_TYPE_F32));
    CHECK(std::string(cpu::repack_name(SL4J_TYPE_Q4_0)) == "q4_0x16");
    for (int64_t m : kRepackMs)
        for (int64_t k : kRepackKs) {
            const auto w = bench::random_weight_bytes(SL4J_TYPE_Q4_0, m, k, 0.5f, 100 + m + k, true);
            const auto p = repacked(SL4J_TYPE_Q4_0, w, m, k);
            CHECK_EQ((int64_t)p.size(), (m + 15) / 16 * 16 * type_row_bytes(SL4J_TYPE_Q4_0, k));
            const int64_t rb = type_row_bytes(SL4J_TYPE_Q4_0, k);
            std::vector<uint8_t> row((size_t)rb);
            for (int64_t r = 0; r < (m + 15) / 16 * 16; ++r) {
                cpu::repack_unpack_row(SL4J_TYPE_Q4_0, p.data(), k, r, row.data());
                if (r < m)
                    CHECK(std::memcmp(row.data(), w.data() + r * rb, (size_t)rb) == 0);
                else
                    for (uint8_t v : row) CHECK_EQ((int)v, 0);
            }
        }
    EXPECT_THROWS(cpu::repack_group_bytes(SL4J_TYPE_Q8_0, 64));
    // the source rows are reported consumed in order, each once, all of them, in stretches of a
    // few MiB (a model releases their pages as it goes): 40000 rows of 768 are ~17 MiB
    const int64_t m = 40000, k = 768;
    const auto w = bench::random_weight_bytes(SL4J_TYPE_Q4_0, m, k, 0.5f, 7, true);
    std::vector<uint8_t> p((size_t)cpu::repack_bytes(SL4J_TYPE_Q4_0, m, k));
    int64_t next = 0, calls = 0;
    cpu::repack(SL4J_TYPE_Q4_0, w.data(), m, k, p.data(), [&](int64_t r0, int64_t r1) {
        CHECK_EQ(r0, next);
        CHECK(r1 > r0);
        next = r1, ++calls;
    });
    CHECK_EQ(next, m);
    CHECK(calls >= 4);
    std::vector<uint8_t> row((size_t)type_row_bytes(SL4J_TYPE_Q4_0, k));
    cpu::repack_unpack_row(SL4J_TYPE_Q4_0, p.data(), k, m - 1, row.data());
    CHECK(std::memcmp(row.data(), w.data() + (m - 1) * (int64_t)row.size(), row.size()) == 0);
}

// Decode on repacked weights gives, bit for bit, what the level's `dot` gives on the stored rows,
// for every level, 1..kQdotMaxX activation rows, ragged row counts and ranges of groups.
TEST(repacked_gemv_equals_dot_bit_for_bit) {
    for (const cpu::QKernelTable* t : tables()) {
        CHECK(t->packed != nullptr && t->packed->supports(SL4J_TYPE_Q4_0));
        CHECK(!t->packed->supports(SL4J_TYPE_Q4_K));
        for (int64_t m : kRepackMs)
            for (int64_t k : kRepackKs) {
                const cpu::QAct a = cpu::QAct::kQ8_32;
                const int64_t xrb = cpu::qact_row_bytes(a, k), rb = type_row_bytes(SL4J_TYPE_Q4_0, k);
                const auto xq = quantize_rows(a, random_x(cpu::kQdotMaxX * k, 7 + k), cpu::kQdotMaxX, k);
                const auto w = bench::random_weight_bytes(SL4J_TYPE_Q4_0, m, k, 0.5f, 200 + m + k, true);
                const auto p = repacked(SL4J_TYPE_Q4_0, w, m, k);
                const int64_t groups = (m + 15) / 16;
                for (int nx = 1; nx <= cpu::kQdotMaxX; ++nx) {
                    std::vector<float> got((size_t)(nx * m), -777.0f);
                    // the groups in two calls, as two tasks would run them
                    t->packed->gemv(SL4J_TYPE_Q4_0, p.data(), m, k, 0, groups / 2, xq.data(), xrb, nx, got.data(), m);
                    t->packed->gemv(SL4J_TYPE_Q4_0, p.data(), m, k, groups / 2, groups, xq.data(), xrb, nx, got.data(), m);
                    int bad = 0;
                    for (int64_t r = 0; r < m; ++r)
                        for (int i = 0; i < nx; ++i) {
                            float want;
                            t->dot(SL4J_TYPE_Q4_0, w.data() + r * rb, xq.data() + i * xrb, 0, 1, k, &want, 1);
                            const float g = got[(size_t)(i * m + r)];
                            if (std::memcmp(&g, &want, 4) != 0 && bad++ == 0)
                                sl4j_test::record_failure(__FILE__, __LINE__,
                                                          format("repacked gemv [%s] m=%lld k=%lld nx=%d row %lld x %d: %.9g vs dot %.9g",
                                                                 t->name, (long long)m, (long long)k, nx, (long long)r, i, g, want));
                        }
                }
            }
    }
}

// Prefill on repacked weights gives, bit for bit, what the level's prefill gives on the stored
// rows (its tiled GEMM; the scalar level's `dot`), with n off the register tiles (4, 8).
TEST(repacked_gemm_equals_the_level_prefill_bit_for_bit) {
    for (const cpu::QKernelTable* t : tables()) {
        for (int64_t m : kRepackMs)
            for (int64_t k : {(int64_t)32, (int64_t)768, (int64_t)1056})
                for (int64_t n : {9, 13, 40}) {
                    const cpu::QAct a = cpu::QAct::kQ8_32;
                    const int64_t xrb = cpu::qact_row_bytes(a, k), rb = type_row_bytes(SL4J_TYPE_Q4_0, k);
                    const auto xq = quantize_rows(a, random_x(n * k, 9 + n), n, k);
                    const auto w = bench::random_weight_bytes(SL4J_TYPE_Q4_0, m, k, 0.5f, 300 + m + k, true);
                    const auto p = repacked(SL4J_TYPE_Q4_0, w, m, k);
                    const int64_t groups = (m + 15) / 16;
                    std::vector<float> got((size_t)(n * m), -777.0f);
                    t->packed->gemm(SL4J_TYPE_Q4_0, p.data(), m, k, 0, groups - groups / 2, xq.data(), xrb, n, got.data(), m);
                    t->packed->gemm(SL4J_TYPE_Q4_0, p.data(), m, k, groups - groups / 2, groups, xq.data(), xrb, n, got.data(), m);
                    std::vector<float> want((size_t)(n * m));
                    if (t->gemm != nullptr)
                        want = run_qgemm(*t->gemm, SL4J_TYPE_Q4_0, w.data(), xq.data(), n, k, m);
                    else
                        for (int64_t r = 0; r < m; ++r)
                            for (int64_t i = 0; i < n; ++i)
                                t->dot(SL4J_TYPE_Q4_0, w.data() + r * rb, xq.data() + i * xrb, 0, 1, k, &want[(size_t)(i * m + r)], 1);
                    int bad = 0;
                    for (size_t o = 0; o < got.size(); ++o)
                        if (std::memcmp(&got[o], &want[o], 4) != 0 && bad++ == 0)
                            sl4j_test::record_failure(__FILE__, __LINE__,
                                                      format("repacked gemm [%s] m=%lld k=%lld n=%lld out %zu: %.9g vs %.9g", t->name,
                                                             (long long)m, (long long)k, (long long)n, o, got[o], want[o]));
                }
    }
}

// Through matmul_parts, a part with repacked weights gives the same bits as without, in decode
// (n = 1, 5) and prefill (n = 40), beside a part of another type, and the record names the kernel.
TEST(matmul_parts_fast_repacked_equal_the_stored_rows) {
    const int64_t k = 768, m = 37, m2 = 24;
    const auto w = bench::random_weight_bytes(SL4J_TYPE_Q4_0, m, k, 0.5f, 401, true);
    const auto w2 = bench::random_weight_bytes(SL4J_TYPE_Q8_0, m2, k, 0.5f, 402, true);
    const auto p = repacked(SL4J_TYPE_Q4_0, w, m, k);
    for (int64_t n : {1, 5, 40}) {
        const auto x = random_x(n * k, 403);
        std::vector<float> got((size_t)(n * m), -1.0f), want((size_t)(n * m), -2.0f), got2((size_t)(n * m2)),
            want2((size_t)(n * m2));
        cpu::MatmulPart pp[2] = {{got.data(), w.data(), SL4J_TYPE_Q4_0, m, p.data()}, {got2.data(), w2.data(), SL4J_TYPE_Q8_0, m2}};
        cpu::MatmulPart pr[2] = {{want.data(), w.data(), SL4J_TYPE_Q4_0, m}, {want2.data(), w2.data(), SL4J_TYPE_Q8_0, m2}};
        cpu::kernels_ran_take();
        cpu::matmul_parts(pp, 2, x.data(), n, k, cpu::Precision::kFast);
        const std::string ran = cpu::kernels_ran_take();
        cpu::matmul_parts(pr, 2, x.data(), n, k, cpu::Precision::kFast);
        CHECK(std::memcmp(got.data(), want.data(), got.size() * 4) == 0);
        CHECK(got2 == want2);
        const std::string q = cpu::qkernels().name;
        CHECK(ran.find((n <= 8 ? "qgemv_repacked:q4_0/" : "qgemm_repacked:q4_0/") + q) != std::string::npos);
        // the exact precision ignores the repacked copy
        std::vector<float> e1((size_t)(n * m)), e2((size_t)(n * m));
        cpu::MatmulPart pe[1] = {{e1.data(), w.data(), SL4J_TYPE_Q4_0, m, p.data()}};
        cpu::matmul_parts(pe, 1, x.data(), n, k, cpu::Precision::kExact);
        cpu::matmul(e2.data(), w.data(), SL4J_TYPE_Q4_0, x.data(), n, k, m, cpu::Precision::kExact);
        CHECK(std::memcmp(e1.data(), e2.data(), e1.size() * 4) == 0);
    }
}
