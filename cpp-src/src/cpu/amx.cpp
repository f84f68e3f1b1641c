// AMX run-time decision (cpu/amx.h): CPUID and XCR0, the Linux permission request for the tile
// data state, and the one-time self-test of the hardware kernels against their emulation.
#include "cpu/amx.h"

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/hash.h"
#include "core/types.h"
#include "cpu/isolated.h"
#include "cpu/simd.h"
#include "quant/fp16.h"
#include "quant/quant.h"
#include "stackllama4j.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace sl4j::cpu {

// cpu/amx_hw.cpp: the kernels on the instructions, or nullptr where the build has none.
bool amx_hw_compiled();
const QGemm* amx_qgemm_hw();
const AmxBf16Gemm* amx_bf16_hw();

namespace {

#if defined(__x86_64__)
uint64_t xgetbv0() {
    uint32_t lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#endif

int request_permission_linux() {
#if defined(__linux__) && defined(__x86_64__)
    // asm/prctl.h of older kernels lacks these (Linux 5.16 added them).
    constexpr long kArchGetXcompPerm = 0x1022, kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    errno = 0;
    if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) return errno != 0 ? errno : EPERM;
    unsigned long mask = 0;
    if (syscall(SYS_arch_prctl, kArchGetXcompPerm, &mask) != 0) return errno != 0 ? errno : EPERM;
    return (mask >> kXfeatureXtiledata) & 1 ? 0 : EPERM;
#else
    return ENOSYS;
#endif
}

float random_value(uint64_t seed, uint64_t i) {
    return (float)((double)(mix64(seed * 0x9E3779B97F4A7C15ull + i) >> 11) * 0x1.0p-53 * 2.0 - 1.0);
}

// Both tables on the same problem: n activation rows and m weight rows with tails on each side
// (16-row groups: 2 + 1 of them), several blocks / chunks of k.
constexpr int64_t kTestN = 35, kTestM = 37;

std::string compare(const char* what, const std::vector<float>& hw, const std::vector<float>& emu,
                    const std::vector<double>& tol) {
    for (size_t o = 0; o < hw.size(); ++o) {
        const bool same = tol.empty() ? std::memcmp(&hw[o], &emu[o], 4) == 0 : std::fabs(hw[o] - emu[o]) <= tol[o];
        if (!same)
            return format("%s: output %lld (row %lld, weight row %lld) %.9g against the emulation's %.9g", what,
                          (long long)o, (long long)(o / kTestM), (long long)(o % kTestM), hw[o], emu[o]);
    }
    return "";
}

std::string self_test_int8(const QGemm& hw, const QGemm& emu) {
    const int64_t k = 96;
    for (int32_t type : {SL4J_TYPE_Q8_0, SL4J_TYPE_Q4_0}) {
        std::vector<float> x((size_t)(kTestN * k)), wf((size_t)(kTestM * k));
        for (size_t i = 0; i < x.size(); ++i) x[i] = random_value(1, i) * (i % 37 == 0 ? 30.0f : 1.0f);
        for (size_t i = 0; i < wf.size(); ++i) wf[i] = random_value(2, i);
        const int64_t rb = type_row_bytes(type, k), xrb = qact_row_bytes(QAct::kQ8_32, k);
        std::vector<char> w((size_t)(kTestM * rb)), xq((size_t)(kTestN * xrb));
        quantize_row(type, wf.data(), w.data(), kTestM * k);
        for (int64_t i = 0; i < kTestN; ++i) quantize_act_row(QAct::kQ8_32, x.data() + i * k, xq.data() + i * xrb, k);
        std::vector<float> out[2];
        int which = 0;
        for (const QGemm* g : {&hw, &emu}) {
            std::vector<char> panel((size_t)g->panel_bytes(QAct::kQ8_32, kTestN, k));
            g->pack(QAct::kQ8_32, xq.data(), xrb, kTestN, k, panel.data(), 0, (kTestN + g->lanes - 1) / g->lanes);
            out[which].assign((size_t)(kTestN * kTestM), NAN);
            g->gemm(type, w.data(), rb, kTestM, panel.data(), kTestN, k, out[which].data(), kTestM);
            ++which;
        }
        const std::string why = compare(type == SL4J_TYPE_Q8_0 ? "q8_0" : "q4_0", out[0], out[1], {});
        if (!why.empty()) return why;
    }
    return "";
}

// bf16: integer-valued operands (every sum exact, whatever the order: bit for bit), then real
// values, within (k + 8) * 2^-24 of the sum of |products|: any order of the k products' FP32 sums
// lies within (k / 2 + 4) roundings of the exact sum, so the hardware may group them otherwise
// than the SDM's pseudo-code (the emulation) and still pass; a wrong layout misses by far more.
std::string self_test_bf16(const AmxBf16Gemm& hw, const AmxBf16Gemm& emu) {
    const int64_t k = 77;  // two chunks of 32 and a tail of 13 (odd: the last pair half padding)
    for (int integer = 1; integer >= 0; --integer) {
        std::vector<float> x((size_t)(kTestN * k));
        std::vector<uint16_t> w((size_t)(kTestM * k));
        for (size_t i = 0; i < x.size(); ++i)
            x[i] = integer ? std::round(random_value(3, i) * 8.0f) : random_value(3, i) * (i % 29 == 0 ? 50.0f : 1.0f);
        for (size_t i = 0; i < w.size(); ++i)
            w[i] = f32_to_bf16_bits(integer ? std::round(random_value(4, i) * 8.0f) : random_value(4, i));
        std::vector<double> tol;
        if (!integer) {
            tol.assign((size_t)(kTestN * kTestM), 0.0);
            for (int64_t i = 0; i < kTestN; ++i)
                for (int64_t r = 0; r < kTestM; ++r)
                    for (int64_t j = 0; j < k; ++j)
                        tol[(size_t)(i * kTestM + r)] += std::fabs((double)bf16_bits_to_f32(f32_to_bf16_bits(x[(size_t)(i * k + j)])) *
                                                                   bf16_bits_to_f32(w[(size_t)(r * k + j)])) * (k + 8) * 0x1.0p-24;
        }
        std::vector<float> out[2];
        int which = 0;
        for (const AmxBf16Gemm* g : {&hw, &emu}) {
            std::vector<char> panel((size_t)g->panel_bytes(kTestN, k));
            g->pack(x.data(), kTestN, k, panel.data(), 0, (kTestN + 15) / 16);
            out[which].assign((size_t)(kTestN * kTestM), NAN);
            g->gemm(w.data(), k * 2, kTestM, panel.data(), kTestN, k, out[which].data(), kTestM);
            ++which;
        }
        const std::string why = compare(integer ? "bf16 (integer values)" : "bf16", out[0], out[1], tol);
        if (!why.empty()) return why;
    }
    return "";
}

std::string self_test_in_child(void* int8) {
    if (*static_cast<const bool*>(int8)) return self_test_int8(*amx_qgemm_hw(), amx_qgemm_emulated());
    return self_test_bf16(*amx_bf16_hw(), amx_bf16_emulated());
}

// In a child process (cpu/isolated.h): these instructions run for the first time here, and a fault
// (a wrong tile configuration is a #GP, a missing permission a #UD) must end the child, not the JVM.
std::string self_test_hw(bool int8) {
    bool arg = int8;
    return run_isolated(self_test_in_child, &arg, 20000);
}

}  // namespace

AmxProbe amx_probe() {
    AmxProbe p{};
    p.compiled = amx_hw_compiled();
#if defined(__x86_64__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        p.tile = (d >> 24) & 1;
        p.int8 = (d >> 25) & 1;
        p.bf16 = (d >> 22) & 1;
    }
    p.avx512 = simd_detected() >= Simd::kAvx512 && __builtin_cpu_supports("f16c");
    if (__get_cpuid(1, &a, &b, &c, &d) && ((c >> 27) & 1)) {  // OSXSAVE: XGETBV may run
        const uint64_t xcr0 = xgetbv0();
        p.os_tile = ((xcr0 >> 17) & 3) == 3;
    }
#endif
    return p;
}

AmxHooks amx_default_hooks() { return AmxHooks{request_permission_linux, self_test_hw}; }

AmxStatus amx_decide(const AmxProbe& p, const char* env, const AmxHooks& hooks) {
    AmxStatus s;
    const char* off = nullptr;
    if (env != nullptr && std::strcmp(env, "0") == 0) {
        s.reason = "amx: off (SL4J_AMX=0)";
        return s;
    }
    if (!p.compiled) off = "this build has no AMX kernels: the compiler took no -mamx-tile/-mamx-int8/-mamx-bf16";
    else if (!p.tile) off = "no AMX-TILE";
    else if (!p.int8 && !p.bf16) off = "no AMX-INT8, no AMX-BF16";
    else if (!p.avx512) off = "no AVX-512 for the kernels' float work";
    else if (!p.os_tile) off = "the OS does not enable the tile state: XCR0 lacks XTILECFG/XTILEDATA";
    if (off != nullptr) {
        s.reason = format("amx: unavailable (%s)", off);
        return s;
    }
    const int err = hooks.request_permission();
    if (err != 0) {
        s.reason = format("amx: refused by kernel (errno %d: %s)", err, std::strerror(err));
        return s;
    }
    std::string notes;
    auto note = [&](const std::string& n) { notes += (notes.empty() ? "" : "; ") + n; };
    if (!p.int8) note("no AMX-INT8");
    if (!p.bf16) note("no AMX-BF16");
    for (int int8 = 1; int8 >= 0; --int8) {
        if (!(int8 ? p.int8 : p.bf16)) continue;
        const std::string why = hooks.self_test(int8 != 0);
        if (!why.empty()) {
            note(format("%s self-test failed: %s", int8 ? "int8" : "bf16", why.c_str()));
            continue;
        }
        (int8 ? s.int8 : s.bf16) = true;
    }
    if (s.int8 || s.bf16) note("self-test passed");
    s.reason = format("amx: %s (%s)", s.int8 && s.bf16 ? "int8, bf16" : s.int8 ? "int8" : s.bf16 ? "bf16" : "off",
                      notes.c_str());
    return s;
}

const AmxStatus& amx_status() {
    static const AmxStatus s = amx_decide(amx_probe(), std::getenv("SL4J_AMX"), amx_default_hooks());
    return s;
}

namespace {
std::atomic<const QGemm*> g_route_q{nullptr};
std::atomic<const AmxBf16Gemm*> g_route_b{nullptr};
std::atomic<bool> g_routed{false};
}  // namespace

void amx_route_for_tests(const QGemm* q, const AmxBf16Gemm* b) {
    g_route_q.store(q), g_route_b.store(b), g_routed.store(q != nullptr || b != nullptr);
}

const QGemm* amx_qgemm() {
    if (g_routed.load(std::memory_order_relaxed)) return g_route_q.load();
    return amx_status().int8 ? amx_qgemm_hw() : nullptr;
}
const AmxBf16Gemm* amx_bf16() {
    if (g_routed.load(std::memory_order_relaxed)) return g_route_b.load();
    return amx_status().bf16 ? amx_bf16_hw() : nullptr;
}

}  // namespace sl4j::cpu
