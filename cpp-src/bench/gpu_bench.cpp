// GPU benchmark of the CUDA backend's kernels on a 7B-shaped LLaMA in Q4_K (dim 4096, 32 layers,
// 32 heads, ffn 11008, vocab 32000; random weights, distinct per layer, resident on the device),
// with two peers measured in the same run: HBM read bandwidth (sum_squares over 2 GiB) and the
// engine's BF16 tensor-core GEMM rate (matmul, BF16 weights, 4096³). It times the op sequence of
// one forward pass as session.cpp's layer loop issues it (embedding, rmsnorm, q/k/v, RoPE, KV
// rows into the cache, attention, wo, residual, rmsnorm, gate/up, SwiGLU, down, residual; final
// norm and output rows), on device buffers, and a LoRA training step's op sequence (forward with
// r=16 adapters on every projection, then every layer's backward), on weights it makes in device
// memory (no model file to write). The session and the trainer issue these ops on device memory.
//
// It also reports the planned peak device memory (sl4j_memory_plan) of LoRA SFT and a PPO step
// on the full 7B shape; that part needs no GPU.
//
// Usage: gpu_bench [--quick] [--json FILE]. Exits 3 with "no GPU" when no CUDA device is usable.
// --cpu-stand-in runs the same sequence on the CPU backend at a tiny GQA shape: a check of the
// benchmark's own buffer sizes on a machine without a GPU (its figures mean nothing).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda_plugin.h"
#include "core/error.h"
#include "core/types.h"
#include "plan_targets.h"
#include "random_weights.h"
#include "stackllama4j.h"

#if defined(SL4J_WITH_CUDA)
#include <cuda_runtime.h>
#endif

using namespace sl4j;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct Gpu {
    Backend& be;
    float* sync_cell;
    // Waits for every queued kernel (a 4-byte download synchronises the default stream).
    void sync() {
        float v;
        be.download(&v, sync_cell, 4);
    }
    double best(int reps, const std::function<void()>& fn) {
        fn();
        sync();
        double t = 1e30;
        for (int r = 0; r < reps; ++r) {
            const double t0 = now();
            fn();
            sync();
            t = std::min(t, now() - t0);
        }
        return t;
    }
};

int64_t device_bytes_in_use() {
#if defined(SL4J_WITH_CUDA)
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) return int64_t(total_b - free_b);
#endif
    return -1;
}

struct Buf {
    Backend& be;
    void* p;
    Buf(Backend& b, int64_t bytes) : be(b), p(b.alloc(bytes)) {}
    ~Buf() { be.release(p); }
    float* f() const { return static_cast<float*>(p); }
};

struct Shape {
    int64_t dim = 4096, layers = 32, heads = 32, kv_heads = 32, ffn = 11008, vocab = 32000, ctx = 1024, seqs = 8;
    int64_t head_dim() const { return dim / heads; }
    int64_t kv_dim() const { return kv_heads * head_dim(); }
};

struct Layer {
    std::unique_ptr<Buf> attn_norm, wq, wk, wv, wo, ffn_norm, gate, up, down;
};

std::unique_ptr<Buf> upload_weight(Backend& be, int32_t type, int64_t rows, int64_t cols, uint64_t seed) {
    const auto bytes = bench::random_weight_bytes(type, rows, cols, 0.05f, seed, true);
    auto b = std::make_unique<Buf>(be, int64_t(bytes.size()));
    be.upload(b->p, bytes.data(), int64_t(bytes.size()));
    return b;
}

std::unique_ptr<Buf> upload_floats(Backend& be, const std::vector<float>& v) {
    auto b = std::make_unique<Buf>(be, int64_t(v.size() * 4));
    be.upload(b->p, v.data(), int64_t(v.size() * 4));
    return b;
}

// One LoRA adapter (A: r×in, B: out×r, F32) and its gradients.
struct Adapter {
    std::unique_ptr<Buf> a, b, ga, gb;
    int64_t in = 0, out = 0;
};

// Planned peak device memory (sl4j_memory_plan) of a command on the full 7B shape in Q4_K with
// F32 norms: the plan's device part with device = CUDA (its reserve for the CUDA context included).
// Needs no GPU: the same figure in every mode.
struct DevicePlan {
    int64_t sft = 0, ppo = 0;
};
DevicePlan plan_device_bytes() {
    const Shape S;
    const int32_t wt = SL4J_TYPE_Q4_K;
    sl4j_model_info info{};
    info.n_vocab = S.vocab;
    info.dim = S.dim;
    info.n_layers = S.layers;
    info.n_heads = S.heads;
    info.n_kv_heads = S.kv_heads;
    info.head_dim = S.head_dim();
    info.ffn = S.ffn;
    info.n_rot = S.head_dim();
    info.n_ctx_train = 4096;
    info.rope_base = 10000.0;
    info.rms_eps = 1e-5;
    info.weight_type = wt;
    const int64_t weights = 2 * type_row_bytes(wt, S.dim) * S.vocab + 4 * S.dim * (2 * S.layers + 1) +
                            S.layers * (type_row_bytes(wt, S.dim) * (2 * S.dim + 2 * S.kv_dim() + 2 * S.ffn) +
                                        type_row_bytes(wt, S.ffn) * S.dim);
    auto run = [&](const sl4j_memory_plan_params& p) {
        sl4j_memory_plan_result r{};
        if (sl4j_memory_plan(&info, &p, &r) != SL4J_OK)
            SL4J_FAIL(SL4J_ERR_INTERNAL, "gpu_bench: memory plan failed: %s", sl4j_last_error());
        return r.device;
    };
    DevicePlan out;
    sl4j_memory_plan_params sft = bench::sft_7b_target();
    sft.weight_bytes = weights;
    sft.device = SL4J_DEVICE_CUDA;
    out.sft = run(sft);
    sl4j_memory_plan_params ppo = bench::ppo_7b_target();
    ppo.weight_bytes = weights;
    ppo.device = SL4J_DEVICE_CUDA;
    out.ppo = run(ppo);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    bool quick = false, stand_in = false;
    std::string json_path;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) quick = true;
        else if (std::strcmp(argv[i], "--cpu-stand-in") == 0) stand_in = quick = true;
        else if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) json_path = argv[++i];
        else {
            std::fprintf(stderr, "usage: gpu_bench [--quick] [--cpu-stand-in] [--json FILE]\n");
            return 2;
        }
    }
    DevicePlan plan;
    try {
        plan = plan_device_bytes();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "gpu_bench: %s\n", e.what());
        return 1;
    }
    std::printf("planned peak device memory, 7B Q4_K: LoRA r16 SFT 1024x4 (checkpointing) %.2f GiB, "
                "PPO 8x(256+128) %.2f GiB\n", double(plan.sft) / 1073741824.0, double(plan.ppo) / 1073741824.0);
    std::fflush(stdout);
    std::string why_no_gpu;
    if (!stand_in && cuda_device_count(&why_no_gpu) == 0) {
        std::fprintf(stderr, "gpu_bench: no GPU: %s\n", why_no_gpu.c_str());
        return 3;
    }
    try {
        std::unique_ptr<Backend> owned = stand_in ? make_cpu_backend() : make_cuda_backend(0);
        Backend& be = *owned;
        const int64_t base_mem = device_bytes_in_use();
        int64_t peak_mem = base_mem;
        auto note_mem = [&] { peak_mem = std::max(peak_mem, device_bytes_in_use()); };
        Buf cell(be, 64);
        Gpu gpu{be, cell.f()};
        std::printf("%s\n", be.name().c_str());

        // Peer 1: read bandwidth.
        const int64_t bw_floats = stand_in ? (1ll << 20) : (quick ? 256ll : 2048ll) << 18;  // floats: 256 MiB or 2 GiB
        double read_gbs;
        {
            Buf big(be, bw_floats * 4);
            be.scale(big.f(), 0.f, bw_floats);
            note_mem();
            const double t = gpu.best(5, [&] { be.sum_squares(big.f(), bw_floats); });
            read_gbs = double(bw_floats) * 4 / t / 1e9;
        }
        std::printf("HBM read: %.0f GB/s (sum_squares over %.2f GiB)\n", read_gbs, double(bw_floats) * 4 / 1073741824.0);

        // Peer 2: the engine's BF16 tensor-core GEMM.
        const int64_t G = stand_in ? 128 : quick ? 2048 : 4096;
        double gemm_tflops;
        {
            auto w = upload_weight(be, SL4J_TYPE_BF16, G, G, 5);
            Buf x(be, G * G * 4), out(be, G * G * 4);
            be.scale(x.f(), 0.f, G * G);
            note_mem();
            const double t = gpu.best(3, [&] { be.matmul(out.f(), w->p, SL4J_TYPE_BF16, x.f(), G, G, G); });
            gemm_tflops = 2.0 * G * G * G / t / 1e12;
        }
        std::printf("BF16 GEMM (engine matmul, BF16 weights, %lld^3): %.1f TFLOP/s\n", (long long)G, gemm_tflops);

        // The 7B-shaped Q4_K model.
        Shape S;
        if (quick) S.layers = 4;
        if (stand_in) S = Shape{256, 2, 4, 2, 512, 1000, 600, 8};
        const int32_t wt = SL4J_TYPE_Q4_K;
        const int64_t D = S.dim, KV = S.kv_dim(), F = S.ffn, HD = S.head_dim();
        const double t_gen = now();
        auto tok_embd = upload_weight(be, wt, S.vocab, D, 1);
        auto output = upload_weight(be, wt, S.vocab, D, 2);
        auto out_norm = upload_floats(be, std::vector<float>(size_t(D), 1.f));
        std::vector<Layer> layers(static_cast<size_t>(S.layers));
        int64_t weight_bytes = 2 * type_row_bytes(wt, D) * S.vocab;
        for (int64_t l = 0; l < S.layers; ++l) {
            Layer& L = layers[size_t(l)];
            const uint64_t s = 100 + uint64_t(l) * 10;
            L.attn_norm = upload_floats(be, std::vector<float>(size_t(D), 1.f));
            L.ffn_norm = upload_floats(be, std::vector<float>(size_t(D), 1.f));
            L.wq = upload_weight(be, wt, D, D, s + 1);
            L.wk = upload_weight(be, wt, KV, D, s + 2);
            L.wv = upload_weight(be, wt, KV, D, s + 3);
            L.wo = upload_weight(be, wt, D, D, s + 4);
            L.gate = upload_weight(be, wt, F, D, s + 5);
            L.up = upload_weight(be, wt, F, D, s + 6);
            L.down = upload_weight(be, wt, D, F, s + 7);
            weight_bytes += type_row_bytes(wt, D) * (2 * D + 2 * KV + 2 * F) + type_row_bytes(wt, F) * D;
        }
        std::printf("model: %lld layers, %.2f GiB of Q4_K weights on the device (generated in %.1f s)\n",
                    (long long)S.layers, double(weight_bytes) / 1073741824.0, now() - t_gen);
        const int64_t stride = S.ctx * KV;
        Buf kc(be, S.layers * S.seqs * stride * 4), vc(be, S.layers * S.seqs * stride * 4);
        be.scale(kc.f(), 0.f, S.layers * S.seqs * stride);
        be.scale(vc.f(), 0.f, S.layers * S.seqs * stride);
        const int64_t NMAX = 512;
        Buf x(be, NMAX * D * 4), xb(be, NMAX * D * 4), xb2(be, NMAX * D * 4), q(be, NMAX * D * 4), k(be, NMAX * KV * 4),
            v(be, NMAX * KV * 4), att(be, NMAX * D * 4), hb(be, NMAX * F * 4), hb2(be, NMAX * F * 4),
            cs(be, NMAX * HD * 4), logits(be, 8 * S.vocab * 4), inv(be, NMAX * 4);
        Buf tokens(be, NMAX * 4), pos(be, NMAX * 8), seq(be, NMAX * 4), offs(be, NMAX * 8);
        note_mem();

        // Rows: n tokens, either one sequence at positions p0.. (prefill) or one per sequence at p0.
        auto set_rows = [&](int64_t n, int64_t p0, bool one_seq) {
            std::vector<int32_t> t(static_cast<size_t>(n)), sq(static_cast<size_t>(n));
            std::vector<int64_t> ps(static_cast<size_t>(n)), of(static_cast<size_t>(n));
            for (int64_t r = 0; r < n; ++r) {
                t[size_t(r)] = int32_t((r * 7919) % S.vocab);
                sq[size_t(r)] = one_seq ? 0 : int32_t(r);
                ps[size_t(r)] = one_seq ? p0 + r : p0;
                of[size_t(r)] = sq[size_t(r)] * stride + ps[size_t(r)] * KV;
            }
            be.upload(tokens.p, t.data(), n * 4);
            be.upload(seq.p, sq.data(), n * 4);
            be.upload(pos.p, ps.data(), n * 8);
            be.upload(offs.p, of.data(), n * 8);
        };
        auto forward = [&](int64_t n, int64_t n_out) {
            const int32_t* tk = static_cast<const int32_t*>(tokens.p);
            const int64_t* ps = static_cast<const int64_t*>(pos.p);
            be.embedding(x.f(), tk, tok_embd->p, wt, n, D, S.vocab);
            be.rope_cache(cs.f(), ps, n, HD, 10000.0, 1.0, nullptr);
            for (int64_t l = 0; l < S.layers; ++l) {
                const Layer& L = layers[size_t(l)];
                float* kl = kc.f() + l * S.seqs * stride;
                float* vl = vc.f() + l * S.seqs * stride;
                be.rmsnorm(xb.f(), nullptr, x.f(), L.attn_norm->f(), n, D, 1e-5f);
                be.matmul(q.f(), L.wq->p, wt, xb.f(), n, D, D);
                be.matmul(k.f(), L.wk->p, wt, xb.f(), n, D, KV);
                be.matmul(v.f(), L.wv->p, wt, xb.f(), n, D, KV);
                be.rope(q.f(), cs.f(), n, S.heads, HD, HD);
                be.rope(k.f(), cs.f(), n, S.kv_heads, HD, HD);
                be.copy_rows(kl, static_cast<const int64_t*>(offs.p), k.f(), n, KV);
                be.copy_rows(vl, static_cast<const int64_t*>(offs.p), v.f(), n, KV);
                be.attention(att.f(), q.f(), kl, vl, static_cast<const int32_t*>(seq.p), ps, nullptr, n, S.heads,
                             S.kv_heads, HD, stride);
                be.matmul(xb2.f(), L.wo->p, wt, att.f(), n, D, D);
                be.residual(x.f(), xb2.f(), n * D);
                be.rmsnorm(xb.f(), nullptr, x.f(), L.ffn_norm->f(), n, D, 1e-5f);
                be.matmul(hb.f(), L.gate->p, wt, xb.f(), n, D, F);
                be.matmul(hb2.f(), L.up->p, wt, xb.f(), n, D, F);
                be.swiglu(hb.f(), hb.f(), hb2.f(), n * F);
                be.matmul(xb2.f(), L.down->p, wt, hb.f(), n, F, D);
                be.residual(x.f(), xb2.f(), n * D);
            }
            const float* last = x.f() + (n - n_out) * D;
            be.rmsnorm(xb.f(), nullptr, last, out_norm->f(), n_out, D, 1e-5f);
            be.matmul(logits.f(), output->p, wt, xb.f(), n_out, D, S.vocab);
        };
        set_rows(512, 0, true);
        const double t_prefill = gpu.best(quick ? 1 : 3, [&] { forward(512, 1); });
        note_mem();
        set_rows(1, 511, true);
        const double t_dec1 = gpu.best(quick ? 3 : 10, [&] { forward(1, 1); });
        set_rows(8, 511, false);
        const double t_dec8 = gpu.best(quick ? 3 : 10, [&] { forward(8, 8); });
        const double floor_tps = read_gbs * 1e9 / double(weight_bytes);
        std::printf("prefill 512: %.0f tok/s\ndecode batch 1: %.1f tok/s (HBM floor %.1f, %.0f%%)\ndecode batch 8: %.1f tok/s\n",
                    512 / t_prefill, 1 / t_dec1, floor_tps, 100 * (1 / t_dec1) / floor_tps, 8 / t_dec8);

        // LoRA training step: forward with adapters, backward through every layer, at 512 tokens.
        const int64_t T = 512, R = 16;
        std::vector<std::vector<Adapter>> ad(size_t(S.layers));
        const int64_t io[7][2] = {{D, D}, {D, KV}, {D, KV}, {D, D}, {D, F}, {D, F}, {F, D}};
        for (auto& per : ad)
            for (int t = 0; t < 7; ++t) {
                Adapter A;
                A.in = io[t][0];
                A.out = io[t][1];
                A.a = upload_floats(be, std::vector<float>(size_t(R * A.in), 0.01f));
                A.b = upload_floats(be, std::vector<float>(size_t(A.out * R), 0.01f));
                A.ga = upload_floats(be, std::vector<float>(size_t(R * A.in), 0.f));
                A.gb = upload_floats(be, std::vector<float>(size_t(A.out * R), 0.f));
                per.push_back(std::move(A));
            }
        Buf u(be, T * R * 4), du(be, T * R * 4), dx(be, T * F * 4), dy(be, T * F * 4), dtmp(be, T * F * 4),
            dq(be, T * D * 4), dkk(be, S.seqs * stride * 4), dvv(be, S.seqs * stride * 4), losses(be, T * 4),
            dlog(be, T * S.vocab * 4), targets(be, T * 4), dl(be, T * 4);
        {
            std::vector<int32_t> tg(static_cast<size_t>(T));
            for (int64_t r = 0; r < T; ++r) tg[size_t(r)] = int32_t((r * 31) % S.vocab);
            be.upload(targets.p, tg.data(), T * 4);
            std::vector<float> g(static_cast<size_t>(T), 1.f / float(T));
            be.upload(dl.p, g.data(), T * 4);
        }
        // y += s·B·(A·x) and its backward (dB += dyᵀ·u, du = dy·B, dA += duᵀ·x, dx += du·A).
        auto lora_fwd = [&](Adapter& A, float* y, const float* in) {
            be.matmul(u.f(), A.a->p, SL4J_TYPE_F32, in, T, A.in, R);
            be.matmul(dtmp.f(), A.b->p, SL4J_TYPE_F32, u.f(), T, R, A.out);
            be.add_scaled(y, dtmp.f(), 2.f, T * A.out);
        };
        auto lora_bwd = [&](Adapter& A, float* dxin, const float* dyout, const float* in) {
            be.outer_accumulate(A.gb->f(), dyout, u.f(), T, A.out, R, 2.f);
            be.matmul_transposed(du.f(), A.b->p, SL4J_TYPE_F32, dyout, T, R, A.out);
            be.outer_accumulate(A.ga->f(), du.f(), in, T, R, A.in, 2.f);
            be.matmul_transposed(dtmp.f(), A.a->p, SL4J_TYPE_F32, du.f(), T, A.in, R);
            be.add_scaled(dxin, dtmp.f(), 2.f, T * A.in);
        };
        set_rows(T, 0, true);
        auto train_step = [&] {
            const int64_t* ps = static_cast<const int64_t*>(pos.p);
            const int32_t* sq = static_cast<const int32_t*>(seq.p);
            be.embedding(x.f(), static_cast<const int32_t*>(tokens.p), tok_embd->p, wt, T, D, S.vocab);
            be.rope_cache(cs.f(), ps, T, HD, 10000.0, 1.0, nullptr);
            for (int64_t l = 0; l < S.layers; ++l) {  // forward (activation checkpointing: nothing kept)
                const Layer& L = layers[size_t(l)];
                auto& A = ad[size_t(l)];
                be.rmsnorm(xb.f(), inv.f(), x.f(), L.attn_norm->f(), T, D, 1e-5f);
                be.matmul(q.f(), L.wq->p, wt, xb.f(), T, D, D);
                lora_fwd(A[0], q.f(), xb.f());
                be.matmul(k.f(), L.wk->p, wt, xb.f(), T, D, KV);
                lora_fwd(A[1], k.f(), xb.f());
                be.matmul(v.f(), L.wv->p, wt, xb.f(), T, D, KV);
                lora_fwd(A[2], v.f(), xb.f());
                be.rope(q.f(), cs.f(), T, S.heads, HD, HD);
                be.rope(k.f(), cs.f(), T, S.kv_heads, HD, HD);
                be.attention(att.f(), q.f(), k.f(), v.f(), sq, ps, nullptr, T, S.heads, S.kv_heads, HD, T * KV);
                be.matmul(xb2.f(), L.wo->p, wt, att.f(), T, D, D);
                lora_fwd(A[3], xb2.f(), att.f());
                be.residual(x.f(), xb2.f(), T * D);
                be.rmsnorm(xb.f(), inv.f(), x.f(), L.ffn_norm->f(), T, D, 1e-5f);
                be.matmul(hb.f(), L.gate->p, wt, xb.f(), T, D, F);
                lora_fwd(A[4], hb.f(), xb.f());
                be.matmul(hb2.f(), L.up->p, wt, xb.f(), T, D, F);
                lora_fwd(A[5], hb2.f(), xb.f());
                be.swiglu(dy.f(), hb.f(), hb2.f(), T * F);
                be.matmul(xb2.f(), L.down->p, wt, dy.f(), T, F, D);
                lora_fwd(A[6], xb2.f(), dy.f());
                be.residual(x.f(), xb2.f(), T * D);
            }
            be.rmsnorm(xb.f(), inv.f(), x.f(), out_norm->f(), T, D, 1e-5f);
            be.matmul(dlog.f(), output->p, wt, xb.f(), T, D, S.vocab);
            be.crossentropy(losses.f(), dlog.f(), static_cast<const int32_t*>(targets.p), T, S.vocab);
            be.crossentropy_backward(dlog.f(), dlog.f(), static_cast<const int32_t*>(targets.p), dl.f(), T, S.vocab);
            be.matmul_transposed(xb.f(), output->p, wt, dlog.f(), T, D, S.vocab);
            be.rmsnorm_backward(x.f(), xb.f(), x.f(), out_norm->f(), inv.f(), T, D);
            for (int64_t l = S.layers - 1; l >= 0; --l) {  // backward (recomputing the layer is in the forward's cost)
                const Layer& L = layers[size_t(l)];
                auto& A = ad[size_t(l)];
                // FFN: down, SwiGLU, gate/up, norm.
                be.matmul_transposed(dx.f(), L.down->p, wt, x.f(), T, F, D);
                lora_bwd(A[6], dx.f(), x.f(), dy.f());
                be.swiglu_backward(dy.f(), dtmp.f(), dx.f(), hb.f(), hb2.f(), T * F);
                be.matmul_transposed(xb2.f(), L.gate->p, wt, dy.f(), T, D, F);
                lora_bwd(A[4], xb2.f(), dy.f(), xb.f());
                be.matmul_transposed(att.f(), L.up->p, wt, dtmp.f(), T, D, F);
                lora_bwd(A[5], att.f(), dtmp.f(), xb.f());
                be.residual_backward(xb2.f(), att.f(), T * D);
                be.rmsnorm_backward(x.f(), xb2.f(), x.f(), L.ffn_norm->f(), inv.f(), T, D);
                // Attention: wo, attention, RoPE, q/k/v, norm.
                be.matmul_transposed(att.f(), L.wo->p, wt, x.f(), T, D, D);
                lora_bwd(A[3], att.f(), x.f(), att.f());
                be.scale(dkk.f(), 0.f, T * KV);
                be.scale(dvv.f(), 0.f, T * KV);
                be.attention_backward(dq.f(), dkk.f(), dvv.f(), att.f(), q.f(), k.f(), v.f(), sq, ps, nullptr, T, 1,
                                      S.heads, S.kv_heads, HD, T * KV);
                be.rope_backward(dq.f(), cs.f(), T, S.heads, HD, HD);
                be.rope_backward(dkk.f(), cs.f(), T, S.kv_heads, HD, HD);
                be.matmul_transposed(xb2.f(), L.wq->p, wt, dq.f(), T, D, D);
                lora_bwd(A[0], xb2.f(), dq.f(), xb.f());
                be.matmul_transposed(att.f(), L.wk->p, wt, dkk.f(), T, D, KV);
                lora_bwd(A[1], att.f(), dkk.f(), xb.f());
                be.residual_backward(xb2.f(), att.f(), T * D);
                be.matmul_transposed(att.f(), L.wv->p, wt, dvv.f(), T, D, KV);
                lora_bwd(A[2], att.f(), dvv.f(), xb.f());
                be.residual_backward(xb2.f(), att.f(), T * D);
                be.rmsnorm_backward(x.f(), xb2.f(), x.f(), L.attn_norm->f(), inv.f(), T, D);
            }
        };
        const double t_train = gpu.best(quick ? 1 : 2, train_step);
        note_mem();
        // Matmul FLOPs per training token, as the CLI's bench counts them (Bench.trainFlopsPerToken).
        const double d = double(D), qd = double(D), kv = double(KV), f = double(F), V = double(S.vocab),
                     L = double(S.layers), c = (T + 1) / 2.0, r = double(R);
        const double P = L * (d * qd + 2 * d * kv + qd * d + 3 * d * f) + d * V;
        double flops = 2 * P + L * 4 * qd * c + 2 * P - 2 * d * (qd + 2 * kv) + L * 8 * qd * c;
        for (auto& a : io) flops += L * 6 * r * double(a[0] + a[1]) - 2 * r * double(a[0]);
        const double train_tps = T / t_train, train_tflops = train_tps * flops / 1e12;
        std::printf("LoRA training (r=16, all projections, 512 tokens): %.0f tok/s, %.1f TFLOP/s (%.0f%% of the GEMM rate)\n",
                    train_tps, train_tflops, 100 * train_tflops / gemm_tflops);
        std::printf("peak device memory of this benchmark: %.2f GiB\n", double(peak_mem - base_mem) / 1073741824.0);

        if (!json_path.empty()) {
            FILE* out = std::fopen(json_path.c_str(), "w");
            if (out == nullptr) SL4J_FAIL(SL4J_ERR_IO, "gpu_bench: cannot write %s", json_path.c_str());
            std::fprintf(out,
                         "{\n  \"device\": \"%s\",\n  \"quick\": %s,\n  \"model\": \"7B-shaped Q4_K, %lld layers, "
                         "random weights\",\n  \"weight_bytes\": %lld,\n  \"hbm_read_gb_s\": %.1f,\n"
                         "  \"bf16_gemm_tflops\": %.2f,\n  \"prefill_512_tok_s\": %.1f,\n  \"decode_b1_tok_s\": %.2f,\n"
                         "  \"decode_b1_hbm_floor_tok_s\": %.2f,\n  \"decode_b8_tok_s\": %.2f,\n"
                         "  \"lora_train_tok_s\": %.1f,\n  \"lora_train_tflops\": %.2f,\n"
                         "  \"train_flops_per_token\": %.0f,\n  \"bench_peak_device_bytes\": %lld,\n"
                         "  \"decode_b1_fraction_of_floor\": %.3f,\n  \"decode_b1_target\": 0.70,\n"
                         "  \"train_fraction_of_gemm\": %.3f,\n  \"train_target\": 0.35,\n"
                         "  \"sft_peak_device_bytes_planned\": %lld,\n  \"ppo_peak_device_bytes_planned\": %lld,\n"
                         "  \"note\": \"*_planned: sl4j_memory_plan for the full 7B Q4_K shape (LoRA r16 SFT 1024x4 with "
                         "checkpointing; PPO 8x(256+128), F16 KV cache, checkpointing), every part on the device, not "
                         "measured; bench_peak_device_bytes is this benchmark's own footprint\"\n}\n",
                         be.name().c_str(), quick ? "true" : "false", (long long)S.layers, (long long)weight_bytes,
                         read_gbs, gemm_tflops, 512 / t_prefill, 1 / t_dec1, floor_tps, 8 / t_dec8, train_tps,
                         train_tflops, flops, (long long)(peak_mem - base_mem), (1 / t_dec1) / floor_tps,
                         train_tflops / gemm_tflops, (long long)plan.sft, (long long)plan.ppo);
            std::fclose(out);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "gpu_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
