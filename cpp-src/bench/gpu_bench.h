// The GPU benchmark (gpu_bench, run by scripts/gpu-check.sh): a 7B-shaped LLaMA in Q4_K (dim 4096,
// 32 layers, 32 heads, ffn 11008, vocab 32000, untied output; random weights, distinct per tensor)
// written as a GGUF by the engine's streaming writer to a temporary file, loaded with the public C
// API on the device, and timed through the code users run:
//   prefill 512   sl4j_session_decode of a 512-token prompt (last row's logits), then the first
//                 token picked on the device (sl4j_sampler_sample_batch, greedy), as `generate` does;
//   decode b1/b8  sessions of 1 and 8 sequences (a 511-token prompt each), every step one batched
//                 sl4j_session_decode of one token per sequence and one sl4j_sampler_sample_batch
//                 of the picks, as the CLI's batched generation loop does;
//   LoRA step     what `sft` runs per optimiser step: sl4j_lora_zero_grad, sl4j_trainer_step_ce
//                 (1 × 512 tokens, targets shifted, activation checkpointing), clip to norm 1,
//                 sl4j_lora_adamw_step; r = 16 on every projection, PEFT's defaults otherwise.
// Beside them two peers measured in the same run on a backend of the same device: read bandwidth
// (sum_squares over 2 GiB) and the engine's BF16 tensor-core GEMM (matmul, BF16 weights, 4096³).
// It also reports the planned peak device memory (sl4j_memory_plan) of LoRA SFT and a PPO step on
// the full 7B shape; that part needs no GPU.
//
// --cpu-stand-in runs all of it on the CPU at a small GQA shape in about a second: a check of the
// benchmark itself on a machine without a GPU (engine_tests runs it; its speeds mean nothing).
// Matrices are N(0, σ²) with σ·√dim the same at every shape, so the training loss is about
// ln(vocab) + dim·σ_out²·E[g²]/2 (g the output norm's weights) on the 7B shape as on the stand-in.
#pragma once
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
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

namespace sl4j::bench {

struct GpuBenchOptions {
    bool quick = false;     // 4 layers, smaller peers, fewer repeats
    bool stand_in = false;  // the CPU at a small shape (implies quick)
    std::string dir;        // where the temporary model file goes; "" = $TMPDIR or /tmp
};

struct GpuBenchResult {
    std::string device;
    int64_t layers = 0;
    int64_t weight_bytes = 0;  // bytes one decode step reads: every matrix, one embedding row, the norms
    int64_t model_device_bytes = 0;
    double read_gbs = 0, gemm_tflops = 0, prefill_tps = 0, dec1_tps = 0, floor_tps = 0, dec8_tps = 0;
    double train_tps = 0, train_tflops = 0, train_flops_per_token = 0, train_loss = 0, train_grad_norm = 0;
    int64_t train_counted = 0;
    int64_t peak_device_bytes = 0;  // this benchmark's own, measured (0 on the CPU)
    int64_t last_token = -1;        // the last token decode picked (in [0, vocab))
};

// The benchmark's model: 7B-shaped (stand-in: small GQA), Q4_K, untied output, streamed, with
// matrices scaled so that σ·√dim is the stand-in's at every width.
inline RandomLlama gpu_bench_model(bool quick, bool stand_in) {
    RandomLlama s = stand_in ? small_gqa(SL4J_TYPE_Q4_K) : RandomLlama{};
    if (stand_in) s.n_vocab = 1000;
    else {
        s.dim = 4096;
        s.n_layers = quick ? 4 : 32;
        s.n_heads = s.n_kv_heads = 32;
        s.ffn = 11008;
        s.n_vocab = 32000;
        s.type = SL4J_TYPE_Q4_K;
    }
    s.n_ctx = 4096;
    s.tied = false;
    s.stream = true;
    s.amp_scale = std::sqrt(256.f / float(s.dim));
    return s;
}

inline double gpu_bench_now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline int64_t gpu_bench_device_bytes_in_use() {
#if defined(SL4J_WITH_CUDA)
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) return int64_t(total_b - free_b);
#endif
    return -1;
}

// A failing C API call ends the benchmark with its message.
inline void gpu_bench_check(int32_t status, const char* what) {
    if (status != SL4J_OK) SL4J_FAIL(status, "gpu_bench: %s: %s", what, sl4j_last_error());
}

// Planned peak device memory (sl4j_memory_plan) of a command on the full 7B shape in Q4_K with F32
// norms: the plan's device part with device = CUDA (its reserve for the CUDA context included).
struct GpuBenchPlan {
    int64_t sft = 0, ppo = 0;
};
inline GpuBenchPlan gpu_bench_plan() {
    const RandomLlama S = gpu_bench_model(false, false);
    const int32_t wt = S.type;
    const int64_t kv = S.dim / S.n_heads * S.n_kv_heads;
    sl4j_model_info info{};
    info.n_vocab = S.n_vocab;
    info.dim = S.dim;
    info.n_layers = S.n_layers;
    info.n_heads = S.n_heads;
    info.n_kv_heads = S.n_kv_heads;
    info.head_dim = S.dim / S.n_heads;
    info.ffn = S.ffn;
    info.n_rot = info.head_dim;
    info.n_ctx_train = S.n_ctx;
    info.rope_base = S.rope_base;
    info.rms_eps = 1e-5;
    info.weight_type = wt;
    const int64_t weights = 2 * type_row_bytes(wt, S.dim) * S.n_vocab + 4 * S.dim * (2 * S.n_layers + 1) +
                            S.n_layers * (type_row_bytes(wt, S.dim) * (2 * S.dim + 2 * kv + 2 * S.ffn) +
                                          type_row_bytes(wt, S.ffn) * S.dim);
    auto run = [&](sl4j_memory_plan_params p) {
        p.weight_bytes = weights;
        p.device = SL4J_DEVICE_CUDA;
        sl4j_memory_plan_result r{};
        gpu_bench_check(sl4j_memory_plan(&info, &p, &r), "memory plan");
        return r.device;
    };
    return GpuBenchPlan{run(sft_7b_target()), run(ppo_7b_target())};
}

// Owners of the C API handles (freed in reverse order of creation).
struct GpuBenchHandles {
    sl4j_model* model = nullptr;
    std::vector<sl4j_session*> sessions;
    std::vector<sl4j_sampler*> samplers;
    sl4j_lora* lora = nullptr;
    sl4j_trainer* trainer = nullptr;
    ~GpuBenchHandles() {
        sl4j_trainer_free(trainer);
        sl4j_lora_free(lora);
        for (auto* s : samplers) sl4j_sampler_free(s);
        for (auto* s : sessions) sl4j_session_free(s);
        sl4j_model_free(model);
    }
};

inline GpuBenchResult run_gpu_bench(const GpuBenchOptions& opt) {
    const bool stand_in = opt.stand_in, quick = opt.quick || opt.stand_in;
    GpuBenchResult res;
    int64_t base_mem = 0, peak_mem = 0;
    auto note_mem = [&] { peak_mem = std::max(peak_mem, gpu_bench_device_bytes_in_use()); };

    // The peers, on a backend of the benchmark's device.
    {
        std::unique_ptr<Backend> be = stand_in ? make_cpu_backend() : make_cuda_backend(0);
        res.device = be->name();
        base_mem = peak_mem = gpu_bench_device_bytes_in_use();
        void* cell = be->alloc(64);
        auto best = [&](int reps, const std::function<void()>& fn) {
            auto sync = [&] {  // a 4-byte download waits for every queued kernel
                float v;
                be->download(&v, cell, 4);
            };
            fn();
            sync();
            double t = 1e30;
            for (int r = 0; r < reps; ++r) {
                const double t0 = gpu_bench_now();
                fn();
                sync();
                t = std::min(t, gpu_bench_now() - t0);
            }
            return t;
        };
        // Peer 1: read bandwidth.
        const int64_t n = stand_in ? (1ll << 20) : (quick ? 256ll : 2048ll) << 18;  // floats: 256 MiB or 2 GiB
        {
            float* big = static_cast<float*>(be->alloc(n * 4));
            be->scale(big, 0.f, n);
            note_mem();
            const double t = best(5, [&] { be->sum_squares(big, n); });
            be->release(big);
            res.read_gbs = double(n) * 4 / t / 1e9;
        }
        std::printf("%s\nHBM read: %.0f GB/s (sum_squares over %.2f GiB)\n", res.device.c_str(), res.read_gbs,
                    double(n) * 4 / 1073741824.0);
        // Peer 2: the engine's BF16 tensor-core GEMM.
        const int64_t G = stand_in ? 128 : quick ? 2048 : 4096;
        {
            const auto wb = random_weight_bytes(SL4J_TYPE_BF16, G, G, 0.05f, 5, true);
            void* w = be->alloc(int64_t(wb.size()));
            be->upload(w, wb.data(), int64_t(wb.size()));
            float* x = static_cast<float*>(be->alloc(G * G * 4));
            float* out = static_cast<float*>(be->alloc(G * G * 4));
            be->scale(x, 0.f, G * G);
            note_mem();
            const double t = best(3, [&] { be->matmul(out, w, SL4J_TYPE_BF16, x, G, G, G); });
            be->release(out);
            be->release(x);
            be->release(w);
            res.gemm_tflops = 2.0 * double(G) * G * G / t / 1e12;
        }
        std::printf("BF16 GEMM (engine matmul, BF16 weights, %lld^3): %.1f TFLOP/s\n", (long long)G, res.gemm_tflops);
        be->release(cell);
    }
    std::fflush(stdout);

    // The model: written by the engine's GGUF writer, loaded through the C API.
    const RandomLlama spec = gpu_bench_model(quick, stand_in);
    const int32_t wt = spec.type;
    const int64_t D = spec.dim, KV = spec.dim / spec.n_heads * spec.n_kv_heads, F = spec.ffn, V = spec.n_vocab,
                  NL = spec.n_layers;
    std::string dir = opt.dir;
    if (dir.empty()) dir = std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp";
    const std::string path = dir + "/gpu_bench-" + std::to_string(long(getpid())) + ".gguf";
    GpuBenchHandles h;
    const double t_gen = gpu_bench_now();
    try {
        write_random_llama(path, spec);
        const double t_load = gpu_bench_now();
        sl4j_model_params mp = sl4j_model_default_params();
        mp.device = stand_in ? SL4J_DEVICE_CPU : SL4J_DEVICE_CUDA;
        gpu_bench_check(sl4j_model_load(path.c_str(), &mp, &h.model), "loading the model");
        std::remove(path.c_str());  // the mapping keeps it while the model lives
        note_mem();
        res.layers = NL;
        res.model_device_bytes = sl4j_model_device_bytes(h.model);
        res.weight_bytes = NL * (type_row_bytes(wt, D) * (2 * D + 2 * KV + 2 * F) + type_row_bytes(wt, F) * D) +
                           type_row_bytes(wt, D) * (V + 1) + 4 * D * (2 * NL + 1);
        std::printf("model: %lld layers, Q4_K, %.2f GiB read per decode step (written in %.1f s, loaded on %s in %.1f s)\n",
                    (long long)NL, double(res.weight_bytes) / 1073741824.0, t_load - t_gen,
                    sl4j_model_backend_name(h.model), gpu_bench_now() - t_load);
    } catch (...) {
        std::remove(path.c_str());
        throw;
    }
    std::fflush(stdout);

    auto prompt = [&](int64_t n, int64_t salt) {
        std::vector<int32_t> t(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) t[size_t(i)] = int32_t(3 + (i * 131 + salt * 7919) % (V - 3));
        return t;
    };
    sl4j_sampler_params greedy = sl4j_sampler_default_params();
    greedy.temperature = 0.f;
    for (int i = 0; i < 8; ++i) {
        h.samplers.push_back(nullptr);
        gpu_bench_check(sl4j_sampler_init(h.model, &greedy, &h.samplers.back()), "sampler");
    }
    auto new_session = [&](int32_t n_seq, int32_t n_ctx) {
        sl4j_session_params sp = sl4j_session_default_params();
        sp.n_seq = n_seq;
        sp.n_ctx = n_ctx;
        h.sessions.push_back(nullptr);
        gpu_bench_check(sl4j_session_init_params(h.model, &sp, &h.sessions.back()), "session");
        return h.sessions.back();
    };
    // The picks of the last decode's n output rows, made on the device (only the tokens come back).
    std::vector<int32_t> rows{0, 1, 2, 3, 4, 5, 6, 7}, picks(8);
    auto pick = [&](sl4j_session* s, int32_t n) {
        gpu_bench_check(sl4j_sampler_sample_batch(h.samplers.data(), s, rows.data(), nullptr, n, picks.data(), nullptr),
                        "sampling");
        res.last_token = picks[0];
    };

    // Prefill: a 512-token prompt, its last row's logits and the first pick.
    {
        const int32_t n = 512;
        sl4j_session* s = new_session(1, n + 1);
        const auto toks = prompt(n, 0);
        std::vector<int8_t> outputs(size_t(n), 0);
        outputs.back() = 1;
        double t = 1e30;
        for (int r = 0; r <= (quick ? 1 : 3); ++r) {  // run 0 warms up
            gpu_bench_check(sl4j_session_truncate(s, -1, 0), "clearing the cache");
            const double t0 = gpu_bench_now();
            gpu_bench_check(sl4j_session_decode(s, toks.data(), nullptr, outputs.data(), nullptr, n, 1), "prefill");
            pick(s, 1);
            if (r > 0) t = std::min(t, gpu_bench_now() - t0);
        }
        note_mem();
        res.prefill_tps = n / t;
    }
    // Decode: n_seq sequences after a 511-token prompt each, `steps` batched steps.
    auto decode_rate = [&](int32_t n_seq) {
        const int32_t n_prompt = 511, steps = quick ? 4 : 16;
        sl4j_session* s = new_session(n_seq, n_prompt + steps + 2);
        std::vector<int32_t> seq(static_cast<size_t>(n_seq));
        for (int32_t b = 0; b < n_seq; ++b) {
            seq[size_t(b)] = b;
            const auto toks = prompt(n_prompt, b);
            std::vector<int32_t> ids(size_t(n_prompt), b);
            std::vector<int8_t> outputs(size_t(n_prompt), 0);
            gpu_bench_check(sl4j_session_decode(s, toks.data(), ids.data(), outputs.data(), nullptr, n_prompt, 1),
                            "prompt");
        }
        std::vector<int32_t> step(static_cast<size_t>(n_seq));
        for (int32_t b = 0; b < n_seq; ++b) step[size_t(b)] = int32_t(3 + b);
        gpu_bench_check(sl4j_session_decode(s, step.data(), seq.data(), nullptr, nullptr, n_seq, 1), "decode");
        pick(s, n_seq);  // warm-up step
        const double t0 = gpu_bench_now();
        for (int i = 0; i < steps; ++i) {
            std::copy(picks.begin(), picks.begin() + n_seq, step.begin());
            gpu_bench_check(sl4j_session_decode(s, step.data(), seq.data(), nullptr, nullptr, n_seq, 1), "decode");
            pick(s, n_seq);
        }
        const double tps = double(steps) * n_seq / (gpu_bench_now() - t0);
        note_mem();
        sl4j_session_free(s);  // its KV cache goes before the next session's
        h.sessions.pop_back();
        return tps;
    };
    res.dec1_tps = decode_rate(1);
    res.dec8_tps = decode_rate(8);
    res.floor_tps = res.read_gbs * 1e9 / double(res.weight_bytes);
    std::printf("prefill 512: %.0f tok/s\ndecode batch 1: %.1f tok/s (HBM floor %.1f, %.0f%%)\ndecode batch 8: %.1f tok/s\n",
                res.prefill_tps, res.dec1_tps, res.floor_tps, 100 * res.dec1_tps / res.floor_tps, res.dec8_tps);
    std::fflush(stdout);
    for (auto* s : h.sessions) sl4j_session_free(s);
    h.sessions.clear();

    // LoRA training step as `sft` takes it.
    const int32_t T = 512, R = 16;
    sl4j_lora_params lp = sl4j_lora_default_params();
    lp.r = R;
    lp.targets = SL4J_LORA_Q | SL4J_LORA_K | SL4J_LORA_V | SL4J_LORA_O | SL4J_LORA_GATE | SL4J_LORA_UP | SL4J_LORA_DOWN;
    gpu_bench_check(sl4j_lora_init(h.model, &lp, &h.lora), "LoRA adapter");
    sl4j_trainer_params tp = sl4j_trainer_default_params();
    tp.batch = 1;
    tp.seq_len = T;
    tp.checkpointing = 1;
    gpu_bench_check(sl4j_trainer_init(h.model, h.lora, &tp, &h.trainer), "trainer");
    const auto tokens = prompt(T, 3);
    std::vector<int32_t> targets(size_t(T), -100);
    for (int32_t i = 0; i + 1 < T; ++i) targets[size_t(i)] = tokens[size_t(i) + 1];
    const sl4j_adamw_params adamw = sl4j_adamw_default_params();
    auto train_step = [&] {
        gpu_bench_check(sl4j_lora_zero_grad(h.lora), "zeroing gradients");
        gpu_bench_check(sl4j_trainer_step_ce(h.trainer, tokens.data(), targets.data(), nullptr, 1.f, &res.train_loss,
                                             &res.train_counted),
                        "training step");
        gpu_bench_check(sl4j_lora_clip_grad_norm(h.lora, 1.0, &res.train_grad_norm), "clipping");
        gpu_bench_check(sl4j_lora_adamw_step(h.lora, &adamw), "AdamW");
    };
    std::vector<float> a0(size_t(sl4j_lora_tensor_n_elements(h.lora, 0)));
    auto sync = [&] {  // reading one adapter tensor waits for the queued AdamW update
        gpu_bench_check(sl4j_lora_get(h.lora, 0, SL4J_LORA_VALUE, a0.data(), int64_t(a0.size())), "reading the adapter");
    };
    train_step();  // warm-up
    sync();
    const int steps = quick ? 1 : 3;
    const double t0 = gpu_bench_now();
    for (int i = 0; i < steps; ++i) train_step();
    sync();
    const double t_train = (gpu_bench_now() - t0) / steps;
    note_mem();
    // Matmul FLOPs per training token, as the CLI's bench counts them (Bench.trainFlopsPerToken).
    const double d = double(D), qd = double(D), kv = double(KV), f = double(F), L = double(NL), c = (T + 1) / 2.0,
                 r = double(R);
    const double P = L * (d * qd + 2 * d * kv + qd * d + 3 * d * f) + d * double(V);
    double flops = 2 * P + L * 4 * qd * c + 2 * P - 2 * d * (qd + 2 * kv) + L * 8 * qd * c;
    const double io[7][2] = {{d, qd}, {d, kv}, {d, kv}, {qd, d}, {d, f}, {d, f}, {f, d}};
    for (const auto& a : io) flops += L * 6 * r * (a[0] + a[1]) - 2 * r * a[0];
    res.train_flops_per_token = flops;
    res.train_tps = T / t_train;
    res.train_tflops = res.train_tps * flops / 1e12;
    res.peak_device_bytes = base_mem < 0 ? 0 : peak_mem - base_mem;
    std::printf("LoRA training (r=16, all projections, 512 tokens): %.0f tok/s, %.1f TFLOP/s (%.0f%% of the GEMM rate)"
                ", loss %.3f\n",
                res.train_tps, res.train_tflops, 100 * res.train_tflops / res.gemm_tflops, res.train_loss);
    std::printf("peak device memory of this benchmark: %.2f GiB\n", double(res.peak_device_bytes) / 1073741824.0);
    return res;
}

}  // namespace sl4j::bench
