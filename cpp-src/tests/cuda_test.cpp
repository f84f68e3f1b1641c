// The CUDA backend against the CPU backend, op by op and through whole models. Every case skips
// (reported as SKIP, not ok) when no CUDA device is usable: a build without nvcc, no driver, or
// no GPU. Tolerances, stated per case:
//  - products with F32 arithmetic (decode GEMV, the F32 GEMM, outer_accumulate): |gpu - cpu| <=
//    1e-5 · Σ_j |x_j·w_j| per output (both sum in F32, in different orders);
//  - BF16 tensor-core GEMM: <= (2^-7 + 1e-5) · Σ_j |x_j·w_j| (both operands rounded to BF16:
//    relative error <= 2^-8 each, accumulation in F32);
//  - elementwise and row ops: relative 1e-5 (F32 rounding, expf within 2 ulp, FMA contraction);
//  - whole models, F32 GEMM: logits within 1e-3 of the CPU session for F32, F16, BF16, Q8_0,
//    Q4_0, Q4_K, Q5_K and Q6_K weights (GQA, packed sequences, RoPE scaling; F16 and F32 KV
//    caches); the LoRA and the full-parameter gradients of a training step within 1e-3 · max
//    |gradient| per tensor of the CPU trainer's; BF16 GEMM: logits within 3e-2 · max |logit|.
//  - a model resident on the device (weights uploaded at load, KV cache, activations and logits
//    in device memory): logits within 1e-3 of the CPU session in every weight type;
//  - a 20-step LoRA SFT loss curve within 1e-3 per step; a PPO step's mean KL, policy loss and
//    gradient norm within 1e-4 relative.
// The whole-model logits case runs the session on a MirrorBackend: host memory to it, the CUDA
// kernels underneath (each op uploads its inputs and downloads its outputs), for both GEMM
// precisions. The device-resident and the training cases load the model on the GPU: weights,
// adapter (values, gradients, AdamW moments) and every trainer buffer in device memory. With
// SL4J_CUDA_TESTS_ON=cpu those run on the device-sim backend.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "../bench/random_weights.h"
#include "backend/backend.h"
#include "backend/cuda_plugin.h"
#include "core/hash.h"
#include "core/types.h"
#include "model/llama_model.h"
#include "model/session.h"
#include "quant/quant.h"
#include "sample_reference.h"
#include "testing.h"
#include "train/adamw.h"
#include "train/full.h"
#include "train/lora.h"
#include "train/trainer.h"

using namespace sl4j;

namespace {

const int32_t kTypes[] = {SL4J_TYPE_F32,  SL4J_TYPE_F16,  SL4J_TYPE_BF16, SL4J_TYPE_Q8_0,
                          SL4J_TYPE_Q4_0, SL4J_TYPE_Q4_K, SL4J_TYPE_Q5_K, SL4J_TYPE_Q6_K};

Backend& host() {
    static std::unique_ptr<Backend> be = make_cpu_backend();
    return *be;
}

// SL4J_CUDA_TESTS_ON=cpu: the CPU stands in for the GPU.
bool cpu_stands_in() {
    const char* stand_in = std::getenv("SL4J_CUDA_TESTS_ON");
    return stand_in != nullptr && std::string(stand_in) == "cpu";
}

void skip_without_gpu() {
    std::string why;
    if (cuda_device_count(&why) == 0) sl4j_test::skip("no GPU: " + why);
}

// The CUDA backend (F32 or BF16 GEMM), or a skip naming why there is none. With
// SL4J_CUDA_TESTS_ON=cpu the CPU backend stands in for the GPU: a check of these tests' own
// plumbing (buffer sizes, the mirror, the random models) on a machine without one.
Backend& gpu(bool f32_gemm = true) {
    static std::unique_ptr<Backend> be[2];
    if (cpu_stands_in()) return host();
    skip_without_gpu();
    std::unique_ptr<Backend>& b = be[f32_gemm ? 1 : 0];
    if (!b) {
        CudaBackendOptions o;
        o.f32_gemm = f32_gemm;
        b = make_cuda_backend(0, o);
        std::fprintf(stderr, "    %s\n", b->name().c_str());
    }
    return *b;
}

// A backend of its own for a model to own (weights uploaded at load, KV cache and activations
// in its memory): the CUDA backend with F32 GEMM, or with SL4J_CUDA_TESTS_ON=cpu the device-sim
// backend (separate "device" allocations, every transfer through upload/download).
std::unique_ptr<Backend> own_gpu() {
    static TransferCounts counts;
    if (cpu_stands_in()) return make_device_sim_backend(&counts);
    skip_without_gpu();
    CudaBackendOptions o;
    o.f32_gemm = true;
    return make_cuda_backend(0, o);
}

// A device allocation filled from / read back into host vectors.
struct Dev {
    Backend& be;
    void* p;
    int64_t bytes;
    Dev(Backend& b, int64_t n) : be(b), p(b.alloc(n)), bytes(n) {}
    template <typename T>
    Dev(Backend& b, const std::vector<T>& v) : Dev(b, int64_t(v.size() * sizeof(T))) {
        if (bytes > 0) be.upload(p, v.data(), bytes);
    }
    Dev(Backend& b, const void* host, int64_t n) : Dev(b, n) {
        if (n > 0) be.upload(p, host, n);
    }
    ~Dev() { be.release(p); }
    Dev(const Dev&) = delete;
    Dev& operator=(const Dev&) = delete;
    float* f() { return static_cast<float*>(p); }
    template <typename T>
    T* as() { return static_cast<T*>(p); }
    template <typename T>
    std::vector<T> get(size_t n) {
        std::vector<T> v(n);
        if (n > 0) be.download(v.data(), p, int64_t(n * sizeof(T)));
        return v;
    }
};

std::vector<float> noise(int64_t n, uint64_t seed, float amp = 1.f) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[size_t(i)] = bench::random_uniform(seed, uint64_t(i), amp);
    return v;
}

// |a_i - b_i| <= rel·(|b_i| + floor) for all i; prints the worst.
void check_rel(const char* what, const std::vector<float>& a, const std::vector<float>& b, double rel,
               double floor = 1e-6) {
    CHECK_EQ(a.size(), b.size());
    double worst = 0;
    size_t at = 0;
    bool ok = true;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
        const double e = std::fabs(double(a[i]) - b[i]), bound = rel * (std::fabs(double(b[i])) + floor);
        if (!(e <= bound)) ok = false;
        if (e / bound > worst) worst = e / bound, at = i;
    }
    if (!ok)
        std::fprintf(stderr, "    %s: worst at %zu: gpu %.9g cpu %.9g (%.3g of the bound)\n", what, at, a[at], b[at],
                     worst);
    CHECK(ok);
}

// Products: |gpu - cpu| <= rel·mag per output, mag = Σ|x_j·w_j| from the CPU's dequantised weights.
void check_product(const char* what, const std::vector<float>& gpu_out, const std::vector<float>& cpu_out,
                   const std::vector<double>& mag, double rel) {
    bool ok = gpu_out.size() == cpu_out.size();
    double worst = 0;
    for (size_t i = 0; ok && i < gpu_out.size(); ++i) {
        const double e = std::fabs(double(gpu_out[i]) - cpu_out[i]);
        worst = std::max(worst, e / (rel * mag[i] + 1e-30));
        if (!(e <= rel * mag[i] + 1e-30)) ok = false;
    }
    if (!ok) std::fprintf(stderr, "    %s: error up to %.3g of the bound\n", what, worst);
    CHECK(ok);
}

std::vector<float> dequant_matrix(int32_t type, const std::vector<uint8_t>& w, int64_t rows, int64_t cols) {
    std::vector<float> out(static_cast<size_t>(rows * cols));
    const int64_t rb = type_row_bytes(type, cols);
    for (int64_t r = 0; r < rows; ++r) dequantize_row(type, w.data() + r * rb, out.data() + r * cols, cols);
    return out;
}

// Σ|x_j·w_j| per output of x·wᵀ (x: n×k) or, transposed, of dy·w (dy: n×m); w: m×k dequantised.
std::vector<double> abs_product(const std::vector<float>& x, const std::vector<float>& w, int64_t n, int64_t k,
                                int64_t m, bool transposed) {
    std::vector<double> mag(static_cast<size_t>(n * (transposed ? k : m)), 0.0);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t r = 0; r < m; ++r)
            for (int64_t j = 0; j < k; ++j) {
                const double p = std::fabs(double(transposed ? x[size_t(i * m + r)] : x[size_t(i * k + j)]) * w[size_t(r * k + j)]);
                mag[size_t(transposed ? i * k + j : i * m + r)] += p;
            }
    return mag;
}

}  // namespace

TEST(cuda_matmul_every_type_gemv_and_gemm_match_cpu) {
    for (bool f32 : {true, false}) {
        Backend& g = gpu(f32);
        for (int32_t type : kTypes) {
            for (int64_t k : {int64_t(512), int64_t(100)}) {
                if (k % type_traits(type)->block_size != 0) continue;
                const int64_t m = 200;
                const auto w = bench::random_weight_bytes(type, m, k, 0.5f, 7 + type, false);
                const auto wf = dequant_matrix(type, w, m, k);
                Dev dw(g, w);
                for (int64_t n : {int64_t(1), int64_t(3), int64_t(8), int64_t(37), int64_t(130)}) {
                    const auto x = noise(n * k, 100 + n);
                    std::vector<float> want(static_cast<size_t>(n * m));
                    host().matmul(want.data(), w.data(), type, x.data(), n, k, m);
                    Dev dx(g, x), dout(g, n * m * 4);
                    g.matmul(dout.f(), dw.p, type, dx.f(), n, k, m);
                    const auto mag = abs_product(x, wf, n, k, m, false);
                    const bool tensor_cores = !f32 && n > 8;
                    const std::string what = "matmul type " + std::to_string(type) + " n " + std::to_string(n) +
                                             " k " + std::to_string(k) + (f32 ? " f32" : " bf16");
                    check_product(what.c_str(), dout.get<float>(size_t(n * m)), want, mag,
                                  tensor_cores ? 1.0 / 128 + 1e-5 : 1e-5);
                }
                // matmul_transposed: out (n×k) = dy (n×m)·W.
                for (int64_t n : {int64_t(2), int64_t(40)}) {
                    const auto dy = noise(n * m, 300 + n);
                    std::vector<float> want(static_cast<size_t>(n * k));
                    host().matmul_transposed(want.data(), w.data(), type, dy.data(), n, k, m);
                    Dev ddy(g, dy), dout(g, n * k * 4);
                    g.matmul_transposed(dout.f(), dw.p, type, ddy.f(), n, k, m);
                    const auto mag = abs_product(dy, wf, n, k, m, true);
                    const std::string what = "matmul_transposed type " + std::to_string(type) + " n " + std::to_string(n);
                    check_product(what.c_str(), dout.get<float>(size_t(n * k)), want, mag, f32 ? 1e-5 : 1.0 / 128 + 1e-5);
                }
            }
        }
    }
}

TEST(cuda_embedding_every_type_and_bad_token) {
    Backend& g = gpu();
    for (int32_t type : kTypes) {
        const int64_t dim = 256, vocab = 50;
        const auto t = bench::random_weight_bytes(type, vocab, dim, 1.f, 40 + type, false);
        const std::vector<int32_t> ids = {3, 0, 49, 3, 17};
        std::vector<float> want(ids.size() * dim);
        host().embedding(want.data(), ids.data(), t.data(), type, int64_t(ids.size()), dim, vocab);
        Dev dt(g, t), di(g, ids), dout(g, int64_t(want.size() * 4));
        g.embedding(dout.f(), di.as<int32_t>(), dt.p, type, int64_t(ids.size()), dim, vocab);
        check_rel(("embedding type " + std::to_string(type)).c_str(), dout.get<float>(want.size()), want, 1e-6, 1.0);
        const std::vector<int32_t> bad = {1, 50};
        Dev db(g, bad);
        EXPECT_THROWS(g.embedding(dout.f(), db.as<int32_t>(), dt.p, type, 2, dim, vocab));
    }
}

// Full-parameter training's weight gradients: the embedding scatter-add (tokens repeat, so rows
// add into one table row) and RMSNorm's weight gradient, both added into existing values.
TEST(cuda_embedding_and_rmsnorm_weight_gradients_match_cpu) {
    Backend& g = gpu();
    const int64_t rows = 50, dim = 300, vocab = 20;  // dim: a partial thread block
    std::vector<int32_t> ids;
    for (int64_t r = 0; r < rows; ++r) ids.push_back(int32_t(r % 3 == 0 ? 7 : (r * 11) % vocab));
    const auto dout = noise(rows * dim, 81), table0 = noise(vocab * dim, 82);
    auto table = table0;
    host().embedding_backward(table.data(), dout.data(), ids.data(), rows, dim, 0.5f);
    Dev di(g, ids), ddo(g, dout), dt1(g, table0), dt2(g, table0);
    g.embedding_backward(dt1.f(), ddo.f(), di.as<int32_t>(), rows, dim, 0.5f);
    g.embedding_backward(dt2.f(), ddo.f(), di.as<int32_t>(), rows, dim, 0.5f);
    const auto got = dt1.get<float>(table.size());
    check_rel("embedding_backward", got, table, 1e-6, 1e-2);
    CHECK(got == dt2.get<float>(table.size()));  // deterministic: same bits on a second run
    CHECK(got != table0);                        // it wrote something
    // rmsnorm_weight_backward: dw += alpha·Σ_r dout·x·inv_rms, inv_rms from the forward.
    const auto x = noise(rows * dim, 83, 3.f), w = noise(dim, 84), dw0 = noise(dim, 85);
    std::vector<float> y(static_cast<size_t>(rows * dim)), inv(static_cast<size_t>(rows));
    host().rmsnorm(y.data(), inv.data(), x.data(), w.data(), rows, dim, 1e-5f);
    auto dw = dw0;
    host().rmsnorm_weight_backward(dw.data(), dout.data(), x.data(), inv.data(), rows, dim, 0.25f);
    Dev dx(g, x), dinv(g, inv), ddw(g, dw0);
    g.rmsnorm_weight_backward(ddw.f(), ddo.f(), dx.f(), dinv.f(), rows, dim, 0.25f);
    check_rel("rmsnorm_weight_backward", ddw.get<float>(dw.size()), dw, 1e-6, 1e-2);
    CHECK(dw != dw0);
}

TEST(cuda_rmsnorm_rope_swiglu_and_elementwise_match_cpu) {
    Backend& g = gpu();
    const int64_t rows = 7, dim = 320;
    const auto x = noise(rows * dim, 1, 3.f), w = noise(dim, 2), dout = noise(rows * dim, 3);
    {
        std::vector<float> out(static_cast<size_t>(rows * dim)), inv(static_cast<size_t>(rows)), dx = noise(rows * dim, 4);
        std::vector<float> dx_gpu_in = dx;
        host().rmsnorm(out.data(), inv.data(), x.data(), w.data(), rows, dim, 1e-5f);
        host().rmsnorm_backward(dx.data(), dout.data(), x.data(), w.data(), inv.data(), rows, dim);
        Dev dxx(g, x), dw(g, w), dgo(g, dout), dout_(g, rows * dim * 4), dinv(g, rows * 4), ddx(g, dx_gpu_in);
        g.rmsnorm(dout_.f(), dinv.f(), dxx.f(), dw.f(), rows, dim, 1e-5f);
        g.rmsnorm_backward(ddx.f(), dgo.f(), dxx.f(), dw.f(), dinv.f(), rows, dim);
        check_rel("rmsnorm", dout_.get<float>(out.size()), out, 1e-5);
        check_rel("rmsnorm inv_rms", dinv.get<float>(inv.size()), inv, 1e-6);
        check_rel("rmsnorm_backward", ddx.get<float>(dx.size()), dx, 1e-5, 1e-2);
    }
    {  // RoPE with linear scaling and frequency factors; 3 heads of 40 dims, 32 rotated.
        const int64_t n_heads = 3, hd = 40, n_rot = 32;
        const std::vector<int64_t> pos = {0, 5, 17, 1000, 4095, 2, 9};
        std::vector<float> ff(static_cast<size_t>(n_rot / 2));
        for (size_t i = 0; i < ff.size(); ++i) ff[i] = 1.f + 0.5f * float(i);
        std::vector<float> cs(static_cast<size_t>(rows * n_rot));
        host().rope_cache(cs.data(), pos.data(), rows, n_rot, 500000.0, 8.0, ff.data());
        Dev dpos(g, pos), dff(g, ff), dcs(g, rows * n_rot * 4);
        g.rope_cache(dcs.f(), dpos.as<int64_t>(), rows, n_rot, 500000.0, 8.0, dff.f());
        check_rel("rope_cache", dcs.get<float>(cs.size()), cs, 1e-6, 1e-3);
        auto v = noise(rows * n_heads * hd, 9);
        Dev dv(g, v);
        auto vb = v;
        host().rope(v.data(), cs.data(), rows, n_heads, hd, n_rot);
        g.rope(dv.f(), dcs.f(), rows, n_heads, hd, n_rot);
        check_rel("rope", dv.get<float>(v.size()), v, 1e-5, 1e-2);
        host().rope_backward(vb.data(), cs.data(), rows, n_heads, hd, n_rot);
        Dev dvb(g, noise(rows * n_heads * hd, 9));
        g.rope_backward(dvb.f(), dcs.f(), rows, n_heads, hd, n_rot);
        check_rel("rope_backward", dvb.get<float>(vb.size()), vb, 1e-5, 1e-2);
    }
    {
        const int64_t n = 5000;
        const auto gate = noise(n, 11, 6.f), up = noise(n, 12), d = noise(n, 13);
        std::vector<float> out(static_cast<size_t>(n)), dg(static_cast<size_t>(n)), du(static_cast<size_t>(n));
        host().swiglu(out.data(), gate.data(), up.data(), n);
        host().swiglu_backward(dg.data(), du.data(), d.data(), gate.data(), up.data(), n);
        Dev dga(g, gate), dup(g, up), dd(g, d), dout_(g, n * 4), ddg(g, n * 4), ddu(g, n * 4);
        g.swiglu(dout_.f(), dga.f(), dup.f(), n);
        g.swiglu_backward(ddg.f(), ddu.f(), dd.f(), dga.f(), dup.f(), n);
        check_rel("swiglu", dout_.get<float>(size_t(n)), out, 1e-5, 1e-3);
        check_rel("swiglu_backward gate", ddg.get<float>(size_t(n)), dg, 1e-5, 1e-3);
        check_rel("swiglu_backward up", ddu.get<float>(size_t(n)), du, 1e-5, 1e-3);

        auto y = noise(n, 14);
        Dev dy(g, y);
        host().residual(y.data(), up.data(), n);
        g.residual(dy.f(), dup.f(), n);
        host().residual_backward(y.data(), d.data(), n);
        g.residual_backward(dy.f(), dd.f(), n);
        host().add_scaled(y.data(), gate.data(), -0.37f, n);
        g.add_scaled(dy.f(), dga.f(), -0.37f, n);
        host().scale(y.data(), 1.7f, n);
        g.scale(dy.f(), 1.7f, n);
        check_rel("residual, add_scaled, scale", dy.get<float>(size_t(n)), y, 1e-6, 1e-3);

        std::vector<float> xd(static_cast<size_t>(n)), dx = noise(n, 15);
        host().dropout(xd.data(), up.data(), 0.3f, 1234, n);
        Dev dxd(g, n * 4), ddx(g, dx);
        g.dropout(dxd.f(), dup.f(), 0.3f, 1234, n);
        host().dropout_backward(dx.data(), d.data(), 0.3f, 1234, n);
        g.dropout_backward(ddx.f(), dd.f(), 0.3f, 1234, n);
        const auto gxd = dxd.get<float>(size_t(n));
        int64_t mask_diff = 0;
        for (int64_t i = 0; i < n; ++i) mask_diff += (gxd[size_t(i)] == 0.f) != (xd[size_t(i)] == 0.f);
        CHECK_EQ(mask_diff, int64_t(0));
        check_rel("dropout", gxd, xd, 1e-6, 1e-3);
        check_rel("dropout_backward", ddx.get<float>(size_t(n)), dx, 1e-6, 1e-3);
    }
}

TEST(cuda_attention_gqa_causal_document_mask_and_backward_match_cpu) {
    Backend& g = gpu();
    for (int64_t hd : {int64_t(64), int64_t(40)}) {
        const int64_t n_heads = 4, n_kv = 2, kv_dim = n_kv * hd, n_ctx = 70, n_seq = 2;
        const int64_t stride = n_ctx * kv_dim;
        // Two packed sequences of 70 positions; rows of sequence 1 start a new document at 30.
        std::vector<int32_t> seq;
        std::vector<int64_t> pos, first;
        for (int64_t s = 0; s < n_seq; ++s)
            for (int64_t p = 0; p < n_ctx; ++p) {
                seq.push_back(int32_t(s));
                pos.push_back(p);
                first.push_back(s == 1 && p >= 30 ? 30 : 0);
            }
        const int64_t rows = int64_t(seq.size());
        const auto q = noise(rows * n_heads * hd, 21, 2.f), k = noise(n_seq * stride, 22, 2.f),
                   v = noise(n_seq * stride, 23), dout = noise(rows * n_heads * hd, 24);
        std::vector<float> out(static_cast<size_t>(rows * n_heads * hd)), dq(out.size()), dk(k.size(), 0.f), dv(v.size(), 0.f);
        host().attention(out.data(), q.data(), k.data(), v.data(), seq.data(), pos.data(), first.data(), rows, n_heads,
                        n_kv, hd, stride);
        host().attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(), v.data(),
                                 seq.data(), pos.data(), first.data(), rows, n_seq, n_heads, n_kv, hd, stride);
        Dev dQ(g, q), dK(g, k), dV(g, v), dO(g, dout), dseq(g, seq), dpos(g, pos), dfirst(g, first);
        Dev dout_(g, int64_t(out.size() * 4)), ddq(g, int64_t(dq.size() * 4)), ddk(g, std::vector<float>(dk.size(), 0.f)),
            ddv(g, std::vector<float>(dv.size(), 0.f));
        g.attention(dout_.f(), dQ.f(), dK.f(), dV.f(), dseq.as<int32_t>(), dpos.as<int64_t>(), dfirst.as<int64_t>(),
                    rows, n_heads, n_kv, hd, stride);
        g.attention_backward(ddq.f(), ddk.f(), ddv.f(), dO.f(), dQ.f(), dK.f(), dV.f(), dseq.as<int32_t>(),
                             dpos.as<int64_t>(), dfirst.as<int64_t>(), rows, n_seq, n_heads, n_kv, hd, stride);
        check_rel("attention", dout_.get<float>(out.size()), out, 1e-5, 1e-2);
        check_rel("attention_backward dq", ddq.get<float>(dq.size()), dq, 1e-4, 1e-2);
        check_rel("attention_backward dk", ddk.get<float>(dk.size()), dk, 1e-4, 1e-2);
        check_rel("attention_backward dv", ddv.get<float>(dv.size()), dv, 1e-4, 1e-2);
        // Decode shape: one row per sequence at its last position, no document mask.
        const std::vector<int32_t> s1 = {0, 1};
        const std::vector<int64_t> p1 = {n_ctx - 1, 12};
        std::vector<float> o1(static_cast<size_t>(2 * n_heads * hd));
        host().attention(o1.data(), q.data(), k.data(), v.data(), s1.data(), p1.data(), nullptr, 2, n_heads, n_kv, hd,
                        stride);
        Dev ds1(g, s1), dp1(g, p1), do1(g, int64_t(o1.size() * 4));
        g.attention(do1.f(), dQ.f(), dK.f(), dV.f(), ds1.as<int32_t>(), dp1.as<int64_t>(), nullptr, 2, n_heads, n_kv,
                    hd, stride);
        check_rel("attention (decode rows)", do1.get<float>(o1.size()), o1, 1e-5, 1e-2);
        // The same over F16 caches (the session's default): prefill rows with document masks, then
        // the decode rows.
        std::vector<uint16_t> k16(k.size()), v16(v.size());
        quantize_row(SL4J_TYPE_F16, k.data(), k16.data(), int64_t(k.size()));
        quantize_row(SL4J_TYPE_F16, v.data(), v16.data(), int64_t(v.size()));
        std::vector<float> o16(out.size()), o16d(o1.size());
        host().attention_f16(o16.data(), q.data(), k16.data(), v16.data(), seq.data(), pos.data(), first.data(), rows,
                             n_heads, n_kv, hd, stride);
        host().attention_f16(o16d.data(), q.data(), k16.data(), v16.data(), s1.data(), p1.data(), nullptr, 2, n_heads,
                             n_kv, hd, stride);
        Dev dK16(g, k16), dV16(g, v16), dout16(g, int64_t(o16.size() * 4)), dout16d(g, int64_t(o16d.size() * 4));
        g.attention_f16(dout16.f(), dQ.f(), dK16.as<uint16_t>(), dV16.as<uint16_t>(), dseq.as<int32_t>(),
                        dpos.as<int64_t>(), dfirst.as<int64_t>(), rows, n_heads, n_kv, hd, stride);
        g.attention_f16(dout16d.f(), dQ.f(), dK16.as<uint16_t>(), dV16.as<uint16_t>(), ds1.as<int32_t>(),
                        dp1.as<int64_t>(), nullptr, 2, n_heads, n_kv, hd, stride);
        check_rel("attention_f16", dout16.get<float>(o16.size()), o16, 1e-5, 1e-2);
        check_rel("attention_f16 (decode rows)", dout16d.get<float>(o16d.size()), o16d, 1e-5, 1e-2);
        CHECK(o16 != out);  // the F16 cache is a different input: the check sees it
    }
}

TEST(cuda_crossentropy_logprobs_outer_adamw_and_norm_match_cpu) {
    Backend& g = gpu();
    const int64_t rows = 5, vocab = 5003;
    const auto logits = noise(rows * vocab, 31, 10.f);
    const std::vector<int32_t> targets = {7, kIgnoreIndex, 5002, 0, 1234};
    const std::vector<float> dl = {0.2f, 0.2f, -0.5f, 1.f, 0.25f};
    std::vector<float> losses(static_cast<size_t>(rows)), dlog = logits;
    const int64_t counted = host().crossentropy(losses.data(), logits.data(), targets.data(), rows, vocab);
    host().crossentropy_backward(dlog.data(), dlog.data(), targets.data(), dl.data(), rows, vocab);
    Dev dL(g, logits), dT(g, targets), dD(g, dl), dloss(g, rows * 4);
    CHECK_EQ(g.crossentropy(dloss.f(), dL.f(), dT.as<int32_t>(), rows, vocab), counted);
    CHECK_NEAR(g.log_softmax_at(dL.f() + 3 * vocab, vocab, 11), host().log_softmax_at(logits.data() + 3 * vocab, vocab, 11),
               1e-5 * 10);
    g.crossentropy_backward(dL.f(), dL.f(), dT.as<int32_t>(), dD.f(), rows, vocab);  // aliased, as the trainer does
    check_rel("crossentropy", dloss.get<float>(size_t(rows)), losses, 1e-5);
    check_rel("crossentropy_backward", dL.get<float>(dlog.size()), dlog, 1e-5, 1e-6);
    // entropy and KL per row, reduced on the device
    {
        const auto other = noise(rows * vocab, 32, 10.f);
        std::vector<float> h(static_cast<size_t>(rows)), kl(static_cast<size_t>(rows));
        host().entropy(h.data(), logits.data(), targets.data(), rows, vocab);
        host().kl_div(kl.data(), logits.data(), other.data(), rows, vocab);
        Dev dL2(g, logits), dO(g, other), dH(g, rows * 4), dK(g, rows * 4);
        g.entropy(dH.f(), dL2.f(), dT.as<int32_t>(), rows, vocab);
        g.kl_div(dK.f(), dL2.f(), dO.f(), rows, vocab);
        check_rel("entropy", dH.get<float>(size_t(rows)), h, 1e-5, 1e-6);
        check_rel("kl_div", dK.get<float>(size_t(rows)), kl, 1e-5, 1e-6);
        CHECK(h[0] > 0 && h[1] == 0 && kl[0] > 0);
    }
    const std::vector<int32_t> bad = {7, 5003, 1, 2, 3};
    Dev dB(g, bad);
    EXPECT_THROWS(g.crossentropy(dloss.f(), dL.f(), dB.as<int32_t>(), rows, vocab));

    // outer_accumulate: out (P×Q) += alpha·aᵀ·b.
    const int64_t n = 150, P = 33, Q = 70;
    const auto a = noise(n * P, 41), b = noise(n * Q, 42);
    auto out = noise(P * Q, 43);
    Dev da(g, a), db(g, b), dout(g, out);
    host().outer_accumulate(out.data(), a.data(), b.data(), n, P, Q, 0.5f);
    g.outer_accumulate(dout.f(), da.f(), db.f(), n, P, Q, 0.5f);
    std::vector<double> mag(static_cast<size_t>(P * Q), 0.0);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t p = 0; p < P; ++p)
            for (int64_t q = 0; q < Q; ++q) mag[size_t(p * Q + q)] += 0.5 * std::fabs(double(a[size_t(i * P + p)]) * b[size_t(i * Q + q)]);
    for (double& m : mag) m += 1.0;  // the initial value's rounding
    check_product("outer_accumulate", dout.get<float>(out.size()), out, mag, 1e-5);

    // AdamW over 3 steps and the sum of squares behind gradient clipping.
    const int64_t np = 4097;
    auto p = noise(np, 51), m = std::vector<float>(size_t(np), 0.f), v = m;
    Dev dp(g, p), dm(g, m), dv(g, v);
    AdamWParams ap;
    ap.lr = 1e-2f;
    for (int t = 1; t <= 3; ++t) {
        const auto grad = noise(np, 60 + t);
        Dev dg(g, grad);
        const AdamWStep s = adamw_step_scalars(ap.lr, ap.beta1, ap.beta2, ap.eps, ap.weight_decay, t);
        adamw_update(p.data(), grad.data(), m.data(), v.data(), np, t, ap);
        g.adamw(dp.f(), dg.f(), dm.f(), dv.f(), np, s);
    }
    check_rel("adamw parameters", dp.get<float>(size_t(np)), p, 1e-6, 1e-2);
    check_rel("adamw second moments", dv.get<float>(size_t(np)), v, 1e-6, 1e-6);
    double ss = 0;
    for (float x : p) ss += double(x) * x;
    CHECK_NEAR(g.sum_squares(dp.f(), np), ss, 1e-6 * ss);

    // Greedy picks: rows with a repeated maximum (the lower id wins) and a -inf-heavy row.
    {
        const int64_t rows = 3, V = 5003;
        auto L = noise(rows * V, 81, 4.f);
        L[size_t(0 * V + 17)] = L[size_t(0 * V + 4000)] = 9.f;  // tie: 17 wins
        for (int64_t i = 0; i < V; ++i)
            if (i != 2500) L[size_t(2 * V + i)] = -INFINITY;
        L[size_t(2 * V + 2500)] = -1.f;
        std::vector<int32_t> want_t(rows), got_t;
        std::vector<float> want_lp(rows);
        host().argmax_logprob(want_t.data(), want_lp.data(), L.data(), rows, V);
        CHECK_EQ(want_t[0], 17);
        CHECK_EQ(want_t[2], 2500);
        Dev dl(g, L), dt(g, rows * 4), dlp(g, rows * 4);
        g.argmax_logprob(dt.as<int32_t>(), dlp.f(), dl.f(), rows, V);
        got_t = dt.get<int32_t>(size_t(rows));
        CHECK(got_t == want_t);
        check_rel("argmax_logprob", dlp.get<float>(size_t(rows)), want_lp, 1e-5, 1e-3);
    }

    // copy_rows: three rows into a cache at scattered offsets, the rest untouched.
    const auto src = noise(3 * 40, 71);
    auto cache = noise(1000, 72);
    const std::vector<int64_t> offs = {400, 0, 880};
    Dev dsrc(g, src), dcache(g, cache), doffs(g, offs);
    host().copy_rows(cache.data(), offs.data(), src.data(), 3, 40);
    g.copy_rows(dcache.f(), doffs.as<int64_t>(), dsrc.f(), 3, 40);
    CHECK(dcache.get<float>(cache.size()) == cache);

    // copy_rows_f16: the same rows rounded to F16 into an F16 cache.
    std::vector<uint16_t> cache16(1000, 0x3c00);
    Dev dcache16(g, cache16);
    host().copy_rows_f16(cache16.data(), offs.data(), src.data(), 3, 40);
    g.copy_rows_f16(dcache16.as<uint16_t>(), doffs.as<int64_t>(), dsrc.f(), 3, 40);
    CHECK(dcache16.get<uint16_t>(cache16.size()) == cache16);
}

namespace {

// Host memory to the engine, CUDA kernels underneath: each op uploads its inputs, runs on the
// GPU and downloads its outputs. Lets the unchanged session and trainer run on the GPU kernels.
class MirrorBackend final : public Backend {
public:
    explicit MirrorBackend(Backend& device) : d_(device), name_("mirror of " + device.name()) {}
    int32_t device() const override { return SL4J_DEVICE_CPU; }
    const std::string& name() const override { return name_; }
    bool host_memory() const override { return true; }
    void* alloc(int64_t n) override { return host().alloc(n); }
    void release(void* p) override { host().release(p); }
    void upload(void* d, const void* s, int64_t n) override { host().upload(d, s, n); }
    void download(void* d, const void* s, int64_t n) override { host().download(d, s, n); }

    using Backend::matmul;
    void matmul(float* out, const void* w, int32_t wt, const float* x, int64_t n, int64_t k, int64_t m) override {
        Dev dw(d_, w, type_row_bytes(wt, k) * m), dx(d_, x, n * k * 4), dout(d_, n * m * 4);
        d_.matmul(dout.f(), dw.p, wt, dx.f(), n, k, m);
        back(out, dout);
    }
    void matmul_transposed(float* out, const void* w, int32_t wt, const float* dy, int64_t n, int64_t k,
                           int64_t m) override {
        Dev dw(d_, w, type_row_bytes(wt, k) * m), ddy(d_, dy, n * m * 4), dout(d_, n * k * 4);
        d_.matmul_transposed(dout.f(), dw.p, wt, ddy.f(), n, k, m);
        back(out, dout);
    }
    void embedding(float* out, const int32_t* tokens, const void* table, int32_t type, int64_t n_rows, int64_t dim,
                   int64_t n_vocab) override {
        Dev dt(d_, tokens, n_rows * 4), dtab(d_, table, type_row_bytes(type, dim) * n_vocab), dout(d_, n_rows * dim * 4);
        d_.embedding(dout.f(), dt.as<int32_t>(), dtab.p, type, n_rows, dim, n_vocab);
        back(out, dout);
    }
    void rmsnorm(float* out, float* inv_rms, const float* x, const float* w, int64_t n_rows, int64_t dim,
                 float eps, bool ggml_rounding) override {
        Dev dx(d_, x, n_rows * dim * 4), dw(d_, w, dim * 4), dout(d_, n_rows * dim * 4), dinv(d_, n_rows * 4);
        d_.rmsnorm(dout.f(), inv_rms ? dinv.f() : nullptr, dx.f(), dw.f(), n_rows, dim, eps, ggml_rounding);
        back(out, dout);
        if (inv_rms) back(inv_rms, dinv);
    }
    void embedding_backward(float* dtable, const float* dout, const int32_t* tokens, int64_t n_rows, int64_t dim,
                            float alpha) override {
        int32_t n_vocab = 0;
        for (int64_t r = 0; r < n_rows; ++r) n_vocab = std::max(n_vocab, tokens[r] + 1);
        Dev dtab(d_, dtable, int64_t(n_vocab) * dim * 4), ddo(d_, dout, n_rows * dim * 4), dt(d_, tokens, n_rows * 4);
        d_.embedding_backward(dtab.f(), ddo.f(), dt.as<int32_t>(), n_rows, dim, alpha);
        back(dtable, dtab);
    }
    void rmsnorm_weight_backward(float* dw, const float* dout, const float* x, const float* inv_rms, int64_t n_rows,
                                 int64_t dim, float alpha) override {
        Dev ddw(d_, dw, dim * 4), ddo(d_, dout, n_rows * dim * 4), dx(d_, x, n_rows * dim * 4),
            dinv(d_, inv_rms, n_rows * 4);
        d_.rmsnorm_weight_backward(ddw.f(), ddo.f(), dx.f(), dinv.f(), n_rows, dim, alpha);
        back(dw, ddw);
    }
    void rmsnorm_backward(float* dx, const float* dout, const float* x, const float* w, const float* inv_rms,
                          int64_t n_rows, int64_t dim) override {
        Dev ddx(d_, dx, n_rows * dim * 4), ddo(d_, dout, n_rows * dim * 4), dxx(d_, x, n_rows * dim * 4),
            dw(d_, w, dim * 4), dinv(d_, inv_rms, n_rows * 4);
        d_.rmsnorm_backward(ddx.f(), ddo.f(), dxx.f(), dw.f(), dinv.f(), n_rows, dim);
        back(dx, ddx);
    }
    void rope_cache(float* cs, const int64_t* pos, int64_t n_rows, int64_t n_rot, double base, double linear,
                    const float* ff) override {
        Dev dpos(d_, pos, n_rows * 8), dff(d_, ff, ff ? n_rot / 2 * 4 : 0), dcs(d_, n_rows * n_rot * 4);
        d_.rope_cache(dcs.f(), dpos.as<int64_t>(), n_rows, n_rot, base, linear, ff ? dff.f() : nullptr);
        back(cs, dcs);
    }
    void rope(float* x, const float* cs, int64_t n_rows, int64_t n_heads, int64_t hd, int64_t n_rot) override {
        Dev dx(d_, x, n_rows * n_heads * hd * 4), dcs(d_, cs, n_rows * n_rot * 4);
        d_.rope(dx.f(), dcs.f(), n_rows, n_heads, hd, n_rot);
        back(x, dx);
    }
    void rope_backward(float* x, const float* cs, int64_t n_rows, int64_t n_heads, int64_t hd, int64_t n_rot) override {
        Dev dx(d_, x, n_rows * n_heads * hd * 4), dcs(d_, cs, n_rows * n_rot * 4);
        d_.rope_backward(dx.f(), dcs.f(), n_rows, n_heads, hd, n_rot);
        back(x, dx);
    }
    void swiglu(float* out, const float* gate, const float* up, int64_t n, bool /*fast*/) override {
        Dev dg(d_, gate, n * 4), du(d_, up, n * 4), dout(d_, n * 4);
        d_.swiglu(dout.f(), dg.f(), du.f(), n);
        back(out, dout);
    }
    void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                         int64_t n) override {
        Dev ddo(d_, dout, n * 4), dg(d_, gate, n * 4), du(d_, up, n * 4), ddg(d_, n * 4), ddu(d_, n * 4);
        d_.swiglu_backward(ddg.f(), ddu.f(), ddo.f(), dg.f(), du.f(), n);
        back(dgate, ddg);
        back(dup, ddu);
    }
    void residual(float* x, const float* y, int64_t n) override { add_scaled(x, y, 1.f, n); }
    void residual_backward(float* dy, const float* dx, int64_t n) override { add_scaled(dy, dx, 1.f, n); }
    void attention(float* out, const float* q, const float* k, const float* v, const int32_t* seq, const int64_t* pos,
                   const int64_t* first, int64_t n_rows, int64_t n_heads, int64_t n_kv, int64_t hd,
                   int64_t stride) override {
        int64_t extent = 0;
        for (int64_t r = 0; r < n_rows; ++r) extent = std::max(extent, seq[r] * stride + (pos[r] + 1) * n_kv * hd);
        Dev dq(d_, q, n_rows * n_heads * hd * 4), dk(d_, k, extent * 4), dv(d_, v, extent * 4),
            ds(d_, seq, n_rows * 4), dp(d_, pos, n_rows * 8), df(d_, first, first ? n_rows * 8 : 0),
            dout(d_, n_rows * n_heads * hd * 4);
        d_.attention(dout.f(), dq.f(), dk.f(), dv.f(), ds.as<int32_t>(), dp.as<int64_t>(),
                     first ? df.as<int64_t>() : nullptr, n_rows, n_heads, n_kv, hd, stride);
        back(out, dout);
    }
    void attention_f16(float* out, const float* q, const uint16_t* k, const uint16_t* v, const int32_t* seq,
                       const int64_t* pos, const int64_t* first, int64_t n_rows, int64_t n_heads, int64_t n_kv,
                       int64_t hd, int64_t stride) override {
        int64_t extent = 0;
        for (int64_t r = 0; r < n_rows; ++r) extent = std::max(extent, seq[r] * stride + (pos[r] + 1) * n_kv * hd);
        Dev dq(d_, q, n_rows * n_heads * hd * 4), dk(d_, k, extent * 2), dv(d_, v, extent * 2),
            ds(d_, seq, n_rows * 4), dp(d_, pos, n_rows * 8), df(d_, first, first ? n_rows * 8 : 0),
            dout(d_, n_rows * n_heads * hd * 4);
        d_.attention_f16(dout.f(), dq.f(), dk.as<uint16_t>(), dv.as<uint16_t>(), ds.as<int32_t>(), dp.as<int64_t>(),
                         first ? df.as<int64_t>() : nullptr, n_rows, n_heads, n_kv, hd, stride);
        back(out, dout);
    }
    void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                            const float* v, const int32_t* seq, const int64_t* pos, const int64_t* first,
                            int64_t n_rows, int64_t n_seq, int64_t n_heads, int64_t n_kv, int64_t hd,
                            int64_t stride) override {
        const int64_t cache = n_seq * stride * 4, qb = n_rows * n_heads * hd * 4;
        Dev ddq(d_, qb), ddk(d_, dk, cache), ddv(d_, dv, cache), ddo(d_, dout, qb), dqq(d_, q, qb), dkk(d_, k, cache),
            dvv(d_, v, cache), ds(d_, seq, n_rows * 4), dp(d_, pos, n_rows * 8), df(d_, first, first ? n_rows * 8 : 0);
        d_.attention_backward(ddq.f(), ddk.f(), ddv.f(), ddo.f(), dqq.f(), dkk.f(), dvv.f(), ds.as<int32_t>(),
                              dp.as<int64_t>(), first ? df.as<int64_t>() : nullptr, n_rows, n_seq, n_heads, n_kv, hd,
                              stride);
        back(dq, ddq);
        back(dk, ddk);
        back(dv, ddv);
    }
    int64_t crossentropy(float* losses, const float* logits, const int32_t* targets, int64_t n_rows,
                         int64_t n_vocab) override {
        Dev dl(d_, logits, n_rows * n_vocab * 4), dt(d_, targets, n_rows * 4), dloss(d_, n_rows * 4);
        const int64_t counted = d_.crossentropy(dloss.f(), dl.f(), dt.as<int32_t>(), n_rows, n_vocab);
        back(losses, dloss);
        return counted;
    }
    void crossentropy_backward(float* dlogits, const float* logits, const int32_t* targets, const float* dlosses,
                               int64_t n_rows, int64_t n_vocab) override {
        Dev dl(d_, logits, n_rows * n_vocab * 4), dt(d_, targets, n_rows * 4), dd(d_, dlosses, n_rows * 4);
        d_.crossentropy_backward(dl.f(), dl.f(), dt.as<int32_t>(), dd.f(), n_rows, n_vocab);
        back(dlogits, dl);
    }
    float log_softmax_at(const float* logits, int64_t n, int32_t target) override {
        Dev dl(d_, logits, n * 4);
        return d_.log_softmax_at(dl.f(), n, target);
    }
    void entropy(float* out, const float* logits, const int32_t* targets, int64_t n_rows, int64_t n_vocab) override {
        Dev dl(d_, logits, n_rows * n_vocab * 4), dt(d_, targets, targets ? n_rows * 4 : 0), dout(d_, n_rows * 4);
        d_.entropy(dout.f(), dl.f(), targets ? dt.as<int32_t>() : nullptr, n_rows, n_vocab);
        back(out, dout);
    }
    void kl_div(float* out, const float* logits_p, const float* logits_q, int64_t n_rows, int64_t n_vocab) override {
        Dev dp(d_, logits_p, n_rows * n_vocab * 4), dq(d_, logits_q, n_rows * n_vocab * 4), dout(d_, n_rows * 4);
        d_.kl_div(dout.f(), dp.f(), dq.f(), n_rows, n_vocab);
        back(out, dout);
    }
    void dropout(float* xd, const float* x, float p, uint64_t seed, int64_t n) override {
        Dev dx(d_, x, n * 4), dxd(d_, n * 4);
        d_.dropout(dxd.f(), dx.f(), p, seed, n);
        back(xd, dxd);
    }
    void dropout_backward(float* dx, const float* dxd, float p, uint64_t seed, int64_t n) override {
        Dev ddx(d_, dx, n * 4), ddxd(d_, dxd, n * 4);
        d_.dropout_backward(ddx.f(), ddxd.f(), p, seed, n);
        back(dx, ddx);
    }
    void add_scaled(float* y, const float* x, float alpha, int64_t n) override {
        Dev dy(d_, y, n * 4), dx(d_, x, n * 4);
        d_.add_scaled(dy.f(), dx.f(), alpha, n);
        back(y, dy);
    }
    void scale(float* x, float alpha, int64_t n) override {
        Dev dx(d_, x, n * 4);
        d_.scale(dx.f(), alpha, n);
        back(x, dx);
    }
    void outer_accumulate(float* out, const float* a, const float* b, int64_t n, int64_t P, int64_t Q,
                          float alpha) override {
        Dev dout(d_, out, P * Q * 4), da(d_, a, n * P * 4), db(d_, b, n * Q * 4);
        d_.outer_accumulate(dout.f(), da.f(), db.f(), n, P, Q, alpha);
        back(out, dout);
    }

private:
    void back(void* host, Dev& d) { d_.download(host, d.p, d.bytes); }
    Backend& d_;
    std::string name_;
};

std::string model_path(int32_t type) {
    return "/tmp/sl4j_cuda_test_" + std::to_string(type) + ".gguf";
}

std::unique_ptr<LlamaModel> random_model(int32_t type) {
    bench::RandomLlama spec = bench::small_gqa(type);
    spec.tied = type != SL4J_TYPE_Q8_0;
    spec.rope_linear = type == SL4J_TYPE_Q4_0 ? 2.0 : 0.0;
    spec.freq_factors = type == SL4J_TYPE_F16;
    spec.seed = uint64_t(type) + 1;
    bench::write_random_llama(model_path(type), spec);
    return LlamaModel::load(model_path(type));
}

// Logits of a prefill (two sequences, packed document starts) and two decode steps.
std::vector<float> run_session(const LlamaModel& model, Backend& be, int32_t kv_type = SL4J_TYPE_F16) {
    LlamaSession s(model, 2, 64, be, kv_type);
    std::vector<float> all;
    std::vector<int32_t> tokens, seqs;
    std::vector<int64_t> doc;
    for (int i = 0; i < 40; ++i) {
        tokens.push_back(int32_t((i * 37 + 11) % 300));
        seqs.push_back(i < 25 ? 0 : 1);
        doc.push_back(i >= 12 && i < 25 ? 12 : 0);
    }
    s.decode(tokens.data(), seqs.data(), nullptr, doc.data(), int64_t(tokens.size()), true);
    all.insert(all.end(), s.logits().begin(), s.logits().end());
    for (int step = 0; step < 2; ++step) {
        const int32_t t[2] = {int32_t(5 + step), int32_t(200 + step)}, q[2] = {0, 1};
        s.decode(t, q, nullptr, nullptr, 2, true);
        all.insert(all.end(), s.logits().begin(), s.logits().end());
    }
    return all;
}

double max_abs(const std::vector<float>& v) {
    double m = 0;
    for (float x : v) m = std::max(m, std::fabs(double(x)));
    return m;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double m = a.size() == b.size() ? 0 : INFINITY;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
    return m;
}

}  // namespace

// Token picks on the device (sample_rows) against the CPU's, pick by pick: 4 rows of 5003 logits
// (not a power of two: the sort's padding), picks with temperature / top-k / top-p / min-p,
// penalties and logit bias, greedy with a tie, a banned token, every token excluded and a row
// without a finite logit. The weights use expf (2 ulp) and the sums run in another order, so a
// pick may differ only where its draw lies within rounding of a boundary between candidates:
// draws are chosen at least 1e-6 from every boundary of the float64 reference (and top-p cuts
// 1e-6 from a knife edge); then the tokens must be equal, the log-probs within 1e-5 relative.
TEST(cuda_sample_rows_match_cpu) {
    Backend& g = gpu();
    const int64_t R = 4, V = 5003;
    auto L = noise(R * V, 91, 4.f);
    L[size_t(0 * V + 17)] = L[size_t(0 * V + 4000)] = 9.f;  // a tie at the top of row 0: 17 is the argmax
    for (int64_t i = 0; i < V; ++i) L[size_t(3 * V + i)] = -INFINITY;  // row 3: no finite logit
    std::vector<SampleAdjust> adj = {{17, 2, 0.f}, {4000, 0, 1.f}, {123, 1, -INFINITY}, {3000, 3, 0.5f}, {42, 1, 0.f}};
    auto params = [](int32_t row, float t, int32_t k, float top_p, float min_p) {
        SampleRowParams p{};
        p.row = row, p.banned = -1, p.temperature = t, p.top_k = k, p.top_p = top_p, p.min_p = min_p;
        p.repeat_penalty = 1.f, p.frequency_penalty = 0.f, p.presence_penalty = 0.f;
        return p;
    };
    std::vector<SampleRowParams> ps;
    for (int rep = 0; rep < 4; ++rep) {
        const int32_t row = rep % 3;
        ps.push_back(params(row, 1.0f, 0, 1.f, 0.f));
        ps.push_back(params(row, 0.8f, 40, 0.9f, 0.f));
        ps.push_back(params(row, 1.2f, 0, 0.95f, 0.f));
        ps.push_back(params(row, 0.7f, 0, 1.f, 0.05f));
        ps.push_back(params(row, 1.0f, 200, 1.f, 0.01f));
        SampleRowParams pen = params(row, 0.9f, 50, 0.8f, 0.f);
        pen.repeat_penalty = 1.3f, pen.frequency_penalty = 0.2f, pen.presence_penalty = 0.1f;
        pen.adj_begin = 0, pen.adj_count = int32_t(adj.size());
        pen.banned = 7;
        ps.push_back(pen);
    }
    for (SampleRowParams& p : ps) {  // draws away from the reference's boundaries
        const sl4j_test::RefCandidates ref = sl4j_test::reference_candidates(L.data() + p.row * V, V, p, adj.data());
        CHECK(ref.cut_margin > 1e-6);
        double margin = 0;
        for (uint64_t j = ps.size() * 1000 + uint64_t(&p - ps.data()); margin < 1e-6; j += 7919) {
            p.u = double(mix64(j) >> 11) * 0x1p-53;
            sl4j_test::reference_pick(ref, p.u, &margin);
        }
    }
    SampleRowParams greedy = params(0, 0.f, 0, 1.f, 0.f);
    ps.push_back(greedy);
    greedy.banned = 17;
    ps.push_back(greedy);
    SampleRowParams none = params(1, 1.f, 0, 1.f, 0.f);  // a -inf bias on every token
    none.adj_begin = int32_t(adj.size()), none.adj_count = int32_t(V);
    for (int32_t t = 0; t < V; ++t) adj.push_back({t, 0, -INFINITY});
    ps.push_back(none);
    ps.push_back(params(3, 1.f, 0, 1.f, 0.f));
    const int64_t n = int64_t(ps.size());

    std::vector<int32_t> want_t(size_t(n), 0);
    std::vector<float> want_lp(size_t(n), 0.f);
    std::vector<char> host_scratch(size_t(host().sample_scratch_bytes(n, V)));
    host().sample_rows(want_t.data(), want_lp.data(), L.data(), ps.data(), adj.data(), host_scratch.data(), n, V);
    for (int64_t i = 0; i + 4 < n; ++i) {  // the CPU is the reference's pick
        double margin;
        const SampleRowParams& p = ps[size_t(i)];
        CHECK_EQ(want_t[size_t(i)],
                 sl4j_test::reference_pick(sl4j_test::reference_candidates(L.data() + p.row * V, V, p, adj.data()),
                                           p.u, &margin));
    }
    CHECK_EQ(want_t[size_t(n - 4)], 17);
    CHECK_EQ(want_t[size_t(n - 3)], 4000);
    CHECK_EQ(want_t[size_t(n - 2)], kSampleAllExcluded);
    CHECK_EQ(want_t[size_t(n - 1)], kSampleNoFiniteLogit);

    Dev dL(g, L), dP(g, ps.data(), n * int64_t(sizeof(SampleRowParams))),
        dA(g, adj.data(), int64_t(adj.size() * sizeof(SampleAdjust))), dS(g, g.sample_scratch_bytes(n, V)),
        dT(g, n * 4), dLP(g, n * 4);
    g.sample_rows(dT.as<int32_t>(), dLP.f(), dL.f(), dP.as<SampleRowParams>(), dA.as<SampleAdjust>(), dS.p, n, V);
    const auto got_t = dT.get<int32_t>(size_t(n));
    auto got_lp = dLP.get<float>(size_t(n));
    CHECK(got_t == want_t);
    for (int64_t i = n - 2; i < n; ++i) got_lp[size_t(i)] = want_lp[size_t(i)];  // no pick: no log-prob
    check_rel("sample_rows log-probs", got_lp, want_lp, 1e-5, 1e-3);
}

TEST(cuda_whole_model_logits_every_type_match_cpu) {
    Backend& g32 = gpu(true);
    Backend& g16 = gpu(false);
    for (int32_t type : kTypes) {
        auto model = random_model(type);
        const auto want = run_session(*model, host());
        MirrorBackend m32(g32), m16(g16);
        const auto got32 = run_session(*model, m32), got16 = run_session(*model, m16);
        // F16 KV cache (the default) above; the F32 cache here, F32 GEMM.
        const auto want_f32kv = run_session(*model, host(), SL4J_TYPE_F32);
        const auto got_f32kv = run_session(*model, m32, SL4J_TYPE_F32);
        const double d32 = max_diff(got32, want), d16 = max_diff(got16, want), scale = max_abs(want);
        const double dkv = max_diff(got_f32kv, want_f32kv);
        std::fprintf(stderr, "    type %-2d: max |logit| %.3f, F32 GEMM max diff %.2e (F32 KV cache %.2e), BF16 GEMM %.2e\n",
                     type, scale, d32, dkv, d16);
        CHECK(scale > 0.1);
        CHECK(d32 <= 1e-3);
        CHECK(dkv <= 1e-3);
        CHECK(d16 <= 3e-2 * scale);
        std::remove(model_path(type).c_str());
    }
}

namespace {

// A LoRA adapter over every target with non-zero A and B (so the adapter's path counts), uploaded
// once per tensor.
void fill_adapter(LoraAdapter& lora) {
    for (LoraTensor& T : lora.tensors()) {
        std::vector<float> v(static_cast<size_t>(T.size()));
        for (int64_t i = 0; i < T.size(); ++i)
            v[size_t(i)] = bench::random_uniform(T.name.size() * 131 + 7, uint64_t(i), 0.05f);
        T.w.upload(v.data());
    }
}

LoraConfig every_target_lora() {
    LoraConfig c;
    c.r = 4;
    c.alpha = 8.f;
    c.dropout = 0.1f;
    c.targets = (1u << kLoraNumTargets) - 1;
    return c;
}

// B·T rows: tokens, the next token as target (every 7th ignored), two packed documents per row.
void batch_rows(int64_t B, int64_t T, uint64_t salt, std::vector<int32_t>* tokens, std::vector<int32_t>* targets,
                std::vector<int64_t>* doc) {
    for (int64_t i = 0; i < B * T; ++i) {
        tokens->push_back(int32_t((i * 53 + 3 + salt * 17) % 300));
        targets->push_back(i % 7 == 3 ? kIgnoreIndex : int32_t((i * 29 + 1 + salt * 5) % 300));
        doc->push_back(i % T >= 10 ? 10 : 0);
    }
}

}  // namespace

TEST(cuda_lora_training_step_gradients_match_cpu) {
    for (int32_t type : {SL4J_TYPE_F32, SL4J_TYPE_Q4_K}) {
        auto cpu_model = random_model(type);
        auto dev_model = LlamaModel::load(model_path(type), own_gpu());
        TrainConfig tc;
        tc.batch = 2;
        tc.seq_len = 24;
        std::vector<int32_t> tokens, targets;
        std::vector<int64_t> doc;
        batch_rows(tc.batch, tc.seq_len, 0, &tokens, &targets, &doc);
        std::vector<std::vector<float>> grads[2];
        double loss[2];
        for (int which = 0; which < 2; ++which) {
            const LlamaModel& model = which == 0 ? *cpu_model : *dev_model;
            LoraAdapter lora(model.hparams(), every_target_lora(), model.backend());
            fill_adapter(lora);
            Trainer tr(model, &lora, tc);
            tr.forward(tokens.data(), targets.data(), doc.data());
            int64_t counted = 0;
            loss[which] = tr.mean_loss(&counted);
            std::vector<float> d(static_cast<size_t>(tr.rows()), 1.f / float(counted));
            tr.backward(d.data(), nullptr, 1.f);
            for (const LoraTensor& T : lora.tensors()) grads[which].push_back(T.grad);
        }
        std::fprintf(stderr, "    type %d: loss cpu %.6f gpu %.6f\n", type, loss[0], loss[1]);
        CHECK_NEAR(loss[1], loss[0], 1e-4 * std::fabs(loss[0]));
        for (size_t t = 0; t < grads[0].size(); ++t) {
            const double scale = max_abs(grads[0][t]), d = max_diff(grads[1][t], grads[0][t]);
            if (!(d <= 1e-3 * scale)) std::fprintf(stderr, "    tensor %zu: max diff %.3g, max |grad| %.3g\n", t, d, scale);
            CHECK(scale > 0);
            CHECK(d <= 1e-3 * scale);
        }
        std::remove(model_path(type).c_str());
    }
}

// Full-parameter training (every weight trainable, F32): the gradient of every tensor after one
// step of the GPU kernels within 1e-3 · max |gradient| of the CPU trainer's, on a tied model
// (the embedding gets the input scatter-add and the output product) and an untied one.
TEST(cuda_full_parameter_training_gradients_match_cpu) {
    for (int32_t type : {SL4J_TYPE_F32, SL4J_TYPE_Q8_0}) {
        auto cpu_model = random_model(type);
        auto dev_model = LlamaModel::load(model_path(type), own_gpu());
        TrainConfig tc;
        tc.batch = 2;
        tc.seq_len = 24;
        tc.checkpointing = type == SL4J_TYPE_Q8_0;
        std::vector<int32_t> tokens, targets;
        std::vector<int64_t> doc;
        for (int64_t i = 0; i < tc.batch * tc.seq_len; ++i) {
            tokens.push_back(int32_t(i % 5 == 0 ? 17 : (i * 53 + 3) % 300));  // token 17 repeats
            targets.push_back(i % 7 == 3 ? kIgnoreIndex : int32_t((i * 29 + 1) % 300));
            doc.push_back(i % tc.seq_len >= 10 ? 10 : 0);
        }
        std::vector<std::vector<float>> grads[2];
        std::vector<std::string> names;
        double loss[2];
        for (int which = 0; which < 2; ++which) {
            const LlamaModel& model = which == 0 ? *cpu_model : *dev_model;
            FullParams full(model);
            Trainer tr(model, &full, tc);
            tr.forward(tokens.data(), targets.data(), doc.data());
            int64_t counted = 0;
            loss[which] = tr.mean_loss(&counted);
            std::vector<float> d(static_cast<size_t>(tr.rows()), 1.f / float(counted));
            tr.backward(d.data(), nullptr, 1.f);
            for (const ParamTensor& T : full.tensors()) {
                grads[which].push_back(T.grad);
                if (which == 0) names.push_back(T.name);
            }
        }
        std::fprintf(stderr, "    type %d (%s): loss cpu %.6f gpu %.6f, %zu tensors\n", type,
                     cpu_model->weights().tied_output ? "tied" : "untied", loss[0], loss[1], names.size());
        CHECK_NEAR(loss[1], loss[0], 1e-4 * std::fabs(loss[0]));
        CHECK_EQ(grads[0].size(), grads[1].size());
        for (size_t t = 0; t < grads[0].size() && t < grads[1].size(); ++t) {
            const double scale = max_abs(grads[0][t]), d = max_diff(grads[1][t], grads[0][t]);
            if (!(d <= 1e-3 * scale))
                std::fprintf(stderr, "    %s: max diff %.3g, max |grad| %.3g\n", names[t].c_str(), d, scale);
            CHECK(scale > 0);
            CHECK(d <= 1e-3 * scale);
        }
        std::remove(model_path(type).c_str());
    }
}

// The model resident on the device: weights uploaded once at load, KV cache, activations and
// logits in device memory, only the batch and the asked-for outputs crossing. Logits of every
// weight type within 1e-3 of the CPU session (F32 GEMM; F16 and F32 KV caches).
TEST(cuda_device_resident_model_logits_every_type_match_cpu) {
    for (int32_t type : kTypes) {
        auto cpu_model = random_model(type);
        auto dev_model = LlamaModel::load(model_path(type), own_gpu());
        CHECK(dev_model->device_bytes() > 0);
        for (int32_t kv : {SL4J_TYPE_F16, SL4J_TYPE_F32}) {
            const auto want = run_session(*cpu_model, host(), kv);
            const auto got = run_session(*dev_model, dev_model->backend(), kv);
            const double d = max_diff(got, want);
            std::fprintf(stderr, "    type %-2d, %s KV cache: max |logit| %.3f, max diff %.2e\n", type,
                         kv == SL4J_TYPE_F16 ? "F16" : "F32", max_abs(want), d);
            CHECK(max_abs(want) > 0.1);
            CHECK(d <= 1e-3);
        }
        std::remove(model_path(type).c_str());
    }
}

// 20 steps of LoRA SFT (every target, dropout 0.1, clipping at 1, AdamW lr 1e-2) on the GPU (model,
// adapter, gradients, AdamW state and trainer buffers in device memory; clipping and AdamW as
// device ops) and on the CPU, from the same initial adapter on the same batches: every step's
// loss within 1e-3, and the curve falls (the test trains something).
TEST(cuda_sft_20_step_loss_curve_matches_cpu) {
    auto cpu_model = random_model(SL4J_TYPE_Q4_K);
    auto dev_model = LlamaModel::load(model_path(SL4J_TYPE_Q4_K), own_gpu());
    TrainConfig tc;
    tc.batch = 2;
    tc.seq_len = 24;
    tc.checkpointing = true;
    AdamWParams ap;
    ap.lr = 1e-2f;
    std::vector<double> curve[2];
    for (int which = 0; which < 2; ++which) {
        const LlamaModel& model = which == 0 ? *cpu_model : *dev_model;
        LoraAdapter lora(model.hparams(), every_target_lora(), model.backend());
        fill_adapter(lora);
        Trainer tr(model, &lora, tc);
        for (int step = 0; step < 20; ++step) {
            std::vector<int32_t> tokens, targets;
            std::vector<int64_t> doc;
            batch_rows(tc.batch, tc.seq_len, uint64_t(step % 4), &tokens, &targets, &doc);
            zero_grad(lora);
            tr.forward(tokens.data(), targets.data(), doc.data());
            int64_t counted = 0;
            curve[which].push_back(tr.mean_loss(&counted));
            std::vector<float> d(static_cast<size_t>(tr.rows()), 1.f / float(counted));
            tr.backward(d.data(), nullptr, 1.f);
            clip_grad_norm(lora, 1.0);
            adamw_step(lora, ap);
        }
    }
    double worst = 0;
    for (size_t s = 0; s < curve[0].size(); ++s) worst = std::max(worst, std::fabs(curve[1][s] - curve[0][s]));
    std::fprintf(stderr, "    loss %.4f -> %.4f (cpu), %.4f -> %.4f (gpu), max step diff %.2e\n", curve[0].front(),
                 curve[0].back(), curve[1].front(), curve[1].back(), worst);
    CHECK_EQ(curve[1].size(), size_t(20));
    CHECK(worst <= 1e-3);
    CHECK(curve[0].back() < 0.8 * curve[0].front());
    std::remove(model_path(SL4J_TYPE_Q4_K).c_str());
}

// One PPO step's native part: old log-probs (policy, no grad), reference log-probs (adapter
// off), the per-token KL, then the clipped-surrogate gradient at ratio 1 (d loss/d row loss =
// advantage / counted rows) pushed through the policy. Mean KL, policy loss and gradient norm
// within 1e-4 relative of the CPU's.
TEST(cuda_ppo_step_stats_match_cpu) {
    auto cpu_model = random_model(SL4J_TYPE_Q8_0);
    auto dev_model = LlamaModel::load(model_path(SL4J_TYPE_Q8_0), own_gpu());
    TrainConfig tc;
    tc.batch = 2;
    tc.seq_len = 24;
    double kl[2], pg[2], norm[2];
    for (int which = 0; which < 2; ++which) {
        const LlamaModel& model = which == 0 ? *cpu_model : *dev_model;
        LoraConfig c = every_target_lora();
        c.dropout = 0.f;  // PPO's policy forward is deterministic
        LoraAdapter lora(model.hparams(), c, model.backend());
        fill_adapter(lora);
        Trainer tr(model, &lora, tc);
        std::vector<int32_t> tokens, targets;
        std::vector<int64_t> doc;
        batch_rows(tc.batch, tc.seq_len, 9, &tokens, &targets, &doc);
        tr.forward(tokens.data(), targets.data(), doc.data(), false);
        const std::vector<float> old_nlp = tr.row_losses();
        tr.set_adapter_enabled(false);
        tr.forward(tokens.data(), targets.data(), doc.data(), false);
        const std::vector<float> ref_nlp = tr.row_losses();
        tr.set_adapter_enabled(true);
        tr.forward(tokens.data(), targets.data(), doc.data());
        int64_t counted = 0;
        tr.mean_loss(&counted);
        std::vector<float> d(static_cast<size_t>(tr.rows()), 0.f);
        double kl_sum = 0, pg_sum = 0;
        for (int64_t r = 0; r < tr.rows(); ++r) {
            if (targets[size_t(r)] == kIgnoreIndex) continue;
            const double adv = double(int64_t(r % 5) - 2) * 0.5;  // fixed advantages, mean 0 over a cycle
            const double ratio = std::exp(double(old_nlp[size_t(r)]) - tr.row_losses()[size_t(r)]);
            kl_sum += double(ref_nlp[size_t(r)]) - old_nlp[size_t(r)];  // log π - log π_ref
            pg_sum += -adv * ratio;
            d[size_t(r)] = float(adv * ratio / double(counted));  // d(-adv·ratio)/d(row loss)
        }
        zero_grad(lora);
        tr.backward(d.data(), nullptr, 1.f);
        kl[which] = kl_sum / double(counted);
        pg[which] = pg_sum / double(counted);
        norm[which] = grad_norm(lora);
    }
    std::fprintf(stderr, "    mean KL cpu %.6g gpu %.6g, policy loss cpu %.6g gpu %.6g, grad norm cpu %.6g gpu %.6g\n",
                 kl[0], kl[1], pg[0], pg[1], norm[0], norm[1]);
    CHECK(std::fabs(kl[0]) > 1e-4 && norm[0] > 0);
    CHECK_NEAR(kl[1], kl[0], 1e-4 * std::fabs(kl[0]) + 1e-6);
    CHECK_NEAR(pg[1], pg[0], 1e-4 * std::fabs(pg[0]) + 1e-6);
    CHECK_NEAR(norm[1], norm[0], 1e-4 * norm[0]);
    std::remove(model_path(SL4J_TYPE_Q8_0).c_str());
}
