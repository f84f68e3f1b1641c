#include "cpu/matmul.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/types.h"
#include "cpu/amx.h"
#include "cpu/kernels.h"
#include "cpu/qdot.h"
#include "cpu/repack.h"
#include "cpu/threadpool.h"

namespace sl4j::cpu {

const KernelTable& kernels_for(Simd level) {
    switch (level) {
        case Simd::kAvx512: return kernels_avx512();
        case Simd::kAvx2: return kernels_avx2();
        default: return kernels_scalar();
    }
}

namespace {

// Up to this many activation rows the product is a stream over the weights
// (memory-bound): the fused kernels decode each weight block once for all rows.
constexpr int64_t kDecodeN = 8;
// Output rows per decode task grain unit: 16 floats = one cache line of out.
constexpr int64_t kRowGroup = 16;
static_assert(kRowGroup == kRepackRows, "a task's row group is one group of repacked rows");
// k-block of the prefill GEMM: the NR x kKc panel slice (16 KiB with NR = 32)
// stays in L1 beside the streamed x block; raised to the type's block size.
constexpr int64_t kKc = 128;
// matmul_transposed keeps its per-call choice of the axpy path for tiny n.
constexpr int64_t kSmallN = 4;
// Column block of matmul_transposed: a multiple of every block size (1, 32, 256).
constexpr int64_t kColBlock = 256;
// Rows of W decoded at once by matmul_transposed.
constexpr int64_t kRowBlock = 256;
constexpr int kMaxTile = 12 * 32;  // largest mr * nr of any level
constexpr int kMaxParts = 8;       // matmul_parts: matrices sharing one input

// Per-thread scratch that only ever grows: no allocation per call once warm.
struct Scratch {
    std::vector<float> row, panel, packed, acc;
    std::vector<char> xq32, xqk;  // quantised activations (fast precision)
    std::vector<char> xp32, xpk;  // the same repacked for the tiled GEMM (QGemm panels)
    std::vector<char> xbf;        // activations rounded to BF16 in the AMX panel
};
thread_local Scratch t_scratch;

template <typename T>
T* grow(std::vector<T>& v, int64_t n) {
    if ((int64_t)v.size() < n) v.resize((size_t)n);
    return v.data();
}

// Which kernels have run: one bit per (op, weight type, level), see kernels_ran_take.
enum Op { kOpGemv = 0, kOpGemm = 1, kOpQgemv = 2, kOpQgemm = 3, kOpQgemmRows = 4, kOpQgemvRepacked = 5, kOpQgemmRepacked = 6, kNumOps = 7 };
constexpr int kNumTypeIds = 32, kNumLevels = 5;  // levels: scalar, avx2, avx512 / avxvnni, avx512vnni, amx
const char* const kOpNames[kNumOps] = {"gemv", "gemm", "qgemv", "qgemm", "qgemm_rows", "qgemv_repacked", "qgemm_repacked"};
std::atomic<bool> g_qgemm_tiled{true};
std::atomic<uint64_t> g_ran[(kNumOps * kNumTypeIds * kNumLevels + 63) / 64];

int level_index(const char* name) {
    if (std::strcmp(name, "scalar") == 0) return 0;
    if (std::strcmp(name, "avx2") == 0) return 1;
    if (std::strcmp(name, "avx512") == 0 || std::strcmp(name, "avxvnni") == 0) return 2;
    if (std::strcmp(name, "amx") == 0) return 4;
    return 3;
}
const char* level_name(int op, int level) {
    static const char* const f[kNumLevels] = {"scalar", "avx2", "avx512", "avx512", "amx"};
    static const char* const q[kNumLevels] = {"scalar", "avx2", "avxvnni", "avx512vnni", "amx"};
    return op >= kOpQgemv ? q[level] : f[level];
}
void note_ran(int op, int32_t wtype, const char* level) {
    if (wtype < 0 || wtype >= kNumTypeIds) return;
    const int bit = (op * kNumTypeIds + wtype) * kNumLevels + level_index(level);
    std::atomic<uint64_t>& word = g_ran[bit / 64];
    const uint64_t mask = uint64_t(1) << (bit % 64);
    if ((word.load(std::memory_order_relaxed) & mask) == 0) word.fetch_or(mask, std::memory_order_relaxed);
}

// Validates and returns the bytes of one weight row of k elements.
int64_t check_args(const char* op, const float* out, const void* w, int32_t wtype, const float* x, int64_t n,
                   int64_t k, int64_t m) {
    SL4J_CHECK_ARG(n >= 0 && k >= 0 && m >= 0, "%s: sizes must be >= 0 (n=%lld k=%lld m=%lld)", op, (long long)n,
                   (long long)k, (long long)m);
    const TypeTraits* tt = type_traits(wtype);
    if (tt == nullptr) SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "%s: unknown weight type id %d", op, wtype);
    if (!tt->supported)
        SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "%s: weight type %s (id %d) is not supported by the CPU backend", op,
                  tt->name, wtype);
    SL4J_CHECK_ARG(k % tt->block_size == 0, "%s: k=%lld is not a multiple of the %s block size %lld", op,
                   (long long)k, tt->name, (long long)tt->block_size);
    const bool empty = n == 0 || k == 0 || m == 0;
    SL4J_CHECK_ARG(empty || (out != nullptr && w != nullptr && x != nullptr),
                   "%s: NULL pointer (out=%p w=%p x=%p) for n=%lld k=%lld m=%lld", op, (const void*)out, w,
                   (const void*)x, (long long)n, (long long)k, (long long)m);
    return type_row_bytes(wtype, k);
}

// Byte offset of element j (a multiple of the block size) inside a row.
int64_t elem_offset(int32_t wtype, int64_t j) {
    const TypeTraits* tt = type_traits(wtype);
    return j / tt->block_size * tt->type_size;
}

// Copy rows [0, n) of a (row stride lda, kc columns) into blocks of mr rows
// stored p-major ([kc][mr], zero rows past n), in parallel over blocks.
float* pack_rows(const float* a, int64_t lda, int64_t n, int64_t kc, int mr) {
    const int64_t n_blocks = (n + mr - 1) / mr;
    float* dst = grow(t_scratch.packed, n_blocks * mr * kc);
    parallel_for(n_blocks, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) {
            float* d = dst + b * mr * kc;
            const int live = (int)std::min<int64_t>(mr, n - b * mr);
            const float* s = a + b * mr * lda;
            // p-major: the block is written in order (it is larger than L1 for a large kc)
            for (int64_t p = 0; p < kc; ++p, d += mr) {
                for (int i = 0; i < live; ++i) d[i] = s[i * lda + p];
                for (int i = live; i < mr; ++i) d[i] = 0.0f;
            }
        }
    });
    return dst;
}

// Memory-bound (n <= kDecodeN): stream the weights once, fused decode-and-dot
// for all n rows. Tasks are groups of kRowGroup output rows (whole cache lines
// of out, so no false sharing), at least ~32K weights each, numbered across the
// parts in order; a task's range may span the end of one part and the start of
// the next.
void decode_parts(const KernelTable& kt, const MatmulPart* parts, const int64_t* rb, int n_parts, const float* x,
                  int64_t n, int64_t k) {
    int64_t first[kMaxParts + 1];  // first group of each part
    first[0] = 0;
    for (int p = 0; p < n_parts; ++p) first[p + 1] = first[p] + (parts[p].m + kRowGroup - 1) / kRowGroup;
    const int64_t grain = std::max<int64_t>(1, 32768 / (k * kRowGroup));
    parallel_for(first[n_parts], grain, [&](int64_t g0, int64_t g1) {
        for (int p = 0; p < n_parts; ++p) {
            const int64_t a = std::max(g0, first[p]), b = std::min(g1, first[p + 1]);
            if (a >= b) continue;
            const MatmulPart& q = parts[p];
            kt.gemv(q.wtype, q.w, rb[p], (a - first[p]) * kRowGroup, std::min(q.m, (b - first[p]) * kRowGroup), x, n,
                    k, q.out, q.m);
        }
    });
}


// The fast precision over the parts whose weight type has an integer path (all of
// them quantised types). x is quantised once per activation kind. Prefill with a
// level's tiled GEMM (QGemm): the quantised rows are repacked into its panel once,
// then tasks of kRowGroup weight rows (numbered across the parts) each run the GEMM
// over all n rows. Otherwise tasks of kRowGroup weight rows sweep the activations in
// tiles of kQdotMaxX rows: the task's weight rows stay in cache while every tile
// passes them, so each weight byte comes from memory once per product, and each dot
// call unpacks a weight block once for the tile's rows. Parts with repacked weights (packed set,
// and kernels for them at this level) run their groups on QPacked instead, reading the quantised
// rows directly (no panel).
void qmatmul_parts(const MatmulPart* parts, const int64_t* rb, int n_parts, const float* x, int64_t n, int64_t k) {
    const QKernelTable& qk = qkernels();
    const bool prefill = n > kDecodeN && g_qgemm_tiled.load(std::memory_order_relaxed);
    // The tiled GEMM per activation kind: AMX's for the 32-blocks (it takes every type paired with
    // them) where the CPU has it, else the level's.
    const QGemm* amx = prefill ? amx_qgemm() : nullptr;
    const QGemm* gemm_for[3] = {nullptr, amx ? amx : prefill ? qk.gemm : nullptr, prefill ? qk.gemm : nullptr};
    bool tiled[kMaxParts];  // part p runs on the tiled GEMM
    bool repacked[kMaxParts];  // part p runs on the repacked kernels
    bool need[3] = {false, false, false}, need_panel[3] = {false, false, false};  // by QAct
    for (int p = 0; p < n_parts; ++p) {
        const int a = (int)qact_for(parts[p].wtype);
        repacked[p] = parts[p].packed != nullptr && qk.packed != nullptr && qk.packed->supports(parts[p].wtype) &&
                      (n <= kDecodeN || prefill);
        tiled[p] = !repacked[p] && gemm_for[a] != nullptr && gemm_for[a]->supports(parts[p].wtype);
        need[a] = true;
        need_panel[a] = need_panel[a] || tiled[p];
    }
    const char* xq[3] = {nullptr, nullptr, nullptr};  // quantised rows, by QAct
    const char* xp[3] = {nullptr, nullptr, nullptr};  // their panel for the tiled GEMM, by QAct
    int64_t xrb[3] = {0, 0, 0};
    // One pool job per activation kind: each task quantises whole groups of the panel's rows
    // (single rows where no part is tiled) and repacks those groups into the panel.
    for (const QAct a : {QAct::kQ8_32, QAct::kQ8_K}) {
        if (!need[(int)a]) continue;
        const QGemm* gemm = gemm_for[(int)a];
        const int64_t bytes = xrb[(int)a] = qact_row_bytes(a, k);
        char* dst = grow(a == QAct::kQ8_32 ? t_scratch.xq32 : t_scratch.xqk, n * bytes);
        char* panel = need_panel[(int)a]
                          ? grow(a == QAct::kQ8_32 ? t_scratch.xp32 : t_scratch.xpk, gemm->panel_bytes(a, n, k))
                          : nullptr;
        const int64_t rows = panel ? gemm->lanes : 1;  // rows per unit of work
        parallel_for((n + rows - 1) / rows, std::max<int64_t>(1, 16384 / (k * rows)), [&](int64_t u0, int64_t u1) {
            for (int64_t i = u0 * rows; i < std::min(n, u1 * rows); ++i) qk.quantize(a, x + i * k, dst + i * bytes, k);
            if (panel) gemm->pack(a, dst, bytes, n, k, panel, u0, u1);
        });
        xq[(int)a] = dst;
        xp[(int)a] = panel;
    }
    int64_t first[kMaxParts + 1];  // first group of each part
    first[0] = 0;
    for (int p = 0; p < n_parts; ++p) {
        first[p + 1] = first[p] + (parts[p].m + kRowGroup - 1) / kRowGroup;
        const bool on_amx = tiled[p] && gemm_for[(int)qact_for(parts[p].wtype)] == amx;
        note_ran(repacked[p]       ? (n <= kDecodeN ? kOpQgemvRepacked : kOpQgemmRepacked)
                 : n <= kDecodeN ? kOpQgemv
                 : tiled[p]      ? kOpQgemm
                                 : kOpQgemmRows,
                 parts[p].wtype, on_amx ? "amx" : qk.name);
    }
    const int64_t grain = std::max<int64_t>(1, 32768 / (k * kRowGroup * n));
    parallel_for(first[n_parts], grain, [&](int64_t g0, int64_t g1) {
        for (int p = 0; p < n_parts; ++p) {
            const int64_t a = std::max(g0, first[p]), b = std::min(g1, first[p + 1]);
            if (a >= b) continue;
            const MatmulPart& q = parts[p];
            const int act = (int)qact_for(q.wtype);
            const char* wb = static_cast<const char*>(q.w);
            if (repacked[p]) {
                const int64_t g0 = a - first[p], g1 = b - first[p];
                if (n > kDecodeN) {
                    qk.packed->gemm(q.wtype, q.packed, q.m, k, g0, g1, xq[act], xrb[act], n, q.out, q.m);
                    continue;
                }
                for (int64_t i = 0; i < n; i += kQdotMaxX)
                    qk.packed->gemv(q.wtype, q.packed, q.m, k, g0, g1, xq[act] + i * xrb[act], xrb[act],
                                    (int)std::min<int64_t>(kQdotMaxX, n - i), q.out + i * q.m, q.m);
                continue;
            }
            if (tiled[p]) {
                const int64_t r0 = (a - first[p]) * kRowGroup, r1 = std::min(q.m, (b - first[p]) * kRowGroup);
                gemm_for[act]->gemm(q.wtype, wb + r0 * rb[p], rb[p], r1 - r0, xp[act], n, k, q.out + r0, q.m);
                continue;
            }
            for (int64_t g = a; g < b; ++g) {  // one group of weight rows, kept in L1 across the tiles
                const int64_t r0 = (g - first[p]) * kRowGroup, r1 = std::min(q.m, r0 + kRowGroup);
                if (n == 1) {  // decode: kQdotMaxX weight rows at a time against the one activation row
                    for (int64_t r = r0; r < r1; r += kQdotMaxX)
                        qk.rows(q.wtype, wb + r * rb[p], rb[p], (int)std::min<int64_t>(kQdotMaxX, r1 - r), xq[act], k,
                                q.out + r);
                    continue;
                }
                for (int64_t i = 0; i < n; i += kQdotMaxX) {
                    const int nx = (int)std::min<int64_t>(kQdotMaxX, n - i);
                    for (int64_t r = r0; r < r1; ++r)
                        qk.dot(q.wtype, wb + r * rb[p], xq[act] + i * xrb[act], xrb[act], nx, k, q.out + i * q.m + r,
                               q.m);
                }
            }
        }
    });
}

// The fast precision's BF16 prefill on AMX: the activations rounded to BF16 into the kernel's
// panel once, then tasks of kRowGroup weight rows each run the tile GEMM over all n rows.
void bf16_matmul_amx(const AmxBf16Gemm& g, float* out, const void* w, int64_t rb, const float* x, int64_t n, int64_t k,
                     int64_t m) {
    char* panel = grow(t_scratch.xbf, g.panel_bytes(n, k));
    parallel_for((n + 15) / 16, 1, [&](int64_t g0, int64_t g1) { g.pack(x, n, k, panel, g0, g1); });
    const int64_t groups = (m + kRowGroup - 1) / kRowGroup;
    parallel_for(groups, std::max<int64_t>(1, 32768 / (k * kRowGroup * n)), [&](int64_t a, int64_t b) {
        const int64_t r0 = a * kRowGroup, r1 = std::min(m, b * kRowGroup);
        g.gemm(static_cast<const char*>(w) + r0 * rb, rb, r1 - r0, panel, n, k, out + r0, m);
    });
}

}  // namespace

void matmul(float* out, const void* w, int32_t wtype, const float* x, int64_t n, int64_t k, int64_t m,
            Precision precision) {
    const int64_t rb = check_args("matmul", out, w, wtype, x, n, k, m);
    if (n == 0 || m == 0) return;
    if (k == 0) {
        std::fill(out, out + n * m, 0.0f);
        return;
    }
    const KernelTable& kt = kernels_for(simd());
    const char* wb = static_cast<const char*>(w);
    const MatmulPart part{out, w, wtype, m};
    if (precision == Precision::kFast && qact_for(wtype) != QAct::kNone) {
        qmatmul_parts(&part, &rb, 1, x, n, k);
        return;
    }
    if (precision == Precision::kFast && wtype == SL4J_TYPE_BF16 && n > kDecodeN &&
        g_qgemm_tiled.load(std::memory_order_relaxed)) {
        if (const AmxBf16Gemm* g = amx_bf16()) {
            note_ran(kOpGemm, wtype, "amx");
            bf16_matmul_amx(*g, out, w, rb, x, n, k, m);
            return;
        }
    }
    if (n <= kDecodeN) {
        note_ran(kOpGemv, wtype, simd_name(simd()));
        decode_parts(kt, &part, &rb, 1, x, n, k);
        return;
    }
    note_ran(kOpGemm, wtype, simd_name(simd()));

    // Prefill: a task owns a panel of NR weight rows (times a split of n when
    // there are too few panels to keep every thread busy). It walks k in blocks
    // of kcb: decodes the panel's kcb x NR slice once, k-major (pack_panel), so it
    // stays in L1 while the micro-kernel sweeps it across all the task's x rows,
    // whose partial sums wait in a small per-task buffer (NR floats per row).
    const int NR = kt.nr, MR = kt.mr;
    const int64_t n_panels = (m + NR - 1) / NR;
    const int64_t n_mblocks = (n + MR - 1) / MR;
    const int64_t want = 4 * (int64_t)threads();
    const int64_t split = n_panels >= want ? 1 : std::min(n_mblocks, (want + n_panels - 1) / n_panels);
    const int64_t kcb = std::max<int64_t>(kKc, type_traits(wtype)->block_size);
    const float* xp = pack_rows(x, k, n, k, MR);
    parallel_for(n_panels * split, 1, [&](int64_t t0, int64_t t1) {
        float* buf = grow(t_scratch.row, kcb * NR);
        float* panel = grow(t_scratch.panel, kcb * NR);
        float* acc = grow(t_scratch.acc, (n_mblocks / split + 1) * MR * NR);
        for (int64_t t = t0; t < t1; ++t) {
            const int64_t p = t / split, q = t % split;
            const int64_t r0 = p * NR;
            const int rows = (int)std::min<int64_t>(NR, m - r0);
            const int64_t i0 = n_mblocks * q / split * MR;
            const int64_t i1 = std::min(n, n_mblocks * (q + 1) / split * MR);
            for (int64_t kb = 0; kb < k; kb += kcb) {
                const int64_t kc = std::min(kcb, k - kb);
                kt.pack_panel(wtype, wb + r0 * rb + elem_offset(wtype, kb), rb, rows, kc, panel, buf);
                // The next k-block of this panel (after the last, the next panel's first) is
                // requested into L2 while the micro-kernel runs on this one, a few rows before
                // each call: the hardware prefetcher does not follow NR runs of kc elements a
                // row apart, and all of them at once would stall on the outstanding misses.
                const bool last = kb + kcb >= k;
                const int64_t nr0 = last ? r0 + NR : r0, nkb = last ? 0 : kb + kcb;
                const int64_t nrows = std::max<int64_t>(0, std::min<int64_t>(NR, m - nr0));
                const int64_t nbytes = elem_offset(wtype, std::min(kcb, k - nkb));
                const char* next = nrows > 0 ? wb + nr0 * rb + elem_offset(wtype, nkb) : wb;
                const int64_t calls = (i1 - i0 + MR - 1) / MR;
                int64_t call = 0;
                for (int64_t i = i0; i < i1; i += MR, ++call) {
                    for (int64_t rr = nrows * call / calls; rr < nrows * (call + 1) / calls; ++rr)
                        for (int64_t o = 0; o < nbytes; o += 64) __builtin_prefetch(next + rr * rb + o, 0, 2);
                    const int mr = (int)std::min<int64_t>(MR, i1 - i);
                    kt.kern(xp + i * k + kb * MR, mr, panel, NR, kc, acc + (i - i0) * NR, kb > 0);
                }
            }
            for (int64_t i = i0; i < i1; ++i)
                std::memcpy(out + i * m + r0, acc + (i - i0) * NR, (size_t)rows * sizeof(float));
        }
    });
}

void matmul_parts(const MatmulPart* parts, int n_parts, const float* x, int64_t n, int64_t k, Precision precision) {
    SL4J_CHECK_ARG(parts != nullptr && n_parts >= 1 && n_parts <= kMaxParts, "matmul_parts: %d parts (1..%d)", n_parts,
                   kMaxParts);
    // With the fast precision the parts of integer-path types run as one job, the rest as below.
    MatmulPart rest[kMaxParts], quant[kMaxParts];
    int64_t rb_rest[kMaxParts], rb_quant[kMaxParts];
    int n_rest = 0, n_quant = 0;
    for (int p = 0; p < n_parts; ++p) {
        const int64_t rb = check_args("matmul_parts", parts[p].out, parts[p].w, parts[p].wtype, x, n, k, parts[p].m);
        if (precision == Precision::kFast && qact_for(parts[p].wtype) != QAct::kNone) {
            rb_quant[n_quant] = rb;
            quant[n_quant++] = parts[p];
        } else {
            rb_rest[n_rest] = rb;
            rest[n_rest++] = parts[p];
        }
    }
    if (n == 0) return;
    if (k == 0) {
        for (int p = 0; p < n_parts; ++p) std::fill(parts[p].out, parts[p].out + n * parts[p].m, 0.0f);
        return;
    }
    if (n_quant > 0) qmatmul_parts(quant, rb_quant, n_quant, x, n, k);
    if (n_rest == 0) return;
    if (n > kDecodeN) {  // compute-bound: the GEMM keeps every thread busy on each part alone
        for (int p = 0; p < n_rest; ++p) matmul(rest[p].out, rest[p].w, rest[p].wtype, x, n, k, rest[p].m, precision);
        return;
    }
    for (int p = 0; p < n_rest; ++p) note_ran(kOpGemv, rest[p].wtype, simd_name(simd()));
    decode_parts(kernels_for(simd()), rest, rb_rest, n_rest, x, n, k);
}

void set_qgemm_tiled(bool enabled) { g_qgemm_tiled.store(enabled, std::memory_order_relaxed); }

std::string kernels_ran_take() {
    std::string s;
    for (int bit = 0; bit < kNumOps * kNumTypeIds * kNumLevels; ++bit) {
        if ((g_ran[bit / 64].load(std::memory_order_relaxed) & (uint64_t(1) << (bit % 64))) == 0) continue;
        const int op = bit / (kNumTypeIds * kNumLevels), type = bit / kNumLevels % kNumTypeIds, level = bit % kNumLevels;
        const TypeTraits* tt = type_traits(type);
        if (!s.empty()) s += ',';
        s += std::string(kOpNames[op]) + ":" + (tt ? tt->name : "?") + "/" + level_name(op, level);
    }
    for (auto& w : g_ran) w.store(0, std::memory_order_relaxed);
    return s;
}

void matmul_transposed(float* out, const void* w, int32_t wtype, const float* dy, int64_t n, int64_t k,
                       int64_t m) {
    const int64_t rb = check_args("matmul_transposed", out, w, wtype, dy, n, k, m);
    if (n == 0 || k == 0) return;
    if (m == 0) {
        std::fill(out, out + n * k, 0.0f);
        return;
    }
    const KernelTable& kt = kernels_for(simd());
    const char* wb = static_cast<const char*>(w);
    const bool f32 = wtype == SL4J_TYPE_F32;
    const int64_t n_cblocks = (k + kColBlock - 1) / kColBlock;

    // Columns of W block [j0, j0 + cw) of row r as floats (decoded into buf unless F32).
    auto row_cols = [&](int64_t r, int64_t j0, int64_t cw, float* buf) -> const float* {
        const char* src = wb + r * rb + elem_offset(wtype, j0);
        if (f32) return reinterpret_cast<const float*>(src);
        kt.dequant(wtype, src, buf, cw);
        return buf;
    };

    if (n < kSmallN) {
        // out_i = sum_r dy[i][r] * W[r]: one axpy per weight row, per column block
        parallel_for(n_cblocks, 1, [&](int64_t c0, int64_t c1) {
            float* buf = grow(t_scratch.row, kColBlock);
            for (int64_t cb = c0; cb < c1; ++cb) {
                const int64_t j0 = cb * kColBlock, cw = std::min(kColBlock, k - j0);
                for (int64_t i = 0; i < n; ++i) std::fill(out + i * k + j0, out + i * k + j0 + cw, 0.0f);
                for (int64_t r = 0; r < m; ++r) {
                    const float* v = row_cols(r, j0, cw, buf);
                    for (int64_t i = 0; i < n; ++i) kt.axpy(out + i * k + j0, dy[i * m + r], v, cw);
                }
            }
        });
        return;
    }

    // dy·W is a plain row-major product: decode a kRowBlock x kColBlock tile of W
    // (zero-padded to full width), run the micro-kernel over it with stride
    // kColBlock, and accumulate the row blocks in order.
    const int NR = kt.nr, MR = kt.mr;
    const int64_t n_mblocks = (n + MR - 1) / MR;
    const int64_t want = 4 * (int64_t)threads();
    const int64_t split = n_cblocks >= want ? 1 : std::min(n_mblocks, (want + n_cblocks - 1) / n_cblocks);
    const float* dyp = pack_rows(dy, m, n, m, MR);
    parallel_for(n_cblocks * split, 1, [&](int64_t t0, int64_t t1) {
        float* tile = grow(t_scratch.panel, kRowBlock * kColBlock);
        float c[kMaxTile];
        for (int64_t t = t0; t < t1; ++t) {
            const int64_t cb = t / split, q = t % split;
            const int64_t j0 = cb * kColBlock, cw = std::min(kColBlock, k - j0);
            const int64_t n_sub = (cw + NR - 1) / NR;
            const int64_t i0 = n_mblocks * q / split * MR;
            const int64_t i1 = std::min(n, n_mblocks * (q + 1) / split * MR);
            for (int64_t r0 = 0; r0 < m; r0 += kRowBlock) {
                const int64_t rc = std::min(kRowBlock, m - r0);
                for (int64_t rr = 0; rr < rc; ++rr) {
                    float* dst = tile + rr * kColBlock;
                    const float* v = row_cols(r0 + rr, j0, cw, dst);
                    if (v != dst) std::memcpy(dst, v, (size_t)cw * sizeof(float));
                    std::fill(dst + cw, dst + n_sub * NR, 0.0f);
                }
                for (int64_t i = i0; i < i1; i += MR) {
                    const int mr = (int)std::min<int64_t>(MR, i1 - i);
                    for (int64_t s = 0; s < n_sub; ++s) {
                        kt.kern(dyp + i * m + r0 * MR, mr, tile + s * NR, kColBlock, rc, c, false);
                        const int64_t cols = std::min<int64_t>(NR, cw - s * NR);
                        for (int ii = 0; ii < mr; ++ii) {
                            float* o = out + (i + ii) * k + j0 + s * NR;
                            const float* ci = c + ii * NR;
                            if (r0 == 0)
                                std::memcpy(o, ci, (size_t)cols * sizeof(float));
                            else
                                for (int64_t j = 0; j < cols; ++j) o[j] += ci[j];
                        }
                    }
                }
            }
        }
    });
}

}  // namespace sl4j::cpu
