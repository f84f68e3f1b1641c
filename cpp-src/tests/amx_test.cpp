// AMX (cpu/amx.h): the tile emulation against the instructions' documented semantics, the AMX
// kernels on the emulation against the scalar reference, the other levels' tiled GEMM and float64,
// and the run-time decision on mocked CPUID / OS / permission / self-test results. On a CPU with
// AMX the hardware kernels also run here (through amx_status's self-test and matmul).
#include <array>
#include <cerrno>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <stdexcept>
#include <unistd.h>

#include "../bench/random_weights.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/types.h"
#include "cpu/amx.h"
#include "cpu/isolated.h"
#include "cpu/matmul.h"
#include "cpu/qdot.h"
#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/quant.h"
#include "stackllama4j.h"
#include "testing.h"

using namespace sl4j;
using cpu::TileConfig;
using cpu::TileEmu;

#define CHECK_STR(a, b)                                                                                      \
    do {                                                                                                     \
        const std::string _a = (a), _b = (b);                                                                \
        if (_a != _b) sl4j_test::record_failure(__FILE__, __LINE__, "\"" + _a + "\" vs \"" + _b + "\""); \
    } while (0)

namespace {

TileConfig config(std::initializer_list<std::array<int, 3>> tiles) {  // {tile, rows, colsb}
    TileConfig c{};
    c.palette = 1;
    for (const auto& t : tiles) c.rows[t[0]] = (uint8_t)t[1], c.colsb[t[0]] = (uint16_t)t[2];
    return c;
}

bool throws(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.status() == SL4J_ERR_INTERNAL && std::string(e.what()).find("AMX emulation") != std::string::npos;
    }
    return false;
}

int32_t dword(const TileEmu& t, int tile, int r, int n) {
    uint8_t b[4];
    for (int e = 0; e < 4; ++e) b[e] = t.byte(tile, r, 4 * n + e);
    int32_t v;
    std::memcpy(&v, b, 4);
    return v;
}

float fp32(const TileEmu& t, int tile, int r, int n) {
    const int32_t v = dword(t, tile, r, n);
    float f;
    std::memcpy(&f, &v, 4);
    return f;
}

}  // namespace

// TDPBSSD / TDPBUSD: signedness of each operand, 4 products per dword, k ascending, C's 32-bit
// wraparound; TILELOADD zeroes past colsb and past rows; the #GP / #UD cases fault.
TEST(amx_emu_int8_instruction_semantics) {
    TileEmu t;
    t.config(config({{0, 2, 8}, {4, 2, 8}, {6, 2, 8}}));  // C 2 x 2 dwords, A 2 x 8 bytes (K = 2 dwords), B 2 x 2 dwords
    uint8_t a[2][8] = {{0x80, 0x80, 0x80, 0x80, 1, 2, 3, 4}, {0xFF, 0, 0, 0, 0, 0, 0, 0}};
    uint8_t b[2][8] = {{0x80, 0x80, 0x80, 0x80, 1, 1, 1, 1}, {1, 0, 0, 0, 2, 2, 2, 2}};
    t.load(4, a, 8);
    t.load(6, b, 8);
    t.zero(0);
    t.dpbssd(0, 4, 6);
    CHECK_EQ(dword(t, 0, 0, 0), 65536 + 1);        // (-128)(-128) x 4 + 1 x 1
    CHECK_EQ(dword(t, 0, 0, 1), -512 + 20);        // (-128)(1) x 4 + (1+2+3+4) x 2
    CHECK_EQ(dword(t, 0, 1, 0), 128);              // (-1)(-128)
    t.zero(0);
    t.dpbusd(0, 4, 6);                             // A unsigned: 0x80 is 128, 0xFF 255
    CHECK_EQ(dword(t, 0, 0, 0), -65536 + 1);
    CHECK_EQ(dword(t, 0, 0, 1), 512 + 20);
    CHECK_EQ(dword(t, 0, 1, 0), 255 * -128);
    // wraparound: INT32_MAX + 1
    int32_t c[2][2] = {{INT32_MAX, 0}, {0, 0}};
    uint8_t one[2][8] = {{1, 0, 0, 0, 0, 0, 0, 0}, {0}};
    t.load(0, c, 8);
    t.load(4, one, 8);
    t.load(6, one, 8);
    t.dpbssd(0, 4, 6);
    CHECK_EQ(dword(t, 0, 0, 0), INT32_MIN);
    // a load fills rows x colsb and zeroes the rest
    std::vector<uint8_t> ff(16 * 64, 0xFF);
    t.load(4, ff.data(), 64);
    CHECK(t.byte(4, 0, 7) == 0xFF && t.byte(4, 1, 7) == 0xFF);
    CHECK(t.byte(4, 0, 8) == 0 && t.byte(4, 2, 0) == 0);
    // faults
    CHECK(throws([&] { t.dpbssd(0, 0, 6); }));                      // not distinct
    CHECK(throws([&] { t.load(3, ff.data(), 64); }));               // unconfigured tile
    TileEmu u;
    CHECK(throws([&] { u.zero(0); }));                              // no configuration
    u.config(config({{0, 2, 8}, {4, 2, 8}, {6, 3, 8}}));            // colsb(A) != 4 rows(B)
    CHECK(throws([&] { u.dpbssd(0, 4, 6); }));
    u.config(config({{0, 3, 8}, {4, 2, 8}, {6, 2, 8}}));            // rows(C) != rows(A)
    CHECK(throws([&] { u.dpbssd(0, 4, 6); }));
    u.config(config({{0, 2, 12}, {4, 2, 8}, {6, 2, 8}}));           // colsb(C) != colsb(B)
    CHECK(throws([&] { u.dpbssd(0, 4, 6); }));
    CHECK(throws([&] { u.config(config({{0, 17, 64}})); }));        // more than 16 rows
    CHECK(throws([&] { u.config(config({{0, 16, 65}})); }));        // more than 64 bytes
    CHECK(throws([&] { u.config(config({{0, 4, 0}})); }));          // rows without colsb
    CHECK(throws([&] { u.config(config({{9, 1, 4}})); }));          // tile 9: palette 1 has 8
    TileConfig p2 = config({{0, 1, 4}});
    p2.palette = 2;
    CHECK(throws([&] { u.config(p2); }));
}

// TDPBF16PS as the SDM's pseudo-code: even and odd products apart, their sum added to C once per
// instruction; DAZ on inputs, FTZ on results.
TEST(amx_emu_bf16_instruction_semantics) {
    TileEmu t;
    t.config(config({{0, 1, 4}, {4, 1, 4}, {6, 1, 4}}));  // one pair: C 1 x 1, A 1 x 1 pair, B 1 x 1 pair
    auto run = [&](float c0, uint16_t a0, uint16_t a1, uint16_t b0, uint16_t b1) {
        uint16_t a[2] = {a0, a1}, b[2] = {b0, b1};
        t.load(0, &c0, 4);
        t.load(4, a, 4);
        t.load(6, b, 4);
        t.dpbf16ps(0, 4, 6);
        return fp32(t, 0, 0, 0);
    };
    auto bf = [](float v) { return f32_to_bf16_bits(v); };
    CHECK(run(0.0f, bf(2), bf(3), bf(5), bf(7)) == 31.0f);  // 2x5 + 3x7
    // 1 + (2^-24 + 2^-24): the pair is summed before C; adding each to C in turn would give 1
    CHECK(run(1.0f, bf(0x1p-12f), bf(0x1p-12f), bf(0x1p-12f), bf(0x1p-12f)) == 1.0f + 0x1p-23f);
    // DAZ: the denormal bf16 0x0001 (2^-133) times 2^100 counts as zero, not 2^-33
    CHECK(run(0.0f, 0x0001, 0, bf(0x1p100f), 0) == 0.0f);
    // FTZ: 2^-70 x 2^-70 = 2^-140 is an FP32 denormal: flushed
    const float z = run(0.0f, bf(0x1p-70f), 0, bf(0x1p-70f), 0);
    CHECK(z == 0.0f && !std::signbit(z));
    // a denormal C reads as zero
    CHECK(run(0x1p-140f, 0, 0, 0, 0) == 0.0f);
    // the shape checks hold for bf16 too
    t.config(config({{0, 1, 4}, {4, 1, 8}, {6, 1, 4}}));
    CHECK(throws([&] { t.dpbf16ps(0, 4, 6); }));
}

namespace {

std::vector<float> random_floats(int64_t n, uint64_t seed, float outlier) {
    std::vector<float> x((size_t)n);
    for (int64_t i = 0; i < n; ++i)
        x[(size_t)i] = bench::random_uniform(seed, (uint64_t)i, 1.0f) * (i % 41 == 7 ? outlier : 1.0f);
    return x;
}

std::vector<char> quantize_rows(const std::vector<float>& x, int64_t n, int64_t k) {
    const int64_t xrb = cpu::qact_row_bytes(cpu::QAct::kQ8_32, k);
    std::vector<char> xq((size_t)(n * xrb));
    for (int64_t i = 0; i < n; ++i) cpu::quantize_act_row(cpu::QAct::kQ8_32, x.data() + i * k, xq.data() + i * xrb, k);
    return xq;
}

std::vector<float> run_qgemm(const cpu::QGemm& g, int32_t type, const uint8_t* w, const char* xq, int64_t n, int64_t k,
                             int64_t m) {
    std::vector<char> panel((size_t)g.panel_bytes(cpu::QAct::kQ8_32, n, k));
    g.pack(cpu::QAct::kQ8_32, xq, cpu::qact_row_bytes(cpu::QAct::kQ8_32, k), n, k, panel.data(), 0,
           (n + g.lanes - 1) / g.lanes);
    std::vector<float> out((size_t)(n * m), -777.0f);
    g.gemm(type, w, type_row_bytes(type, k), m, panel.data(), n, k, out.data(), m);
    return out;
}

struct Shape {
    int64_t n, k, m;
};
// Tails on both sides: n and m off 16 and off 32 (the 2 x 2 tile pairs), one group and several.
const Shape kShapes[] = {{1, 32, 1}, {17, 96, 21}, {16, 64, 16}, {33, 256, 37}, {50, 160, 64}, {9, 32, 47}};

std::vector<const cpu::QKernelTable*> tables() {
    std::vector<const cpu::QKernelTable*> t;
    for (const cpu::QKernelTable* q : {&cpu::qkernels_avx2(), &cpu::qkernels_avxvnni(), &cpu::qkernels_avx512vnni()})
        if (cpu::qkernels_supported(*q) && q->gemm != nullptr) t.push_back(q);
    return t;
}

}  // namespace

// The int8 kernel on the emulation: with integer data (weight scales 1, activation scale 1) its
// outputs are the scalar reference's integers, bit for bit; with real data they are bit-identical
// to every tiled integer GEMM this CPU runs (same block sums, same fma(sum, dx * dw, acc) order)
// and within float rounding of the float64 sum of the dequantised terms.
TEST(amx_int8_gemm_emulated_equals_scalar_tiled_and_float64) {
    const cpu::QGemm& amx = cpu::amx_qgemm_emulated();
    CHECK(amx.supports(SL4J_TYPE_Q8_0) && amx.supports(SL4J_TYPE_Q4_0) && !amx.supports(SL4J_TYPE_Q4_K));
    int compared_tiled = 0;
    for (int32_t type : {SL4J_TYPE_Q8_0, SL4J_TYPE_Q4_0}) {
        for (const Shape& s : kShapes) {
            const int64_t xrb = cpu::qact_row_bytes(cpu::QAct::kQ8_32, s.k), wrb = type_row_bytes(type, s.k);
            // integer data: every block's scale 1
            std::vector<float> xi((size_t)(s.n * s.k));
            for (int64_t i = 0; i < s.n * s.k; ++i)
                xi[(size_t)i] = i % 32 == 3 ? (i % 2 ? 127.0f : -127.0f) : (float)((int)(mix64(5 + (uint64_t)i) % 255) - 127);
            auto wi = bench::random_weight_bytes(type, s.m, s.k, 0.5f, 11 + type, true);
            const uint16_t one = f32_to_fp16(1.0f);
            for (int64_t b = 0; b < s.m * s.k / 32; ++b) std::memcpy(wi.data() + b * type_traits(type)->type_size, &one, 2);
            const auto xqi = quantize_rows(xi, s.n, s.k);
            const auto gi = run_qgemm(amx, type, wi.data(), xqi.data(), s.n, s.k, s.m);
            int bad = 0;
            for (int64_t i = 0; i < s.n; ++i)
                for (int64_t r = 0; r < s.m; ++r) {
                    float ref;
                    cpu::qkernels_scalar().dot(type, wi.data() + r * wrb, xqi.data() + i * xrb, xrb, 1, s.k, &ref, 1);
                    if (gi[(size_t)(i * s.m + r)] != ref && bad++ == 0)
                        sl4j_test::record_failure(__FILE__, __LINE__,
                                                  format("amx %s n=%lld k=%lld m=%lld (%lld, %lld): %.9g vs scalar %.9g",
                                                         type_traits(type)->name, (long long)s.n, (long long)s.k,
                                                         (long long)s.m, (long long)i, (long long)r,
                                                         gi[(size_t)(i * s.m + r)], ref));
                }
            // real data
            const auto x = random_floats(s.n * s.k, 21, 25.0f);
            const auto w = bench::random_weight_bytes(type, s.m, s.k, 0.5f, 31 + type, true);
            const auto xq = quantize_rows(x, s.n, s.k);
            const auto got = run_qgemm(amx, type, w.data(), xq.data(), s.n, s.k, s.m);
            for (const cpu::QKernelTable* t : tables()) {
                if (!t->gemm->supports(type)) continue;
                const auto want = run_qgemm(*t->gemm, type, w.data(), xq.data(), s.n, s.k, s.m);
                ++compared_tiled;
                if (std::memcmp(got.data(), want.data(), got.size() * 4) != 0)
                    sl4j_test::record_failure(__FILE__, __LINE__,
                                              format("amx %s n=%lld k=%lld m=%lld: not bit-identical to qgemm %s",
                                                     type_traits(type)->name, (long long)s.n, (long long)s.k,
                                                     (long long)s.m, t->name));
            }
            std::vector<float> wf((size_t)(s.m * s.k));
            dequantize_row(type, w.data(), wf.data(), s.m * s.k);
            bad = 0;
            for (int64_t i = 0; i < s.n; ++i) {
                const auto* xb = reinterpret_cast<const block_q8_a32*>(xq.data() + i * xrb);
                for (int64_t r = 0; r < s.m; ++r) {
                    double ref = 0, mag = 0;
                    for (int64_t j = 0; j < s.k; ++j) {
                        const double term = (double)wf[(size_t)(r * s.k + j)] * xb[j / 32].d * xb[j / 32].qs[j % 32];
                        ref += term, mag += std::fabs(term);
                    }
                    if (!(std::fabs(got[(size_t)(i * s.m + r)] - ref) <= 1e-5 * mag) && bad++ == 0)
                        sl4j_test::record_failure(__FILE__, __LINE__,
                                                  format("amx %s n=%lld k=%lld m=%lld (%lld, %lld): %.9g vs float64 %.9g",
                                                         type_traits(type)->name, (long long)s.n, (long long)s.k,
                                                         (long long)s.m, (long long)i, (long long)r,
                                                         got[(size_t)(i * s.m + r)], ref));
                }
            }
        }
    }
    if (compared_tiled == 0) std::printf("  (no tiled integer GEMM on this CPU: bit-identity not compared)\n");
}

// The bf16 kernel on the emulation against the float64 sum of bf16(x) * w: integer-valued
// operands give exact sums (equal), real ones agree within (k + 4) * 2^-24 of the sum of |terms|
// (chains of k / 2 roundings, two more per chunk). k off the 32-element chunk and odd (a pair
// half padding), n and m off 16 and 32.
TEST(amx_bf16_gemm_emulated_against_float64) {
    const cpu::AmxBf16Gemm& g = cpu::amx_bf16_emulated();
    const Shape shapes[] = {{1, 1, 1}, {17, 31, 15}, {40, 33, 33}, {16, 77, 64}, {35, 128, 37}, {9, 200, 5}};
    for (int integer = 1; integer >= 0; --integer)
        for (const Shape& s : shapes) {
            std::vector<float> x = random_floats(s.n * s.k, 41, 30.0f), wf = random_floats(s.m * s.k, 43, 1.0f);
            if (integer) {
                for (float& v : x) v = std::round(v * 8.0f);
                for (float& v : wf) v = std::round(v * 8.0f);
            }
            std::vector<uint16_t> w((size_t)(s.m * s.k));
            for (size_t i = 0; i < w.size(); ++i) w[i] = f32_to_bf16_bits(wf[i]);
            std::vector<char> panel((size_t)g.panel_bytes(s.n, s.k));
            g.pack(x.data(), s.n, s.k, panel.data(), 0, (s.n + 15) / 16);
            std::vector<float> out((size_t)(s.n * s.m), -777.0f);
            g.gemm(w.data(), s.k * 2, s.m, panel.data(), s.n, s.k, out.data(), s.m);
            int bad = 0;
            double worst = 0;
            for (int64_t i = 0; i < s.n; ++i)
                for (int64_t r = 0; r < s.m; ++r) {
                    double ref = 0, mag = 0;
                    for (int64_t j = 0; j < s.k; ++j) {
                        const double term = (double)bf16_bits_to_f32(f32_to_bf16_bits(x[(size_t)(i * s.k + j)])) *
                                            bf16_bits_to_f32(w[(size_t)(r * s.k + j)]);
                        ref += term, mag += std::fabs(term);
                    }
                    const double err = std::fabs(out[(size_t)(i * s.m + r)] - ref);
                    const double tol = integer ? 0.0 : (s.k + 4) * 0x1p-24 * mag;
                    if (mag > 0) worst = std::fmax(worst, err / mag);
                    if (!(err <= tol) && bad++ == 0)
                        sl4j_test::record_failure(__FILE__, __LINE__,
                                                  format("amx bf16%s n=%lld k=%lld m=%lld (%lld, %lld): %.9g vs float64 %.9g",
                                                         integer ? " (integer)" : "", (long long)s.n, (long long)s.k,
                                                         (long long)s.m, (long long)i, (long long)r,
                                                         out[(size_t)(i * s.m + r)], ref));
                }
            // the activations were rounded to bf16 first: against the unrounded x the error is far larger
            if (!integer && s.k >= 31) CHECK(worst < 1e-6);
        }
}

namespace {
int g_perm_calls = 0, g_test_calls_int8 = 0, g_test_calls_bf16 = 0;
int g_perm_result = 0;
std::string g_int8_fails, g_bf16_fails;
int fake_perm() { return ++g_perm_calls, g_perm_result; }
std::string fake_self_test(bool int8) {
    ++(int8 ? g_test_calls_int8 : g_test_calls_bf16);
    return int8 ? g_int8_fails : g_bf16_fails;
}
cpu::AmxStatus decide(const cpu::AmxProbe& p, const char* env = nullptr, int perm = 0, std::string int8_fails = "",
                      std::string bf16_fails = "") {
    g_perm_calls = g_test_calls_int8 = g_test_calls_bf16 = 0;
    g_perm_result = perm, g_int8_fails = int8_fails, g_bf16_fails = bf16_fails;
    return cpu::amx_decide(p, env, cpu::AmxHooks{fake_perm, fake_self_test});
}
}  // namespace

// The decision on mocked machines: each missing piece names itself, the permission request runs
// only when CPUID, the build and XCR0 allow AMX, the self-test only once permission is granted,
// and a failed self-test turns its kind off.
TEST(amx_dispatch_decides_from_cpuid_os_permission_and_self_test) {
    const cpu::AmxProbe all{true, true, true, true, true, true};
    cpu::AmxStatus s = decide(all);
    CHECK(s.int8 && s.bf16);
    CHECK_STR(s.reason, std::string("amx: int8, bf16 (self-test passed)"));
    CHECK(g_perm_calls == 1 && g_test_calls_int8 == 1 && g_test_calls_bf16 == 1);

    s = decide(all, "0");
    CHECK(!s.int8 && !s.bf16 && s.reason == "amx: off (SL4J_AMX=0)" && g_perm_calls == 0);
    s = decide(all, "1");
    CHECK(s.int8 && s.bf16);

    struct Missing {
        cpu::AmxProbe p;
        const char* reason;
    };
    const Missing missing[] = {
        {{false, true, true, true, true, true}, "amx: unavailable (this build has no AMX kernels"},
        {{true, false, true, true, true, true}, "amx: unavailable (no AMX-TILE)"},
        {{true, true, false, false, true, true}, "amx: unavailable (no AMX-INT8, no AMX-BF16)"},
        {{true, true, true, true, false, true}, "amx: unavailable (no AVX-512"},
        {{true, true, true, true, true, false}, "amx: unavailable (the OS does not enable the tile state"},
    };
    for (const Missing& m : missing) {
        s = decide(m.p);
        CHECK(!s.int8 && !s.bf16);
        CHECK(s.reason.rfind(m.reason, 0) == 0);
        CHECK(g_perm_calls == 0 && g_test_calls_int8 == 0 && g_test_calls_bf16 == 0);
    }

    s = decide(all, nullptr, EINVAL);  // a kernel before 5.16, or one that refuses
    CHECK(!s.int8 && !s.bf16);
    CHECK_STR(s.reason, format("amx: refused by kernel (errno %d: %s)", EINVAL, std::strerror(EINVAL)));
    CHECK(g_perm_calls == 1 && g_test_calls_int8 == 0 && g_test_calls_bf16 == 0);

    s = decide({true, true, true, false, true, true});  // int8 only
    CHECK(s.int8 && !s.bf16);
    CHECK_STR(s.reason, std::string("amx: int8 (no AMX-BF16; self-test passed)"));
    CHECK(g_test_calls_int8 == 1 && g_test_calls_bf16 == 0);

    s = decide(all, nullptr, 0, "q8_0: output 3 differs");
    CHECK(!s.int8 && s.bf16);
    CHECK_STR(s.reason, std::string("amx: bf16 (int8 self-test failed: q8_0: output 3 differs; self-test passed)"));

    s = decide(all, nullptr, 0, "a", "b");
    CHECK(!s.int8 && !s.bf16);
    CHECK_STR(s.reason, std::string("amx: off (int8 self-test failed: a; bf16 self-test failed: b)"));
}

// This machine: the decision agrees with its CPUID, real work never runs on the emulation, and a
// fast prefill names AMX among the kernels exactly when the decision allows it.
TEST(amx_this_machine_dispatch) {
    const cpu::AmxProbe p = cpu::amx_probe();
    const cpu::AmxStatus& s = cpu::amx_status();
    std::printf("  CPUID: AMX-TILE %d, AMX-INT8 %d, AMX-BF16 %d, AVX-512 %d, XCR0 tiles %d, built %d | %s\n", p.tile,
                p.int8, p.bf16, p.avx512, p.os_tile, p.compiled, s.reason.c_str());
    CHECK(s.reason.rfind("amx: ", 0) == 0);
    if (!p.tile || !p.compiled) CHECK(!s.int8 && !s.bf16 && s.reason.find("unavailable") != std::string::npos);
    CHECK(s.int8 == (cpu::amx_qgemm() != nullptr));
    CHECK(s.bf16 == (cpu::amx_bf16() != nullptr));
    CHECK(cpu::amx_qgemm() != &cpu::amx_qgemm_emulated());
    CHECK(cpu::amx_bf16() != &cpu::amx_bf16_emulated());
    if (s.int8) CHECK(cpu::amx_default_hooks().self_test(true).empty());
    if (s.bf16) CHECK(cpu::amx_default_hooks().self_test(false).empty());

    const int64_t n = 40, k = 128, m = 24;
    const auto x = random_floats(n * k, 51, 1.0f);
    for (int32_t type : {SL4J_TYPE_Q8_0, SL4J_TYPE_Q4_0, SL4J_TYPE_BF16}) {
        const auto w = bench::random_weight_bytes(type, m, k, 0.5f, 61 + type, true);
        std::vector<float> out((size_t)(n * m));
        cpu::kernels_ran_take();
        cpu::matmul(out.data(), w.data(), type, x.data(), n, k, m, cpu::Precision::kFast);
        const std::string fast = cpu::kernels_ran_take();
        cpu::matmul(out.data(), w.data(), type, x.data(), n, k, m, cpu::Precision::kExact);
        const std::string exact = cpu::kernels_ran_take();
        const bool want = type == SL4J_TYPE_BF16 ? s.bf16 : s.int8;
        CHECK((fast.find("/amx") != std::string::npos) == want);
        CHECK(exact.find("/amx") == std::string::npos);  // exact never drops to bf16 or int8 tiles
    }
}

// The fast prefill's AMX dispatch (cpu/matmul.cpp) routed to the emulated kernels, as it runs on a
// CPU with AMX: Q4_0 / Q8_0 parts on the int8 tiles (their panel shared, bit-identical to the
// level's tiled GEMM), K-quant and F32 parts where they ran before, BF16 on the bf16 tiles (within
// float rounding of bf16(x) * w in float64, unlike exact); exact and decode never on tiles.
TEST(amx_fast_prefill_dispatch_on_the_emulation) {
    const int64_t k = 256, n = 40;
    const int32_t types[] = {SL4J_TYPE_Q8_0, SL4J_TYPE_Q4_K, SL4J_TYPE_Q4_0, SL4J_TYPE_BF16, SL4J_TYPE_F32};
    const int64_t ms[] = {40, 24, 33, 21, 17};
    constexpr int np = 5;
    const auto x = random_floats(n * k, 71, 10.0f);
    std::vector<std::vector<uint8_t>> w;
    for (int p = 0; p < np; ++p) w.push_back(bench::random_weight_bytes(types[p], ms[p], k, 0.5f, 81 + p, true));
    auto run = [&](int64_t rows, cpu::Precision prec, std::string* ran) {
        std::vector<std::vector<float>> out;
        std::vector<cpu::MatmulPart> parts;
        for (int p = 0; p < np; ++p) out.emplace_back((size_t)(rows * ms[p]), -777.0f);
        for (int p = 0; p < np; ++p) parts.push_back({out[p].data(), w[p].data(), types[p], ms[p]});
        cpu::kernels_ran_take();
        cpu::matmul_parts(parts.data(), np, x.data(), rows, k, prec);
        *ran = cpu::kernels_ran_take();
        return out;
    };
    std::string ran_ref, ran_amx, ran_exact, ran_decode;
    const auto ref = run(n, cpu::Precision::kFast, &ran_ref);
    const auto exact = run(n, cpu::Precision::kExact, &ran_exact);
    cpu::amx_route_for_tests(&cpu::amx_qgemm_emulated(), &cpu::amx_bf16_emulated());
    const auto got = run(n, cpu::Precision::kFast, &ran_amx);
    const auto exact_routed = run(n, cpu::Precision::kExact, &ran_exact);
    run(5, cpu::Precision::kFast, &ran_decode);
    std::vector<float> bf_single((size_t)(n * ms[3]));
    cpu::matmul(bf_single.data(), w[3].data(), SL4J_TYPE_BF16, x.data(), n, k, ms[3], cpu::Precision::kFast);
    cpu::amx_route_for_tests(nullptr, nullptr);
    CHECK(cpu::amx_qgemm() != &cpu::amx_qgemm_emulated());

    std::printf("  kernels: %s\n", ran_amx.c_str());
    for (const char* name : {"qgemm:q8_0/amx", "qgemm:q4_0/amx", "gemm:bf16/amx"})
        CHECK(ran_amx.find(name) != std::string::npos);
    CHECK(ran_amx.find("q4_K/amx") == std::string::npos && ran_amx.find("f32/amx") == std::string::npos);
    CHECK(ran_exact.find("/amx") == std::string::npos && ran_decode.find("/amx") == std::string::npos);
    for (int p = 0; p < np; ++p) CHECK(exact_routed[p] == exact[p]);
    CHECK(got[1] == ref[1] && got[4] == ref[4]);  // Q4_K and F32: untouched
    for (int p : {0, 2}) {
        const cpu::QGemm* level = cpu::qkernels().gemm;
        if (level != nullptr && level->supports(types[p])) {
            CHECK(std::memcmp(got[p].data(), ref[p].data(), got[p].size() * 4) == 0);
        } else {  // the level runs this type on its per-row kernel: float rounding apart
            for (size_t o = 0; o < got[p].size(); ++o) CHECK_NEAR(got[p][o], ref[p][o], 1e-4 * (1 + std::fabs(ref[p][o])));
        }
    }
    // BF16: the activations were rounded to bf16
    const auto* wb = reinterpret_cast<const uint16_t*>(w[3].data());
    int bad = 0;
    bool differs_from_exact = false;
    for (int64_t i = 0; i < n; ++i)
        for (int64_t r = 0; r < ms[3]; ++r) {
            double want = 0, mag = 0;
            for (int64_t j = 0; j < k; ++j) {
                const double t = (double)bf16_bits_to_f32(f32_to_bf16_bits(x[(size_t)(i * k + j)])) * bf16_bits_to_f32(wb[r * k + j]);
                want += t, mag += std::fabs(t);
            }
            const size_t o = (size_t)(i * ms[3] + r);
            if (!(std::fabs(got[3][o] - want) <= (k + 4) * 0x1p-24 * mag)) ++bad;
            differs_from_exact |= got[3][o] != exact[3][o];
        }
    CHECK_EQ(bad, 0);
    CHECK(differs_from_exact);
    CHECK(bf_single == got[3]);
}

// The AMX self-test's isolation (cpu/isolated.h): a check that faults, throws, hangs or reports a
// difference in its child leaves this process running and comes back as a message.
namespace {
std::string isolated_pass(void*) { return ""; }
std::string isolated_differs(void* arg) { return std::string("differs at ") + static_cast<const char*>(arg); }
std::string isolated_ill(void*) { __builtin_trap(); }
std::string isolated_segv(void* arg) {
    volatile int* p = static_cast<volatile int*>(arg);
    return std::to_string(*p);
}
std::string isolated_throws(void*) { throw std::runtime_error("tile config rejected"); }
std::string isolated_exits(void*) { _exit(3); }
std::string isolated_hangs(void*) {
    for (;;) pause();
}
std::string isolated_writes(void* arg) {
    *static_cast<int*>(arg) = 42;  // the child's copy: the parent's stays as it was
    return "";
}
}  // namespace

TEST(amx_self_test_runs_isolated_and_survives_faults) {
    using sl4j::cpu::run_isolated;
    CHECK(run_isolated(isolated_pass, nullptr, 5000) == std::string());
    char where[] = "output 7";
    CHECK(run_isolated(isolated_differs, where, 5000) == std::string("differs at output 7"));
    const std::string ill = run_isolated(isolated_ill, nullptr, 5000);
    CHECK(ill.find("signal 4") != std::string::npos || ill.find("signal 5") != std::string::npos);
    const std::string segv = run_isolated(isolated_segv, nullptr, 5000);
    CHECK(segv.find("signal 11") != std::string::npos);
    CHECK(run_isolated(isolated_throws, nullptr, 5000) == std::string("threw: tile config rejected"));
    CHECK(run_isolated(isolated_exits, nullptr, 5000).find("exited with status 3 and no result") != std::string::npos);
    CHECK(run_isolated(isolated_hangs, nullptr, 100).find("still running after 100 ms, killed") != std::string::npos);
    int value = 1;
    CHECK(run_isolated(isolated_writes, &value, 5000) == std::string());
    CHECK_EQ(value, 1);
}
