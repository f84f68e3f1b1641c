// The GPU benchmark's CPU stand-in (gpu_bench --cpu-stand-in): the same code scripts/gpu-check.sh
// runs on a GPU, here on the CPU at a small shape, so a broken benchmark shows before a GPU run.
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <string>

#include "../bench/gpu_bench.h"
#include "testing.h"

using namespace sl4j;

TEST(gpu_bench_cpu_stand_in_runs_the_session_and_trainer_paths) {
    const std::string dir = "/tmp/sl4j_gpu_bench_test";
    ::mkdir(dir.c_str(), 0755);
    bench::GpuBenchOptions opt;
    opt.stand_in = true;
    opt.dir = dir;
    const bench::GpuBenchResult r = bench::run_gpu_bench(opt);
    // Every figure measured and finite.
    for (double v : {r.read_gbs, r.gemm_tflops, r.prefill_tps, r.dec1_tps, r.dec8_tps, r.floor_tps, r.train_tps,
                     r.train_tflops})
        CHECK(std::isfinite(v) && v > 0);
    CHECK_EQ(r.layers, int64_t(2));
    CHECK_EQ(r.model_device_bytes, int64_t(0));  // the CPU keeps the weights in the mapped file
    // Bytes per decode step at dim 256, kv 128, ffn 512, vocab 1000, 2 layers, Q4_K (144 bytes per
    // 256 weights): matrices, the output head, one embedding row and F32 norms.
    const int64_t row = 144, row_ffn = 288;
    CHECK_EQ(r.weight_bytes, 2 * (row * (2 * 256 + 2 * 128 + 2 * 512) + row_ffn * 256) + row * 1001 + 4 * 256 * 5);
    // The decode loop picked real tokens, and the training step counted every row but the last.
    CHECK(r.last_token >= 0 && r.last_token < 1000);
    CHECK_EQ(r.train_counted, int64_t(511));
    // A random untied output head with weights U(±0.2) over normalised hidden states gives logits
    // of variance σ² = dim·0.2²/3·E[g²] (g = 1 + U(±0.2): E[g²] = 1 + 0.2²/3), so the loss is
    // about ln(vocab) + σ²/2 = 8.64; zero or broken logits give ln(1000) = 6.91 or worse.
    const double s2 = 256 * 0.04 / 3 * (1 + 0.04 / 3);
    CHECK_NEAR(r.train_loss, std::log(1000.0) + s2 / 2, 0.5);
    CHECK(std::isfinite(r.train_grad_norm) && r.train_grad_norm > 0);  // the backward reached the adapter
    // The temporary model file is gone.
    struct stat st;
    CHECK(::stat((dir + "/gpu_bench-" + std::to_string(long(getpid())) + ".gguf").c_str(), &st) != 0);
}
