// Finite-difference checks of every *_backward in ops_backward.h. Each op is re-implemented as a
// plain float64 reference; L = Σ c·f(x) for random c, the numerical gradient is a central
// difference of the float64 reference, and the analytic gradient is the float32 backward fed
// dout = c. Tolerance: max |analytic - numeric| ≤ 1e-4 · max |numeric| (float32 backward vs an
// exact float64 derivative; the differences seen are ~1e-6 relative).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <functional>
#include <string>
#include <vector>

#include "core/hash.h"
#include "core/types.h"
#include "cpu/kernels.h"
#include "cpu/simd.h"
#include "core/kernel_math.h"
#include "cpu/ops.h"
#include "cpu/ops_backward.h"
#include "cpu/ops_lora.h"
#include "quant/fp16.h"
#include "quant/quant.h"
#include "testing.h"
#include "train/lora.h"

using namespace sl4j;
using Vec = std::vector<double>;

namespace {

constexpr double kRelTol = 1e-4;

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 11) {}
    double uniform() {  // [-1, 1)
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return double(s >> 11) / double(1ull << 53) * 2.0 - 1.0;
    }
    Vec vec(size_t n, double scale = 1.0) {
        Vec v(n);
        for (auto& x : v) x = uniform() * scale;
        return v;
    }
};

std::vector<float> f32(const Vec& v) { return std::vector<float>(v.begin(), v.end()); }

// Compares the analytic gradient with central differences of L(x) = Σ c·f(x).
void check_grad(const char* what, const Vec& x0, const std::function<Vec(const Vec&)>& f, const Vec& c,
                const std::vector<float>& analytic) {
    Vec x = x0;
    double max_err = 0, max_ref = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double h = 1e-6 * std::max(1.0, std::fabs(x0[i]));
        x[i] = x0[i] + h;
        Vec yp = f(x);
        x[i] = x0[i] - h;
        Vec ym = f(x);
        x[i] = x0[i];
        double num = 0;
        for (size_t j = 0; j < c.size(); ++j) num += c[j] * (yp[j] - ym[j]);
        num /= 2 * h;
        max_err = std::max(max_err, std::fabs(num - analytic[i]));
        max_ref = std::max(max_ref, std::fabs(num));
    }
    if (!(max_err <= kRelTol * max_ref))
        std::fprintf(stderr, "    %s: max error %.3g vs max gradient %.3g\n", what, max_err, max_ref);
    CHECK(max_ref > 0);
    CHECK(max_err <= kRelTol * max_ref);
}

Vec ref_rmsnorm(const Vec& x, const Vec& w, int64_t rows, int64_t dim, double eps) {
    Vec y(x.size());
    for (int64_t r = 0; r < rows; ++r) {
        double ss = 0;
        for (int64_t i = 0; i < dim; ++i) ss += x[r * dim + i] * x[r * dim + i];
        double s = 1.0 / std::sqrt(ss / dim + eps);
        for (int64_t i = 0; i < dim; ++i) y[r * dim + i] = x[r * dim + i] * s * w[i];
    }
    return y;
}

Vec ref_rope(const Vec& x, const std::vector<float>& cs, int64_t rows, int64_t heads, int64_t hd, int64_t n_rot) {
    Vec y = x;
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t h = 0; h < heads; ++h)
            for (int64_t i = 0; i < n_rot; i += 2) {
                const int64_t o = (r * heads + h) * hd + i;
                const double c = cs[r * n_rot + i], s = cs[r * n_rot + i + 1];
                y[o] = x[o] * c - x[o + 1] * s;
                y[o + 1] = x[o] * s + x[o + 1] * c;
            }
    return y;
}

struct AttnShape {
    int64_t n_seq = 2, heads = 4, kv_heads = 2, hd = 4, T = 5;
    std::vector<int32_t> seq;
    std::vector<int64_t> pos, first;
    int64_t rows() const { return int64_t(seq.size()); }
    int64_t kv_dim() const { return kv_heads * hd; }
    int64_t stride() const { return T * kv_dim(); }
};

// Rows are laid out like a training batch: row (s, p) has k/v at s·T + p. Documents: sequence 1
// holds two packed documents, the second starting at position 2.
AttnShape attn_shape() {
    AttnShape a;
    for (int64_t s = 0; s < a.n_seq; ++s)
        for (int64_t p = 0; p < a.T; ++p) {
            a.seq.push_back(int32_t(s));
            a.pos.push_back(p);
            a.first.push_back(s == 1 && p >= 2 ? 2 : 0);
        }
    return a;
}

Vec ref_attention(const Vec& q, const Vec& k, const Vec& v, const AttnShape& a) {
    Vec out(size_t(a.rows() * a.heads * a.hd), 0.0);
    const int64_t group = a.heads / a.kv_heads;
    for (int64_t r = 0; r < a.rows(); ++r)
        for (int64_t h = 0; h < a.heads; ++h) {
            const int64_t base = a.seq[r] * a.stride() + (h / group) * a.hd;
            std::vector<double> sc;
            double mx = -1e300, sum = 0;
            for (int64_t p = a.first[r]; p <= a.pos[r]; ++p) {
                double d = 0;
                for (int64_t i = 0; i < a.hd; ++i) d += q[(r * a.heads + h) * a.hd + i] * k[base + p * a.kv_dim() + i];
                sc.push_back(d / std::sqrt(double(a.hd)));
                mx = std::max(mx, sc.back());
            }
            for (double& s : sc) sum += s = std::exp(s - mx);
            for (int64_t p = a.first[r]; p <= a.pos[r]; ++p)
                for (int64_t i = 0; i < a.hd; ++i)
                    out[(r * a.heads + h) * a.hd + i] += sc[p - a.first[r]] / sum * v[base + p * a.kv_dim() + i];
        }
    return out;
}

}  // namespace

TEST(grad_rmsnorm) {
    Rng g(1);
    const int64_t rows = 3, dim = 16;
    const double eps = 1e-5;
    Vec x = g.vec(rows * dim), w = g.vec(dim), c = g.vec(rows * dim);
    auto xf = f32(x), wf = f32(w), cf = f32(c);
    std::vector<float> out(rows * dim), inv(rows), dx(rows * dim, 0.f);
    cpu::rmsnorm_forward(out.data(), inv.data(), xf.data(), wf.data(), rows, dim, float(eps));
    cpu::rmsnorm_backward(dx.data(), cf.data(), xf.data(), wf.data(), inv.data(), rows, dim);
    check_grad("rmsnorm", x, [&](const Vec& xx) { return ref_rmsnorm(xx, w, rows, dim, eps); }, c, dx);
}

TEST(grad_rmsnorm_weight) {
    Rng g(11);
    const int64_t rows = 5, dim = 16;
    const double eps = 1e-5;
    Vec x = g.vec(rows * dim), w = g.vec(dim), c = g.vec(rows * dim);
    auto xf = f32(x), wf = f32(w), cf = f32(c);
    std::vector<float> out(rows * dim), inv(rows), dw(dim, 0.f), dw_scaled(dim, 2.f);
    cpu::rmsnorm_forward(out.data(), inv.data(), xf.data(), wf.data(), rows, dim, float(eps));
    cpu::rmsnorm_weight_backward(dw.data(), cf.data(), xf.data(), inv.data(), rows, dim, 1.f);
    check_grad("rmsnorm weight", w, [&](const Vec& ww) { return ref_rmsnorm(x, ww, rows, dim, eps); }, c, dw);
    // Accumulates, scaled by alpha.
    cpu::rmsnorm_weight_backward(dw_scaled.data(), cf.data(), xf.data(), inv.data(), rows, dim, 0.25f);
    for (int64_t i = 0; i < dim; ++i) CHECK_NEAR(dw_scaled[i], 2.f + 0.25f * dw[i], 1e-6);
}

TEST(grad_rmsnorm_accumulates) {
    std::vector<float> x = {1, 2, 3, 4}, w = {1, 1, 1, 1}, out(4), inv(1), dout = {0, 0, 0, 0};
    std::vector<float> dx = {5, 6, 7, 8};
    cpu::rmsnorm_forward(out.data(), inv.data(), x.data(), w.data(), 1, 4, 1e-5f);
    cpu::rmsnorm_backward(dx.data(), dout.data(), x.data(), w.data(), inv.data(), 1, 4);
    CHECK_NEAR(dx[0], 5, 0);
    CHECK_NEAR(dx[3], 8, 0);
}

TEST(grad_rope_partial_rotation) {
    Rng g(2);
    const int64_t rows = 3, heads = 2, hd = 8, n_rot = 6;
    std::vector<int64_t> pos = {0, 5, 17};
    std::vector<float> cs(rows * n_rot);
    cpu::rope_cache_forward(cs.data(), pos.data(), rows, n_rot, 10000.0, 1.0, nullptr);
    Vec x = g.vec(rows * heads * hd), c = g.vec(x.size());
    std::vector<float> dx = f32(c);
    cpu::rope_backward(dx.data(), cs.data(), rows, heads, hd, n_rot);
    check_grad("rope", x, [&](const Vec& xx) { return ref_rope(xx, cs, rows, heads, hd, n_rot); }, c, dx);
}

TEST(grad_swiglu) {
    Rng g(3);
    const int64_t n = 40;
    Vec gate = g.vec(n, 4.0), up = g.vec(n), c = g.vec(n);
    auto gf = f32(gate), uf = f32(up), cf = f32(c);
    std::vector<float> dg(n), du(n);
    cpu::swiglu_backward(dg.data(), du.data(), cf.data(), gf.data(), uf.data(), n);
    auto ref = [&](const Vec& gg, const Vec& uu) {
        Vec y(n);
        for (int64_t i = 0; i < n; ++i) y[i] = gg[i] / (1 + std::exp(-gg[i])) * uu[i];
        return y;
    };
    check_grad("swiglu/gate", gate, [&](const Vec& gg) { return ref(gg, up); }, c, dg);
    check_grad("swiglu/up", up, [&](const Vec& uu) { return ref(gate, uu); }, c, du);
}

TEST(grad_residual) {
    std::vector<float> dy = {1, 2}, dx = {10, 20};
    cpu::residual_backward(dy.data(), dx.data(), 2);
    CHECK_NEAR(dy[0], 11, 0);
    CHECK_NEAR(dy[1], 22, 0);
}

TEST(grad_attention_causal_gqa_documents) {
    Rng g(4);
    AttnShape a = attn_shape();
    Vec q = g.vec(a.rows() * a.heads * a.hd, 2.0), k = g.vec(a.n_seq * a.stride(), 2.0),
        v = g.vec(a.n_seq * a.stride()), c = g.vec(q.size());
    auto qf = f32(q), kf = f32(k), vf = f32(v), cf = f32(c);
    std::vector<float> out(q.size()), dq(q.size()), dk(k.size(), 0.f), dv(v.size(), 0.f);
    cpu::attention_forward(out.data(), qf.data(), kf.data(), vf.data(), a.seq.data(), a.pos.data(), a.first.data(),
                           a.rows(), a.heads, a.kv_heads, a.hd, a.stride());
    Vec ref = ref_attention(q, k, v, a);
    for (size_t i = 0; i < ref.size(); ++i) CHECK_NEAR(out[i], ref[i], 1e-5);
    cpu::attention_backward(dq.data(), dk.data(), dv.data(), cf.data(), qf.data(), kf.data(), vf.data(), a.seq.data(),
                            a.pos.data(), a.first.data(), a.rows(), a.n_seq, a.heads, a.kv_heads, a.hd, a.stride());
    check_grad("attention/q", q, [&](const Vec& x) { return ref_attention(x, k, v, a); }, c, dq);
    check_grad("attention/k", k, [&](const Vec& x) { return ref_attention(q, x, v, a); }, c, dk);
    check_grad("attention/v", v, [&](const Vec& x) { return ref_attention(q, k, x, a); }, c, dv);
    // Document isolation: the key of sequence 1 position 0 is invisible to rows at positions >= 2.
    CHECK(dk[a.stride() + 0] != 0.f);
}

// The F16 cache's attention decodes keys and values once per run of rows on one (sequence, kv head)
// and reuses them; it must equal, bit for bit, F32 attention over the decoded cache, for rows in
// prefill order (one sequence, growing positions), rows of three sequences interleaved (every row
// a new decode) and packed documents (a row's first position past the decoded start).
TEST(attention_f16_equals_f32_attention_on_the_decoded_cache) {
    Rng g(21);
    const int64_t n_seq = 3, T = 40, heads = 4, kv_heads = 2, hd = 32, kv_dim = kv_heads * hd, stride = T * kv_dim;
    Vec kc = g.vec(n_seq * stride, 2.0), vc = g.vec(n_seq * stride, 2.0);
    std::vector<uint16_t> k16(kc.size()), v16(vc.size());
    std::vector<float> kd(kc.size()), vd(vc.size());
    for (size_t i = 0; i < kc.size(); ++i) {
        k16[i] = f32_to_half(float(kc[i]));
        v16[i] = f32_to_half(float(vc[i]));
        kd[i] = half_to_f32(k16[i]);
        vd[i] = half_to_f32(v16[i]);
    }
    for (int order = 0; order < 2; ++order) {
        std::vector<int32_t> seq;
        std::vector<int64_t> pos, first;
        if (order == 0) {  // a prefill of sequence 1, its second document starting at position 17
            for (int64_t p = 0; p < T; ++p) seq.push_back(1), pos.push_back(p), first.push_back(p >= 17 ? 17 : 0);
        } else {  // three sequences interleaved
            for (int64_t p = 0; p < T; ++p)
                for (int32_t s = 0; s < n_seq; ++s) seq.push_back(s), pos.push_back(p), first.push_back(s == 2 ? p / 2 : 0);
        }
        const int64_t rows = int64_t(seq.size());
        Vec q = g.vec(rows * heads * hd, 2.0);
        auto qf = f32(q);
        std::vector<float> out16(qf.size()), out32(qf.size());
        cpu::attention_forward_f16(out16.data(), qf.data(), k16.data(), v16.data(), seq.data(), pos.data(), first.data(),
                                   rows, heads, kv_heads, hd, stride);
        cpu::attention_forward(out32.data(), qf.data(), kd.data(), vd.data(), seq.data(), pos.data(), first.data(), rows,
                               heads, kv_heads, hd, stride);
        int64_t diff = 0;
        for (size_t i = 0; i < out16.size(); ++i) diff += out16[i] != out32[i];
        CHECK_EQ(diff, 0);
    }
}

// The fast precision's SwiGLU (the exponential on vectors) against swiglu_elem, per SIMD level:
// within 4e-7 relative over gate values across [-90, 90] (1e-36 absolute where the output
// underflows), signs and zeros kept, NaN propagated.
TEST(swiglu_fast_within_a_few_ulp_of_the_exact_formula) {
    std::vector<float> g, u;
    for (int i = -90000; i <= 90000; ++i) g.push_back(float(i) * 1e-3f), u.push_back(1.0f + float(i % 7) * 0.25f);
    for (float v : {0.f, -0.f, 1e-30f, -1e-30f, 87.5f, -87.5f, 88.5f, -88.5f, 200.f, -200.f}) g.push_back(v), u.push_back(-2.f);
    g.push_back(std::numeric_limits<float>::quiet_NaN()), u.push_back(1.f);
    const int64_t n = int64_t(g.size());
    std::vector<float> out(static_cast<size_t>(n));
    for (cpu::Simd level : {cpu::Simd::kScalar, cpu::Simd::kAvx2, cpu::Simd::kAvx512}) {
        if (level > cpu::simd_detected()) continue;
        cpu::kernels_for(level).swiglu_fast(out.data(), g.data(), u.data(), n);
        double worst = 0;
        int64_t bad = 0;
        for (int64_t i = 0; i + 1 < n; ++i) {
            const double ref = double(swiglu_elem(g[size_t(i)], u[size_t(i)]));
            const double err = std::fabs(double(out[size_t(i)]) - ref);
            if (err > 4e-7 * std::fabs(ref) + 1e-36) ++bad;
            if (std::fabs(ref) > 1e-30) worst = std::max(worst, err / std::fabs(ref));
        }
        std::printf("  %s: worst relative error %.3g\n", cpu::simd_name(level), worst);
        CHECK_EQ(bad, 0);
        CHECK(std::isnan(out[size_t(n - 1)]));
    }
    // the op itself: fast through the level's kernel, exact through swiglu_elem
    std::vector<float> f(static_cast<size_t>(n)), e(static_cast<size_t>(n));
    cpu::swiglu_forward(f.data(), g.data(), u.data(), n, true);
    cpu::swiglu_forward(e.data(), g.data(), u.data(), n, false);
    cpu::kernels_for(cpu::simd()).swiglu_fast(out.data(), g.data(), u.data(), n);
    int64_t diff_fast = 0, diff_exact = 0;
    for (int64_t i = 0; i + 1 < n; ++i) {
        diff_fast += f[size_t(i)] != out[size_t(i)];
        diff_exact += e[size_t(i)] != swiglu_elem(g[size_t(i)], u[size_t(i)]);
    }
    CHECK_EQ(diff_fast, 0);
    CHECK_EQ(diff_exact, 0);
}

// The KV cache's F16 writer (SIMD where the CPU has F16C) is the scalar encoder bit for bit: rounding
// ties to even, subnormals, overflow to infinity, infinities and NaNs.
TEST(copy_rows_f16_equals_the_scalar_encoder) {
    std::vector<float> src;
    const float specials[] = {0.f, -0.f, 1.f, 65504.f, 65519.f, 65520.f, 1e9f, -1e9f, 6.1e-5f, 5.96e-8f, 2.98e-8f,
                              2.99e-8f, 1e-40f, std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()};
    for (float f : specials) src.push_back(f);
    uint32_t snan = 0x7f800001u, nan_payload = 0xffc12345u;
    float f;
    std::memcpy(&f, &snan, 4), src.push_back(f);
    std::memcpy(&f, &nan_payload, 4), src.push_back(f);
    for (uint32_t h = 0; h < 0x7c00u; h += 7) {  // exact halves and the ties between neighbours
        const float a = half_to_f32(uint16_t(h)), b = half_to_f32(uint16_t(h + 1));
        src.push_back(a), src.push_back(-(a + b) / 2), src.push_back(std::nextafter((a + b) / 2, 1e9f));
    }
    Rng g(22);
    while (src.size() % 96 != 0) src.push_back(float(g.uniform() * 3.0));
    const int64_t row_len = 96, rows = int64_t(src.size()) / row_len;
    std::vector<int64_t> offsets(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) offsets[size_t(r)] = (rows - 1 - r) * (row_len + 5);  // reversed, with gaps
    std::vector<uint16_t> dst(static_cast<size_t>(rows * (row_len + 5)), 0xABCD);
    cpu::copy_rows_f16(dst.data(), offsets.data(), src.data(), rows, row_len);
    int64_t diff = 0;
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < row_len; ++j) diff += dst[offsets[r] + j] != f32_to_half(src[r * row_len + j]);
    CHECK_EQ(diff, 0);
    CHECK_EQ(dst[row_len], 0xABCD);  // the gap after the last row written stays as it was
}

TEST(grad_linear_output_projection_quantized) {
    Rng g(5);
    const int64_t n = 3, k = 64, m = 5;
    for (int32_t type : {int32_t(0), int32_t(8)}) {  // F32, Q8_0
        Vec wsrc = g.vec(m * k);
        std::vector<float> wf = f32(wsrc), wdq(m * k);
        std::vector<uint8_t> wq(size_t(m * type_row_bytes(type, k)));
        for (int64_t r = 0; r < m; ++r) {
            quantize_row(type, wf.data() + r * k, wq.data() + r * type_row_bytes(type, k), k);
            dequantize_row(type, wq.data() + r * type_row_bytes(type, k), wdq.data() + r * k, k);
        }
        Vec x = g.vec(n * k), c = g.vec(n * m);
        auto cf = f32(c);
        std::vector<float> dx(n * k);
        cpu::linear_backward(dx.data(), cf.data(), wq.data(), type, n, k, m);
        check_grad(type == 0 ? "linear/f32" : "linear/q8_0", x,
                   [&](const Vec& xx) {
                       Vec y(n * m, 0.0);
                       for (int64_t i = 0; i < n; ++i)
                           for (int64_t r = 0; r < m; ++r)
                               for (int64_t j = 0; j < k; ++j) y[i * m + r] += xx[i * k + j] * double(wdq[r * k + j]);
                       return y;
                   },
                   c, dx);
    }
}

TEST(grad_crossentropy_masked_mean) {
    Rng g(6);
    const int64_t rows = 4, V = 11;
    Vec logits = g.vec(rows * V, 3.0);
    std::vector<int32_t> targets = {3, cpu::kIgnoreIndex, 0, 10};
    auto lf = f32(logits);
    std::vector<float> losses(rows), dl(rows), d(rows * V);
    int64_t counted = cpu::crossentropy_forward(losses.data(), lf.data(), targets.data(), rows, V);
    CHECK_EQ(counted, int64_t(3));
    CHECK_NEAR(losses[1], 0, 0);
    for (int64_t r = 0; r < rows; ++r) dl[r] = 1.f / float(counted);
    cpu::crossentropy_backward(d.data(), lf.data(), targets.data(), dl.data(), rows, V);
    auto mean_ce = [&](const Vec& l) {
        double total = 0;
        for (int64_t r = 0; r < rows; ++r) {
            if (targets[r] == cpu::kIgnoreIndex) continue;
            double mx = -1e300, s = 0;
            for (int64_t i = 0; i < V; ++i) mx = std::max(mx, l[r * V + i]);
            for (int64_t i = 0; i < V; ++i) s += std::exp(l[r * V + i] - mx);
            total += std::log(s) + mx - l[r * V + targets[r]];
        }
        return Vec{total / 3.0};
    };
    double fwd = 0;
    for (float x : losses) fwd += x;
    CHECK_NEAR(fwd / 3.0, mean_ce(logits)[0], 1e-5);
    check_grad("crossentropy", logits, mean_ce, Vec{1.0}, d);
    std::vector<int32_t> bad = {V, 0, 0, 0};
    EXPECT_THROWS(cpu::crossentropy_forward(losses.data(), lf.data(), bad.data(), rows, V));
}

TEST(grad_embedding_table) {
    Rng g(7);
    const int64_t V = 6, dim = 4, n = 5;
    std::vector<int32_t> tokens = {1, 4, 1, 0, 5};
    Vec table = g.vec(V * dim), c = g.vec(n * dim);
    auto cf = f32(c);
    std::vector<float> dt(V * dim, 0.f);
    // Row 1 is named twice: the scatter-add must sum both. alpha = 0.5 on a table holding 1.
    std::vector<float> dt_half(V * dim, 1.f);
    cpu::embedding_backward(dt.data(), cf.data(), tokens.data(), n, dim, 1.f);
    cpu::embedding_backward(dt_half.data(), cf.data(), tokens.data(), n, dim, 0.5f);
    for (int64_t i = 0; i < V * dim; ++i) CHECK_NEAR(dt_half[i], 1.f + 0.5f * dt[i], 1e-6);
    check_grad("embedding", table,
               [&](const Vec& t) {
                   Vec y(n * dim);
                   for (int64_t r = 0; r < n; ++r)
                       for (int64_t i = 0; i < dim; ++i) y[r * dim + i] = t[tokens[r] * dim + i];
                   return y;
               },
               c, dt);
}

TEST(grad_lora_linear_with_dropout) {
    // y = scale·B·A·drop(x). The mask is read back from the op itself (A = B = I, x = 1 gives
    // y = mask/(1-p)); the float64 reference then uses that fixed mask.
    Rng g(8);
    const int64_t n = 3, in = 6, r = 2, out = 5;
    const float p = 0.3f, scale = 2.f;
    const uint64_t seed = 77;
    auto be = make_cpu_backend();
    LoraScratch s;  // its buffers are be's: released before it
    LoraTensor I1 = make_param_tensor(*be, "I1", in, in), I2 = make_param_tensor(*be, "I2", in, in);
    for (int64_t i = 0; i < in; ++i) I1.w[i * in + i] = 1.f;
    I2.w = I1.w.download();
    std::vector<float> ones(n * in, 1.f), mask(n * in, 0.f), uu(n * in);
    lora_forward(*be, mask.data(), uu.data(), ones.data(), I1, I2, 1.f, p, seed, n, s);
    int dropped = 0;
    for (float& m : mask) {
        dropped += m == 0.f;
        m *= (1.f - p);
    }
    CHECK(dropped > 0 && dropped < n * in);

    LoraTensor A = make_param_tensor(*be, "A", r, in), B = make_param_tensor(*be, "B", out, r);
    Vec a = g.vec(r * in), b = g.vec(out * r), x = g.vec(n * in), c = g.vec(n * out);
    A.w = f32(a); B.w = f32(b);
    auto xf = f32(x), cf = f32(c);
    std::vector<float> y(n * out, 0.f), u(n * r), dx(n * in, 0.f);
    lora_forward(*be, y.data(), u.data(), xf.data(), A, B, scale, p, seed, n, s);
    lora_backward(*be, dx.data(), A, B, cf.data(), xf.data(), u.data(), scale, p, seed, 1.f, n, s);
    auto ref = [&](const Vec& aa, const Vec& bb, const Vec& xx) {
        Vec yy(n * out, 0.0);
        for (int64_t i = 0; i < n; ++i)
            for (int64_t o = 0; o < out; ++o)
                for (int64_t k = 0; k < r; ++k) {
                    double ui = 0;
                    for (int64_t j = 0; j < in; ++j) ui += aa[k * in + j] * xx[i * in + j] * mask[i * in + j] / (1.0 - p);
                    yy[i * out + o] += scale * bb[o * r + k] * ui;
                }
        return yy;
    };
    check_grad("lora/A", a, [&](const Vec& v) { return ref(v, b, x); }, c, A.grad);
    check_grad("lora/B", b, [&](const Vec& v) { return ref(a, v, x); }, c, B.grad);
    check_grad("lora/x", x, [&](const Vec& v) { return ref(a, b, v); }, c, dx);
}

TEST(dropout_mask_is_the_documented_one) {
    // Element i is kept when double(mix64(seed ^ mix64(i))) >= p·2^64 (ops_lora.h): the kernels
    // compare integers against a precomputed threshold, which must select exactly the same
    // elements, in the forward and in the backward, for small, large and extreme p.
    const int64_t n = 200003;
    std::vector<float> x((size_t)n), xd((size_t)n), dx((size_t)n);
    for (int64_t i = 0; i < n; ++i) x[(size_t)i] = 1.f + float(i % 7);
    for (float p : {1e-9f, 0.05f, 0.1f, 0.3f, 0.5f, 0.9f, 0.999999f}) {
        for (uint64_t seed : {uint64_t(1), uint64_t(0xDEADBEEFCAFEull)}) {
            cpu::dropout_forward(xd.data(), x.data(), p, seed, n);
            std::fill(dx.begin(), dx.end(), 0.5f);
            cpu::dropout_backward(dx.data(), x.data(), p, seed, n);
            const float keep_scale = 1.f / (1.f - p);
            int64_t wrong = 0, kept_count = 0;
            for (int64_t i = 0; i < n; ++i) {
                const bool keep = double(mix64(seed ^ mix64(uint64_t(i)))) >= double(p) * 18446744073709551616.0;
                kept_count += keep;
                wrong += xd[(size_t)i] != (keep ? x[(size_t)i] * keep_scale : 0.f);
                wrong += dx[(size_t)i] != (keep ? 0.5f + x[(size_t)i] * keep_scale : 0.5f);
            }
            CHECK_EQ(wrong, (int64_t)0);
            CHECK_NEAR(double(kept_count) / double(n), 1.0 - double(p), 5e-3);
        }
    }
}
