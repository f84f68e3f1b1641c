// The fast precision's prefill GEMM, AVX-512 VNNI (cpu/qdot.h, QGemm): a register tile of
// kRW weight rows x kG groups of 16 activation rows.
//
// Activations sit in the 16 32-bit lanes of a zmm, one row per lane: dword j of a block holds
// bytes 4j..4j+3 of each row as x + 128 (unsigned). The weights, unpacked once per tile to
// signed bytes, enter each vpdpbusd as a broadcast dword, so one instruction is 64
// multiply-adds of one weight row against 16 activation rows; each activation vector serves
// kRW weight rows and each weight dword kG activation vectors. The +128 comes back out through
// the weight sums (-128 * sum of w, the accumulator's start value), so per block the integer
// sums are exactly sum x * w, and the float work (convert, scale product, FMA) is once per
// block per 16 outputs. K-quants: sub-block sums times their integer scale (vpmulld) inside
// the 256-block; Q4_K / Q5_K mins through the activation sums per sub-block (vpdpwssd).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "cpu/qdot.h"
#include "quant/blocks.h"
#include "stackllama4j.h"

#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")
#include <immintrin.h>
// GCC 12 takes the _mm512_undefined_ps() that _mm512_cvtepi32_ps starts from for a read of an
// uninitialised value once inlined (-Wmaybe-uninitialized); every lane is written. Silenced for
// this file only, as in kernels_avx512.cpp.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace {

using namespace sl4j;
using sl4j::cpu::QAct;

constexpr int kL = 16;  // activation rows per group: one per 32-bit lane
constexpr int kRW = 8;  // weight rows per tile
constexpr int kG = 1;   // activation groups per tile (8 x 16 measured faster than 4 x 32 and 12 x 16)

// Panel, per group of 16 rows, block after block:
//   Q8_32 (block of 32):  u8 qs[8][16][4] (dword j, lane i: x_i[4j..4j+3] + 128), float d[16]
//   Q8_K (block of 256): u8 qs[64][16][4], float d[16], int16 xs[4][16][2] (lane i of pair p:
//                        the sums of x_i over sub-blocks 2p and 2p + 1, of 32 each)
constexpr int64_t kP32 = 8 * 64 + 64;
constexpr int64_t kPK = 64 * 64 + 64 + 4 * 64;
constexpr int64_t kPKd = 64 * 64, kPKxs = 64 * 64 + 64;

// Weight tile of kRW rows, block after block:
//   Q4_0 / Q8_0 (block of 32): s8 q[kRW][32], float d[kRW], int32 corr[kRW] (-128 * sum of q)
//   K-quants (block of 256):   s8 q[kRW][256], KMeta[kRW]
struct KMeta {
    int32_t sc[16];  // integer scale of each sub-block (8 of 32 for Q4_K / Q5_K, 16 of 16 for Q6_K)
    int32_t corr;    // -128 * sum over sub-blocks of sc * (sum of q)
    float d, dmin;
    int32_t mp[4];  // Q4_K / Q5_K: mins of sub-blocks 2p (low 16 bits) and 2p + 1 (high 16 bits)
    int32_t pad;
};
static_assert(sizeof(KMeta) == 96, "KMeta is 96 bytes");
constexpr int64_t kT32 = kRW * 32 + kRW * 8;
constexpr int64_t kTK = kRW * 256 + kRW * (int64_t)sizeof(KMeta);

int64_t group_bytes(QAct a, int64_t k) { return a == QAct::kQ8_32 ? k / QK8_0 * kP32 : k / QK_K * kPK; }

int64_t panel_bytes(QAct a, int64_t n, int64_t k) { return (n + kL - 1) / kL * group_bytes(a, k); }

void pack(QAct a, const void* xq, int64_t xstride, int64_t n, int64_t k, void* panel, int64_t g0, int64_t g1) {
    const int64_t gb = group_bytes(a, k);
    for (int64_t g = g0; g < g1; ++g) {
        char* gp = static_cast<char*>(panel) + g * gb;
        for (int lane = 0; lane < kL; ++lane) {
            const int64_t i = g * kL + lane;
            const char* row = i < n ? static_cast<const char*>(xq) + i * xstride : nullptr;  // padding: x = 0
            if (a == QAct::kQ8_32) {
                for (int64_t b = 0; b < k / QK8_0; ++b) {
                    char* dst = gp + b * kP32;
                    const block_q8_a32* x = row ? reinterpret_cast<const block_q8_a32*>(row) + b : nullptr;
                    for (int j = 0; j < 8; ++j) {
                        uint32_t v = 0;
                        if (x) std::memcpy(&v, x->qs + 4 * j, 4);
                        v ^= 0x80808080u;
                        std::memcpy(dst + (j * kL + lane) * 4, &v, 4);
                    }
                    const float d = x ? x->d : 0.0f;
                    std::memcpy(dst + 512 + lane * 4, &d, 4);
                }
            } else {
                for (int64_t b = 0; b < k / QK_K; ++b) {
                    char* dst = gp + b * kPK;
                    const block_q8_K* x = row ? reinterpret_cast<const block_q8_K*>(row) + b : nullptr;
                    for (int j = 0; j < 64; ++j) {
                        uint32_t v = 0;
                        if (x) std::memcpy(&v, x->qs + 4 * j, 4);
                        v ^= 0x80808080u;
                        std::memcpy(dst + (j * kL + lane) * 4, &v, 4);
                    }
                    const float d = x ? x->d : 0.0f;
                    std::memcpy(dst + kPKd + lane * 4, &d, 4);
                    for (int p = 0; p < 4; ++p) {
                        int16_t s[2] = {0, 0};
                        if (x) {
                            s[0] = (int16_t)(x->bsums[4 * p] + x->bsums[4 * p + 1]);
                            s[1] = (int16_t)(x->bsums[4 * p + 2] + x->bsums[4 * p + 3]);
                        }
                        std::memcpy(dst + kPKxs + (p * kL + lane) * 4, s, 4);
                    }
                }
            }
        }
    }
}

inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline void store32(void* p, __m256i v) { _mm256_storeu_si256(static_cast<__m256i*>(p), v); }
inline int32_t hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}
inline float h2f(uint16_t h) { return _cvtsh_ss(h); }
// Per 32-bit lane, the sum of its 4 bytes u (unsigned) times those of s (signed).
inline __m256i dot4(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }

// Unpacks weight rows row(0..kRW-1) (each k elements in wtype) into the tile.
template <typename RowFn>
void unpack(int32_t wtype, RowFn row, int64_t k, char* tile) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi8(1);
    if (wtype == SL4J_TYPE_Q4_0 || wtype == SL4J_TYPE_Q8_0) {
        for (int64_t b = 0; b < k / QK8_0; ++b) {
            char* t = tile + b * kT32;
            float* d = reinterpret_cast<float*>(t + kRW * 32);
            int32_t* corr = reinterpret_cast<int32_t*>(t + kRW * 36);
            for (int r = 0; r < kRW; ++r) {
                __m256i q;
                if (wtype == SL4J_TYPE_Q8_0) {
                    const block_q8_0& w = static_cast<const block_q8_0*>(row(r))[b];
                    q = load32(w.qs);
                    d[r] = h2f(w.d);
                } else {
                    const block_q4_0& w = static_cast<const block_q4_0*>(row(r))[b];
                    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.qs));
                    const __m128i lo = _mm_and_si128(v, _mm256_castsi256_si128(m4));
                    const __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), _mm256_castsi256_si128(m4));
                    q = _mm256_sub_epi8(_mm256_set_m128i(hi, lo), _mm256_set1_epi8(8));
                    d[r] = h2f(w.d);
                }
                store32(t + r * 32, q);
                corr[r] = -128 * hsum_i32(dot4(_mm256_setzero_si256(), ones, q));
            }
        }
        return;
    }
    for (int64_t b = 0; b < k / QK_K; ++b) {
        char* t = tile + b * kTK;
        KMeta* meta = reinterpret_cast<KMeta*>(t + kRW * 256);
        for (int r = 0; r < kRW; ++r) {
            int8_t* q = reinterpret_cast<int8_t*>(t + r * 256);
            KMeta& mt = meta[r];
            __m256i csum = _mm256_setzero_si256();  // sum of sc * q per lane
            if (wtype == SL4J_TYPE_Q6_K) {
                const block_q6_K& w = static_cast<const block_q6_K*>(row(r))[b];
                const __m256i m2 = _mm256_set1_epi8(3), m30 = _mm256_set1_epi8(0x30);
                for (int h = 0; h < 2; ++h) {
                    const __m256i la = load32(w.ql + 64 * h), lb = load32(w.ql + 64 * h + 32);
                    const __m256i qh = load32(w.qh + 32 * h);
                    __m256i u[4];
                    u[0] = _mm256_or_si256(_mm256_and_si256(la, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
                    u[1] = _mm256_or_si256(_mm256_and_si256(lb, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
                    u[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(la, 4), m4), _mm256_and_si256(qh, m30));
                    u[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lb, 4), m4),
                                           _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
                    for (int c = 0; c < 4; ++c) {  // elements 128h + 32c.., groups 8h + 2c and 8h + 2c + 1
                        const int8_t s0 = w.scales[8 * h + 2 * c], s1 = w.scales[8 * h + 2 * c + 1];
                        csum = dot4(csum, u[c], _mm256_set_m128i(_mm_set1_epi8(s1), _mm_set1_epi8(s0)));
                        store32(q + 128 * h + 32 * c, _mm256_sub_epi8(u[c], _mm256_set1_epi8(32)));
                    }
                }
                int32_t ssum = 0;
                for (int g = 0; g < 16; ++g) ssum += mt.sc[g] = w.scales[g];
                mt.corr = -128 * (hsum_i32(csum) - 32 * 16 * ssum);
                mt.d = h2f(w.d);
                mt.dmin = 0.0f;
                continue;
            }
            const bool five = wtype == SL4J_TYPE_Q5_K;
            const uint8_t* scales;
            const uint8_t* qs;
            uint16_t d, dmin;
            __m256i hb = _mm256_setzero_si256();
            if (five) {
                const block_q5_K& w = static_cast<const block_q5_K*>(row(r))[b];
                scales = w.scales, qs = w.qs, d = w.d, dmin = w.dmin;
                hb = load32(w.qh);
            } else {
                const block_q4_K& w = static_cast<const block_q4_K*>(row(r))[b];
                scales = w.scales, qs = w.qs, d = w.d, dmin = w.dmin;
            }
            uint8_t sc[8], m[8];
            for (int j = 0; j < 8; ++j) {
                get_scale_min_k4(j, scales, &sc[j], &m[j]);
                mt.sc[j] = sc[j];
            }
            for (int c = 0; c < 4; ++c) {
                const __m256i v = load32(qs + 32 * c);
                __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                if (five) {
                    lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(hb, ones), 4));
                    hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 1), ones), 4));
                    hb = _mm256_srli_epi16(hb, 2);
                }
                csum = dot4(csum, lo, _mm256_set1_epi8((char)sc[2 * c]));
                csum = dot4(csum, hi, _mm256_set1_epi8((char)sc[2 * c + 1]));
                store32(q + 64 * c, lo);
                store32(q + 64 * c + 32, hi);
            }
            mt.corr = -128 * hsum_i32(csum);
            mt.d = h2f(d);
            mt.dmin = h2f(dmin);
            for (int p = 0; p < 4; ++p) mt.mp[p] = (int32_t)m[2 * p] | ((int32_t)m[2 * p + 1] << 16);
        }
    }
}

inline __m512i bcast(const void* p) { return _mm512_set1_epi32(*static_cast<const int32_t*>(p)); }
inline __m512 bcastf(float f) { return _mm512_set1_ps(f); }

// Q4_0 / Q8_0: acc[r][g] += the products of tile rows r with panel group g, over nb blocks.
template <int G>
void kern32(const char* tile, const char* panel, int64_t gb, int64_t nb, __m512 (&acc)[kRW][kG]) {
    for (int64_t b = 0; b < nb; ++b) {
        const char* t = tile + b * kT32;
        const char* p = panel + b * kP32;
        const float* dw = reinterpret_cast<const float*>(t + kRW * 32);
        const int32_t* corr = reinterpret_cast<const int32_t*>(t + kRW * 36);
        __m512i s[kRW][kG];
        #pragma GCC unroll 8
        for (int r = 0; r < kRW; ++r)
            #pragma GCC unroll 2
            for (int g = 0; g < G; ++g) s[r][g] = _mm512_set1_epi32(corr[r]);
        #pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) {
            __m512i a[kG];
            #pragma GCC unroll 2
            for (int g = 0; g < G; ++g) a[g] = _mm512_loadu_si512(p + g * gb + j * 64);
            #pragma GCC unroll 8
            for (int r = 0; r < kRW; ++r) {
                const __m512i w = bcast(t + r * 32 + 4 * j);
                #pragma GCC unroll 2
                for (int g = 0; g < G; ++g) s[r][g] = _mm512_dpbusd_epi32(s[r][g], a[g], w);
            }
        }
        #pragma GCC unroll 2
        for (int g = 0; g < G; ++g) {
            const __m512 dx = _mm512_loadu_ps(p + g * gb + 512);
            #pragma GCC unroll 8
            for (int r = 0; r < kRW; ++r)
                acc[r][g] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[r][g]), _mm512_mul_ps(dx, bcastf(dw[r])), acc[r][g]);
        }
    }
}

// K-quants: kS sub-blocks of 256 / kS elements per block, with mins (Q4_K / Q5_K) or without (Q6_K).
template <int G, int kS, bool kMins>
void kernK(const char* tile, const char* panel, int64_t gb, int64_t nb, __m512 (&acc)[kRW][kG]) {
    constexpr int kD = 64 / kS;  // dwords per sub-block
    for (int64_t b = 0; b < nb; ++b) {
        const char* t = tile + b * kTK;
        const char* p = panel + b * kPK;
        const KMeta* meta = reinterpret_cast<const KMeta*>(t + kRW * 256);
        __m512i isum[kRW][kG];
        #pragma GCC unroll 8
        for (int r = 0; r < kRW; ++r)
            #pragma GCC unroll 2
            for (int g = 0; g < G; ++g) isum[r][g] = _mm512_set1_epi32(meta[r].corr);
        for (int sb = 0; sb < kS; ++sb) {
            __m512i s[kRW][kG];
            #pragma GCC unroll 8
            for (int r = 0; r < kRW; ++r)
                #pragma GCC unroll 2
                for (int g = 0; g < G; ++g) s[r][g] = _mm512_setzero_si512();
            #pragma GCC unroll 8
            for (int j = 0; j < kD; ++j) {
                const int jj = sb * kD + j;
                __m512i a[kG];
                #pragma GCC unroll 2
                for (int g = 0; g < G; ++g) a[g] = _mm512_loadu_si512(p + g * gb + jj * 64);
                #pragma GCC unroll 8
                for (int r = 0; r < kRW; ++r) {
                    const __m512i w = bcast(t + r * 256 + 4 * jj);
                    #pragma GCC unroll 2
                    for (int g = 0; g < G; ++g) s[r][g] = _mm512_dpbusd_epi32(s[r][g], a[g], w);
                }
            }
            #pragma GCC unroll 8
            for (int r = 0; r < kRW; ++r) {
                const __m512i sc = _mm512_set1_epi32(meta[r].sc[sb]);
                #pragma GCC unroll 2
                for (int g = 0; g < G; ++g) isum[r][g] = _mm512_add_epi32(isum[r][g], _mm512_mullo_epi32(s[r][g], sc));
            }
        }
        #pragma GCC unroll 2
        for (int g = 0; g < G; ++g) {
            const __m512 dx = _mm512_loadu_ps(p + g * gb + kPKd);
            #pragma GCC unroll 8
            for (int r = 0; r < kRW; ++r) {
                acc[r][g] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r][g]), _mm512_mul_ps(dx, bcastf(meta[r].d)),
                                            acc[r][g]);
                if (kMins) {
                    __m512i ms = _mm512_setzero_si512();
                    #pragma GCC unroll 8
                    for (int q = 0; q < 4; ++q)
                        ms = _mm512_dpwssd_epi32(ms, _mm512_loadu_si512(p + g * gb + kPKxs + q * 64),
                                                 _mm512_set1_epi32(meta[r].mp[q]));
                    acc[r][g] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(ms), _mm512_mul_ps(dx, bcastf(meta[r].dmin)),
                                                 acc[r][g]);
                }
            }
        }
    }
}

template <int G>
void run_tile(int32_t wtype, const char* tile, const char* panel, int64_t gb, int64_t k, __m512 (&acc)[kRW][kG]) {
    switch (wtype) {
        case SL4J_TYPE_Q4_0:
        case SL4J_TYPE_Q8_0: return kern32<G>(tile, panel, gb, k / QK8_0, acc);
        case SL4J_TYPE_Q4_K:
        case SL4J_TYPE_Q5_K: return kernK<G, 8, true>(tile, panel, gb, k / QK_K, acc);
        case SL4J_TYPE_Q6_K: return kernK<G, 16, false>(tile, panel, gb, k / QK_K, acc);
        default: SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "integer GEMM: weight type %d has no integer path", wtype);
    }
}

thread_local std::vector<char> t_tile;

void gemm(int32_t wtype, const void* w, int64_t wstride, int64_t rows, const void* panel, int64_t n, int64_t k,
          float* out, int64_t ldo) {
    const QAct a = cpu::qact_for(wtype);
    SL4J_CHECK_ARG(a != QAct::kNone, "integer GEMM: weight type %d has no integer path", wtype);
    const int64_t gb = group_bytes(a, k), ng = (n + kL - 1) / kL;
    const int64_t tb = a == QAct::kQ8_32 ? k / QK8_0 * kT32 : k / QK_K * kTK;
    if ((int64_t)t_tile.size() < tb) t_tile.resize((size_t)tb);
    char* tile = t_tile.data();
    const char* pb = static_cast<const char*>(panel);
    for (int64_t r0 = 0; r0 < rows; r0 += kRW) {
        const int nr = (int)std::min<int64_t>(kRW, rows - r0);
        // rows past the end repeat the last one (computed, not stored)
        unpack(wtype, [&](int r) -> const void* { return static_cast<const char*>(w) + (r0 + std::min(r, nr - 1)) * wstride; }, k,
               tile);
        for (int64_t g0 = 0; g0 < ng; g0 += kG) {
            const int G = (int)std::min<int64_t>(kG, ng - g0);
            __m512 acc[kRW][kG];
            for (auto& ar : acc)
                for (auto& v : ar) v = _mm512_setzero_ps();
            if (G == kG)
                run_tile<kG>(wtype, tile, pb + g0 * gb, gb, k, acc);
            else
                run_tile<1>(wtype, tile, pb + g0 * gb, gb, k, acc);
            alignas(64) float res[kL];
            for (int g = 0; g < G; ++g)
                for (int r = 0; r < nr; ++r) {
                    _mm512_store_ps(res, acc[r][g]);
                    const int64_t i0 = (g0 + g) * kL;
                    const int li = (int)std::min<int64_t>(kL, n - i0);
                    for (int l = 0; l < li; ++l) out[(i0 + l) * ldo + r0 + r] = res[l];
                }
        }
    }
}

}  // namespace

namespace sl4j::cpu {
const QGemm& qgemm_avx512vnni() {
    static const QGemm g{kL, panel_bytes, pack, gemm};
    return g;
}
}  // namespace sl4j::cpu
#else
namespace sl4j::cpu {
const QGemm& qgemm_avx512vnni() { SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "integer GEMM: AVX-512 VNNI needs x86-64"); }
}  // namespace sl4j::cpu
#endif
