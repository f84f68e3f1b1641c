#include <cstdlib>
#include <cstring>

#include "backend/backend.h"
#include "core/error.h"
#include "cpu/matmul.h"
#include "cpu/threadpool.h"

namespace sl4j {
namespace {

class CpuBackend final : public Backend {
public:
    CpuBackend() : name_(format("CPU: %d threads, %s", cpu::threads(), cpu::simd_level())) {}
    int32_t device() const override { return SL4J_DEVICE_CPU; }
    const std::string& name() const override { return name_; }

    void* alloc(int64_t n_bytes) override {
        // 64-byte alignment suits AVX-512 loads and ggml's 32-byte GGUF alignment.
        size_t rounded = (static_cast<size_t>(n_bytes) + 63) / 64 * 64;
        void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
        if (p == nullptr)
            SL4J_FAIL(SL4J_ERR_OUT_OF_MEMORY, "could not allocate %lld bytes of host memory", (long long)n_bytes);
        return p;
    }
    void release(void* p) override { std::free(p); }
    void upload(void* dst, const void* src, int64_t n) override { std::memcpy(dst, src, static_cast<size_t>(n)); }
    void download(void* dst, const void* src, int64_t n) override { std::memcpy(dst, src, static_cast<size_t>(n)); }

    void matmul(Tensor& out, const Tensor& w, const Tensor& x) override {
        cpu::matmul(static_cast<float*>(out.data), w.data, w.type, static_cast<const float*>(x.data),
                    x.n_rows(), w.dims[0], w.dims[1]);
    }

private:
    std::string name_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

#ifndef SL4J_WITH_CUDA
std::unique_ptr<Backend> make_cuda_backend(int) {
    SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "this build of stackllama4j has no CUDA backend (built without nvcc)");
}
int cuda_device_count() { return 0; }
#endif

}  // namespace sl4j
