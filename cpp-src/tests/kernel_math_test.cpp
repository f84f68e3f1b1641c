// The shared host/device formulas (quant/dequant_group.h, core/kernel_math.h), compiled here
// with g++ exactly as the CUDA kernels include them: dequantisation groups bit-for-bit against
// the AVX2 row decoders (an independent implementation), the op formulas against float64
// references, and the GPU's reduction orders (pairwise sums, online softmax over 32-key blocks)
// against the CPU kernels within stated tolerances.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "core/kernel_math.h"
#include "core/types.h"
#include "cpu/kernels.h"
#include "cpu/ops.h"
#include "cpu/ops_backward.h"
#include "cpu/simd.h"
#include "quant/dequant_group.h"
#include "quant/quant.h"
#include "testing.h"
#include "train/adamw.h"

using namespace sl4j;

namespace {

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 2654435761u + 7) {}
    float uniform() {  // [-1, 1)
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return float(uint32_t(s >> 33)) / 2147483648.0f - 1.0f;
    }
};

std::vector<float> random_floats(int64_t n, uint64_t seed, float scale = 1.f) {
    Rng r(seed);
    std::vector<float> v(size_t(n), 0.f);
    for (float& x : v) x = scale * r.uniform();
    return v;
}

template <int TYPE>
std::vector<float> decode_by_groups(const std::vector<uint8_t>& row, int64_t n) {
    std::vector<float> y(size_t(n), 0.f);
    for (int64_t g = 0; g < n / kGroup; ++g) dequant_group<TYPE>(row.data(), g, y.data() + g * kGroup);
    return y;
}

template <int TYPE>
void check_groups_against_row_decoders() {
    const int64_t n = 4 * 256;
    const auto x = random_floats(n, 11 + TYPE, 3.f);
    std::vector<uint8_t> row(size_t(type_row_bytes(TYPE, n)), 0);
    const bool encoded = can_quantize(TYPE);
    if (encoded) {
        quantize_row(TYPE, x.data(), row.data(), n);
    } else {  // no encoder (Q5_K): random bits with finite half scales d = 0.1, dmin = 0.05 up front
        Rng r(5 + TYPE);
        for (uint8_t& b : row) b = uint8_t(r.uniform() * 128 + 128);
        static_assert(sizeof(block_q5_K) == 176, "");
        for (size_t b = 0; b < row.size(); b += sizeof(block_q5_K)) {
            const uint16_t d = f32_to_fp16(0.1f), dmin = f32_to_fp16(0.05f);
            std::memcpy(&row[b], &d, 2);
            std::memcpy(&row[b + 2], &dmin, 2);
        }
    }
    const auto by_group = decode_by_groups<TYPE>(row, n);
    // AVX2 has its own SIMD decoders for the quant types; the scalar table is the portable path.
    std::vector<float> simd(size_t(n), 0.f), scalar(size_t(n), 0.f);
    cpu::kernels_for(cpu::simd()).dequant(TYPE, row.data(), simd.data(), n);
    cpu::kernels_scalar().dequant(TYPE, row.data(), scalar.data(), n);
    int64_t diff_simd = 0, diff_scalar = 0;
    for (int64_t i = 0; i < n; ++i) {
        diff_simd += std::memcmp(&by_group[size_t(i)], &simd[size_t(i)], 4) != 0;
        diff_scalar += std::memcmp(&by_group[size_t(i)], &scalar[size_t(i)], 4) != 0;
    }
    if (diff_simd != 0 || diff_scalar != 0)
        std::fprintf(stderr, "    type %d: %lld/%lld differ from SIMD, %lld from scalar\n", TYPE, (long long)diff_simd,
                     (long long)n, (long long)diff_scalar);
    CHECK_EQ(diff_simd, int64_t(0));
    CHECK_EQ(diff_scalar, int64_t(0));
    // And the decoded values approximate the input (a wrong group order would not).
    if (!encoded) return;
    double err = 0, mag = 0;
    for (int64_t i = 0; i < n; ++i) {
        err += std::fabs(double(by_group[size_t(i)]) - x[size_t(i)]);
        mag += std::fabs(double(x[size_t(i)]));
    }
    CHECK(err / mag < (TYPE == SL4J_TYPE_Q4_0 || TYPE == SL4J_TYPE_Q4_K ? 0.12 : 0.05));
}

// Pairwise (tree) sum, the order a GPU block reduction adds in.
double tree_sum(const std::vector<double>& v, size_t lo, size_t hi) {
    if (hi - lo == 1) return v[lo];
    const size_t mid = lo + (hi - lo) / 2;
    return tree_sum(v, lo, mid) + tree_sum(v, mid, hi);
}

}  // namespace

TEST(dequant_groups_match_the_row_decoders_bit_for_bit) {
    check_groups_against_row_decoders<SL4J_TYPE_F16>();
    check_groups_against_row_decoders<SL4J_TYPE_BF16>();
    check_groups_against_row_decoders<SL4J_TYPE_Q8_0>();
    check_groups_against_row_decoders<SL4J_TYPE_Q4_0>();
    check_groups_against_row_decoders<SL4J_TYPE_Q4_K>();
    check_groups_against_row_decoders<SL4J_TYPE_Q5_K>();
    check_groups_against_row_decoders<SL4J_TYPE_Q6_K>();
}

// One RMSNorm row from the shared formulas with a GPU-order (pairwise) sum of squares, against
// cpu::rmsnorm_forward and a float64 reference: relative 1e-6 (float rounding of x·s·w).
TEST(rmsnorm_formulas_in_gpu_order_match_the_cpu_kernel) {
    const int64_t dim = 1000;
    const auto x = random_floats(dim, 3, 4.f), w = random_floats(dim, 4);
    std::vector<float> cpu_out(static_cast<size_t>(dim)), gpu_order(static_cast<size_t>(dim));
    float cpu_s = 0;
    cpu::rmsnorm_forward(cpu_out.data(), &cpu_s, x.data(), w.data(), 1, dim, 1e-5f);
    std::vector<double> sq(static_cast<size_t>(dim));
    for (int64_t i = 0; i < dim; ++i) sq[size_t(i)] = double(x[size_t(i)]) * x[size_t(i)];
    const double ss = tree_sum(sq, 0, sq.size());
    const float s = rmsnorm_inv_rms(ss, dim, 1e-5f);
    for (int64_t i = 0; i < dim; ++i) gpu_order[size_t(i)] = rmsnorm_elem(x[size_t(i)], s, w[size_t(i)]);
    const double ref_s = 1.0 / std::sqrt(ss / dim + 1e-5);
    CHECK_NEAR(s, ref_s, 1e-6 * ref_s);
    CHECK_NEAR(cpu_s, ref_s, 1e-6 * ref_s);
    for (int64_t i = 0; i < dim; ++i) {
        const double ref = double(x[size_t(i)]) * ref_s * w[size_t(i)];
        CHECK_NEAR(gpu_order[size_t(i)], ref, 1e-6 * std::fabs(ref) + 1e-12);
        CHECK_NEAR(cpu_out[size_t(i)], gpu_order[size_t(i)], 1e-6 * std::fabs(ref) + 1e-12);
    }
    // Backward: the shared element formula against a float64 derivative of y = x·s(x)·w.
    const auto g = random_floats(dim, 5);
    std::vector<double> gwx(static_cast<size_t>(dim));
    for (int64_t i = 0; i < dim; ++i) gwx[size_t(i)] = double(g[size_t(i)]) * w[size_t(i)] * x[size_t(i)];
    const double c = rmsnorm_backward_coef(tree_sum(gwx, 0, gwx.size()), s, dim);
    std::vector<float> dx_cpu(size_t(dim), 0.f);
    cpu::rmsnorm_backward(dx_cpu.data(), g.data(), x.data(), w.data(), &cpu_s, 1, dim);
    double dot = 0;
    for (int64_t i = 0; i < dim; ++i) dot += gwx[size_t(i)];
    for (int64_t j = 0; j < dim; ++j) {
        const double ref = double(g[size_t(j)]) * w[size_t(j)] * ref_s - dot * ref_s * ref_s * ref_s / dim * x[size_t(j)];
        const float mine = rmsnorm_backward_elem(g[size_t(j)], w[size_t(j)], x[size_t(j)], s, c);
        CHECK_NEAR(mine, ref, 1e-5 * (std::fabs(ref) + 1e-3));
        CHECK_NEAR(dx_cpu[size_t(j)], mine, 1e-5 * (std::fabs(ref) + 1e-3));
    }
}

// RoPE angle with linear scaling and Llama-3 frequency factors against a float64 reference, the
// CPU cache against the per-pair formula bit-for-bit, and rotate-then-inverse restoring x.
TEST(rope_pair_formula_with_scaling_and_freq_factors) {
    const int64_t n_rot = 64, half = n_rot / 2;
    std::vector<float> ff(static_cast<size_t>(half));
    for (int64_t i = 0; i < half; ++i) ff[size_t(i)] = i < 8 ? 1.f : (i < 24 ? 1.f + float(i - 8) * 0.4375f : 8.f);
    const int64_t pos[2] = {0, 1234};
    std::vector<float> cs(static_cast<size_t>(2 * n_rot));
    cpu::rope_cache_forward(cs.data(), pos, 2, n_rot, 500000.0, 4.0, ff.data());
    for (int r = 0; r < 2; ++r)
        for (int64_t i = 0; i < half; ++i) {
            const double ref = (double(pos[r]) / 4.0) * std::pow(500000.0, -2.0 * double(i) / double(n_rot)) / ff[size_t(i)];
            const double theta = rope_theta(pos[r], i, n_rot, 500000.0, 4.0, ff[size_t(i)]);
            CHECK_NEAR(theta, ref, 1e-12 * (std::fabs(ref) + 1));
            CHECK_EQ(cs[size_t(r * n_rot + 2 * i)], float(std::cos(theta)));
            CHECK_EQ(cs[size_t(r * n_rot + 2 * i + 1)], float(std::sin(theta)));
        }
    float a = 0.3f, b = -1.7f;
    const float c = cs[size_t(n_rot + 2)], s = cs[size_t(n_rot + 3)];
    rope_rotate_pair(&a, &b, c, s);
    CHECK_NEAR(a, 0.3 * double(c) + 1.7 * double(s), 1e-6);
    CHECK_NEAR(b, 0.3 * double(s) - 1.7 * double(c), 1e-6);
    rope_rotate_pair(&a, &b, c, -s);
    CHECK_NEAR(a, 0.3, 1e-6);
    CHECK_NEAR(b, -1.7, 1e-6);
}

// Online softmax over 32-key blocks (the GPU attention's order) and one key at a time, against
// the CPU's two-pass attention_probs followed by the weighted sum of values: relative 1e-5.
TEST(online_softmax_matches_the_two_pass_attention_row) {
    const int64_t count = 203, hd = 16;
    const auto q = random_floats(hd, 21, 2.f), k = random_floats(count * hd, 22, 2.f), v = random_floats(count * hd, 23);
    const float scale = 0.25f;
    std::vector<float> p(static_cast<size_t>(count));
    cpu::attention_probs(p.data(), q.data(), k.data(), hd, count, hd, scale);
    std::vector<double> ref(size_t(hd), 0.0);
    for (int64_t j = 0; j < count; ++j)
        for (int64_t d = 0; d < hd; ++d) ref[size_t(d)] += double(p[size_t(j)]) * v[size_t(j * hd + d)];
    for (int block : {1, 32}) {
        float m = -INFINITY, l = 0;
        std::vector<float> acc(size_t(hd), 0.f);
        for (int64_t j0 = 0; j0 < count; j0 += block) {
            const int64_t j1 = std::min<int64_t>(count, j0 + block);
            std::vector<float> s(static_cast<size_t>(j1 - j0));
            float bmax = -INFINITY;
            for (int64_t j = j0; j < j1; ++j) {
                float dot = 0;
                for (int64_t d = 0; d < hd; ++d) dot += q[size_t(d)] * k[size_t(j * hd + d)];
                s[size_t(j - j0)] = dot * scale;
                bmax = std::max(bmax, s[size_t(j - j0)]);
            }
            const float a = online_softmax_rescale(&m, &l, bmax);
            for (float& x : acc) x *= a;
            for (int64_t j = j0; j < j1; ++j) {
                const float pj = expf(s[size_t(j - j0)] - m);
                l += pj;
                for (int64_t d = 0; d < hd; ++d) acc[size_t(d)] += pj * v[size_t(j * hd + d)];
            }
        }
        for (int64_t d = 0; d < hd; ++d) CHECK_NEAR(acc[size_t(d)] / l, ref[size_t(d)], 1e-5 * (std::fabs(ref[size_t(d)]) + 0.1));
    }
}

// AdamW element over 5 steps against PyTorch's formula in float64 (relative 1e-5), and
// adamw_update (the CPU optimizer) equal to the element formula bit-for-bit.
TEST(adamw_element_matches_float64_adamw) {
    AdamWParams a;
    a.lr = 1e-2f;
    a.weight_decay = 0.1f;
    const int n = 64;
    auto p = random_floats(n, 31), m = std::vector<float>(n, 0.f), v = std::vector<float>(n, 0.f);
    std::vector<float> p2 = p, m2 = m, v2 = v;
    std::vector<double> pd(p.begin(), p.end()), md(n, 0.0), vd(n, 0.0);
    for (int t = 1; t <= 5; ++t) {
        const auto g = random_floats(n, 40 + t);
        const AdamWStep s = adamw_step_scalars(a.lr, a.beta1, a.beta2, a.eps, a.weight_decay, t);
        for (int i = 0; i < n; ++i) adamw_elem(&p[i], g[i], &m[i], &v[i], s);
        adamw_update(p2.data(), g.data(), m2.data(), v2.data(), n, t, a);
        for (int i = 0; i < n; ++i) {
            pd[i] *= 1.0 - double(a.lr) * a.weight_decay;
            md[i] = a.beta1 * md[i] + (1.0 - a.beta1) * g[i];
            vd[i] = a.beta2 * vd[i] + (1.0 - a.beta2) * double(g[i]) * g[i];
            const double mh = md[i] / (1.0 - std::pow(double(a.beta1), t)), vh = vd[i] / (1.0 - std::pow(double(a.beta2), t));
            pd[i] -= a.lr * mh / (std::sqrt(vh) + a.eps);
        }
    }
    for (int i = 0; i < n; ++i) {
        CHECK_NEAR(p[i], pd[i], 1e-5 * (std::fabs(pd[i]) + 1e-2));
        CHECK_EQ(p[i], p2[i]);
        CHECK_EQ(v[i], v2[i]);
    }
}

// SwiGLU forward against float64, its backward against central differences of the float64 function.
TEST(swiglu_formulas_match_float64_and_finite_differences) {
    for (float g : {-6.f, -1.3f, -0.1f, 0.f, 0.7f, 2.5f, 9.f})
        for (float u : {-2.f, 0.5f, 3.f}) {
            auto f = [](double gg, double uu) { return gg / (1.0 + std::exp(-gg)) * uu; };
            CHECK_NEAR(swiglu_elem(g, u), f(g, u), 1e-6 * (std::fabs(f(g, u)) + 1e-3));
            float dg, du;
            swiglu_backward_elem(1.5f, g, u, &dg, &du);
            const double h = 1e-5;
            CHECK_NEAR(dg, 1.5 * (f(g + h, u) - f(g - h, u)) / (2 * h), 1e-5 * (std::fabs(dg) + 1));
            CHECK_NEAR(du, 1.5 * (f(g, u + h) - f(g, u - h)) / (2 * h), 1e-5 * (std::fabs(du) + 1));
        }
}

// The dropout threshold is the integer form of double(hash) >= p·2^64, and about 1-p of the
// elements are kept (5 standard deviations).
TEST(dropout_mask_threshold_and_rate) {
    for (float p : {0.05f, 0.1f, 0.5f}) {
        const uint64_t th = dropout_keep_threshold(p);
        CHECK(double(th) >= double(p) * 18446744073709551616.0);
        CHECK(double(th - 1) < double(p) * 18446744073709551616.0);
        int64_t kept = 0;
        const int64_t n = 200000;
        for (int64_t i = 0; i < n; ++i) {
            const bool k = dropout_kept(th, 77, i);
            CHECK_EQ(k, double(mix64(77 ^ mix64(uint64_t(i)))) >= double(p) * 18446744073709551616.0);
            kept += k;
        }
        const double sd = std::sqrt(n * double(p) * (1 - p));
        CHECK_NEAR(double(kept), n * (1.0 - p), 5 * sd);
    }
}

// Cross-entropy of a row from (max, Σexp) against float64 log-sum-exp, 1e-6 relative.
TEST(crossentropy_formula_matches_float64) {
    const int64_t n = 5000;
    const auto l = random_floats(n, 51, 8.f);
    float mx = l[0];
    for (float x : l) mx = std::max(mx, x);
    std::vector<double> e(static_cast<size_t>(n));
    double ref_sum = 0;
    for (int64_t i = 0; i < n; ++i) {
        e[size_t(i)] = std::exp(double(l[size_t(i)] - mx));
        ref_sum += std::exp(double(l[size_t(i)]));
    }
    const double ref = std::log(ref_sum) - l[17];
    CHECK_NEAR(crossentropy_loss(tree_sum(e, 0, e.size()), mx, l[17]), ref, 1e-6 * std::fabs(ref));
    float loss = 0;
    const int32_t t = 17;
    cpu::crossentropy_forward(&loss, l.data(), &t, 1, n);
    CHECK_NEAR(loss, ref, 1e-6 * std::fabs(ref));
}
