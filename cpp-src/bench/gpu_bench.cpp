// GPU benchmark: the engine's session (prefill, batched decode) and trainer (a LoRA SFT step) on a
// 7B-shaped Q4_K model with random weights, beside the device's read bandwidth and BF16 GEMM rate
// (gpu_bench.h says what each figure times). Run by scripts/gpu-check.sh on a GPU machine.
//
// Usage: gpu_bench [--quick] [--cpu-stand-in] [--json FILE]. Exits 3 with "no GPU" when no CUDA
// device is usable (after printing the planned memory, which needs none). --cpu-stand-in runs the
// same code on the CPU at a small shape: a check of the benchmark without a GPU.
#include <cstdio>
#include <cstring>
#include <string>

#include "gpu_bench.h"

using namespace sl4j;

int main(int argc, char** argv) {
    bench::GpuBenchOptions opt;
    std::string json_path;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) opt.quick = true;
        else if (std::strcmp(argv[i], "--cpu-stand-in") == 0) opt.stand_in = opt.quick = true;
        else if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) json_path = argv[++i];
        else {
            std::fprintf(stderr, "usage: gpu_bench [--quick] [--cpu-stand-in] [--json FILE]\n");
            return 2;
        }
    }
    bench::GpuBenchPlan plan;
    try {
        plan = bench::gpu_bench_plan();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "gpu_bench: %s\n", e.what());
        return 1;
    }
    std::printf("planned peak device memory, 7B Q4_K: LoRA r16 SFT 1024x4 (checkpointing) %.2f GiB, "
                "PPO 8x(256+128) %.2f GiB\n", double(plan.sft) / 1073741824.0, double(plan.ppo) / 1073741824.0);
    std::fflush(stdout);
    std::string why_no_gpu;
    if (!opt.stand_in && cuda_device_count(&why_no_gpu) == 0) {
        std::fprintf(stderr, "gpu_bench: no GPU: %s\n", why_no_gpu.c_str());
        return 3;
    }
    try {
        const bench::GpuBenchResult r = bench::run_gpu_bench(opt);
        if (!json_path.empty()) {
            FILE* out = std::fopen(json_path.c_str(), "w");
            if (out == nullptr) SL4J_FAIL(SL4J_ERR_IO, "gpu_bench: cannot write %s", json_path.c_str());
            std::fprintf(out,
                         "{\n  \"device\": \"%s\",\n  \"quick\": %s,\n  \"model\": \"7B-shaped Q4_K, %lld layers, "
                         "random weights, loaded through sl4j_model_load\",\n  \"weight_bytes\": %lld,\n"
                         "  \"model_device_bytes\": %lld,\n  \"hbm_read_gb_s\": %.1f,\n"
                         "  \"bf16_gemm_tflops\": %.2f,\n  \"prefill_512_tok_s\": %.1f,\n  \"decode_b1_tok_s\": %.2f,\n"
                         "  \"decode_b1_hbm_floor_tok_s\": %.2f,\n  \"decode_b8_tok_s\": %.2f,\n"
                         "  \"lora_train_tok_s\": %.1f,\n  \"lora_train_tflops\": %.2f,\n"
                         "  \"lora_train_loss\": %.4f,\n"
                         "  \"train_flops_per_token\": %.0f,\n  \"bench_peak_device_bytes\": %lld,\n"
                         "  \"decode_b1_fraction_of_floor\": %.3f,\n  \"decode_b1_target\": 0.70,\n"
                         "  \"train_fraction_of_gemm\": %.3f,\n  \"train_target\": 0.35,\n"
                         "  \"sft_peak_device_bytes_planned\": %lld,\n  \"ppo_peak_device_bytes_planned\": %lld,\n"
                         "  \"note\": \"weight_bytes: bytes one decode step reads (every matrix, one embedding row, the "
                         "norms); prefill/decode time sl4j_session_decode plus the device-side greedy pick, training "
                         "one sft optimiser step (zero grad, step_ce, clip, AdamW); *_planned: sl4j_memory_plan for the "
                         "full 7B Q4_K shape (LoRA r16 SFT 1024x4 with checkpointing; PPO 8x(256+128), F16 KV cache, "
                         "checkpointing), every part on the device, not measured; bench_peak_device_bytes is this "
                         "benchmark's own footprint\"\n}\n",
                         r.device.c_str(), opt.quick ? "true" : "false", (long long)r.layers,
                         (long long)r.weight_bytes, (long long)r.model_device_bytes, r.read_gbs, r.gemm_tflops,
                         r.prefill_tps, r.dec1_tps, r.floor_tps, r.dec8_tps, r.train_tps, r.train_tflops, r.train_loss,
                         r.train_flops_per_token, (long long)r.peak_device_bytes, r.dec1_tps / r.floor_tps,
                         r.train_tflops / r.gemm_tflops, (long long)plan.sft, (long long)plan.ppo);
            std::fclose(out);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "gpu_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
