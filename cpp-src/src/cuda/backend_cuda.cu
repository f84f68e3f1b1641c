// CUDA backend: device probe, memory, and an F32 matmul kernel. Quantized
// matmuls and the other ops of the seam arrive with the CUDA issue; until then
// they report UNSUPPORTED, naming the op.
#include <cuda_runtime.h>

#include "backend/backend.h"
#include "core/error.h"

namespace sl4j {
namespace {

void check_cuda(cudaError_t err, const char* what) {
    if (err != cudaSuccess)
        SL4J_FAIL(SL4J_ERR_BACKEND, "CUDA %s failed: %s", what, cudaGetErrorString(err));
}

[[noreturn]] void not_yet(const char* op) {
    SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "CUDA kernel for %s is not implemented yet", op);
}

constexpr int kTile = 16;

// out[i][r] = sum_j x[i][j] * w[r][j], one 16x16 output tile per block, shared-memory staged.
__global__ void matmul_f32_kernel(float* out, const float* w, const float* x, int64_t n, int64_t k, int64_t m) {
    __shared__ float xs[kTile][kTile + 1];
    __shared__ float ws[kTile][kTile + 1];
    int64_t row = blockIdx.y * kTile + threadIdx.y;  // index into n
    int64_t col = blockIdx.x * kTile + threadIdx.x;  // index into m
    int64_t w_row = blockIdx.x * kTile + threadIdx.y;
    float acc = 0.f;
    for (int64_t j0 = 0; j0 < k; j0 += kTile) {
        int64_t j = j0 + threadIdx.x;
        xs[threadIdx.y][threadIdx.x] = (row < n && j < k) ? x[row * k + j] : 0.f;
        ws[threadIdx.y][threadIdx.x] = (w_row < m && j < k) ? w[w_row * k + j] : 0.f;
        __syncthreads();
        for (int t = 0; t < kTile; ++t) acc += xs[threadIdx.y][t] * ws[threadIdx.x][t];
        __syncthreads();
    }
    if (row < n && col < m) out[row * m + col] = acc;
}

class CudaBackend final : public Backend {
public:
    explicit CudaBackend(int index) : index_(index) {
        check_cuda(cudaSetDevice(index), "cudaSetDevice");
        cudaDeviceProp prop;
        check_cuda(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties");
        name_ = format("CUDA: %s (%.1f GiB, sm_%d%d)", prop.name, prop.totalGlobalMem / 1073741824.0, prop.major,
                       prop.minor);
    }
    int32_t device() const override { return SL4J_DEVICE_CUDA; }
    const std::string& name() const override { return name_; }

    void* alloc(int64_t n_bytes) override {
        void* p = nullptr;
        cudaSetDevice(index_);
        if (cudaMalloc(&p, static_cast<size_t>(n_bytes)) != cudaSuccess) {
            size_t free_b = 0, total_b = 0;
            cudaMemGetInfo(&free_b, &total_b);
            SL4J_FAIL(SL4J_ERR_OUT_OF_MEMORY, "GPU out of memory: needed %lld bytes, %zu of %zu free",
                      (long long)n_bytes, free_b, total_b);
        }
        return p;
    }
    void release(void* p) override { cudaFree(p); }
    void upload(void* dst, const void* src, int64_t n) override {
        check_cuda(cudaMemcpy(dst, src, static_cast<size_t>(n), cudaMemcpyHostToDevice), "upload");
    }
    void download(void* dst, const void* src, int64_t n) override {
        check_cuda(cudaMemcpy(dst, src, static_cast<size_t>(n), cudaMemcpyDeviceToHost), "download");
    }

    using Backend::matmul;
    void matmul(float* out, const void* w, int32_t wtype, const float* x, int64_t n, int64_t k,
                int64_t m) override {
        if (wtype != SL4J_TYPE_F32)
            SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "CUDA matmul supports F32 weights only so far (got type %d)", wtype);
        dim3 block(kTile, kTile);
        dim3 grid(static_cast<unsigned>((m + kTile - 1) / kTile), static_cast<unsigned>((n + kTile - 1) / kTile));
        matmul_f32_kernel<<<grid, block>>>(out, static_cast<const float*>(w), x, n, k, m);
        check_cuda(cudaGetLastError(), "matmul launch");
        check_cuda(cudaDeviceSynchronize(), "matmul");
    }

    // The ops the CUDA issue implements.
    void matmul_transposed(float*, const void*, int32_t, const float*, int64_t, int64_t, int64_t) override {
        not_yet("matmul_transposed");
    }
    void embedding(float*, const int32_t*, const void*, int32_t, int64_t, int64_t, int64_t) override {
        not_yet("embedding");
    }
    void rmsnorm(float*, float*, const float*, const float*, int64_t, int64_t, float) override { not_yet("rmsnorm"); }
    void rmsnorm_backward(float*, const float*, const float*, const float*, const float*, int64_t, int64_t) override {
        not_yet("rmsnorm_backward");
    }
    void rope_cache(float*, const int64_t*, int64_t, int64_t, double, double, const float*) override {
        not_yet("rope_cache");
    }
    void rope(float*, const float*, int64_t, int64_t, int64_t, int64_t) override { not_yet("rope"); }
    void rope_backward(float*, const float*, int64_t, int64_t, int64_t, int64_t) override {
        not_yet("rope_backward");
    }
    void swiglu(float*, const float*, const float*, int64_t) override { not_yet("swiglu"); }
    void swiglu_backward(float*, float*, const float*, const float*, const float*, int64_t) override {
        not_yet("swiglu_backward");
    }
    void residual(float*, const float*, int64_t) override { not_yet("residual"); }
    void residual_backward(float*, const float*, int64_t) override { not_yet("residual_backward"); }
    void attention(float*, const float*, const float*, const float*, const int32_t*, const int64_t*, const int64_t*,
                   int64_t, int64_t, int64_t, int64_t, int64_t) override {
        not_yet("attention");
    }
    void attention_backward(float*, float*, float*, const float*, const float*, const float*, const float*,
                            const int32_t*, const int64_t*, const int64_t*, int64_t, int64_t, int64_t, int64_t,
                            int64_t, int64_t) override {
        not_yet("attention_backward");
    }
    int64_t crossentropy(float*, const float*, const int32_t*, int64_t, int64_t) override {
        not_yet("crossentropy");
    }
    void crossentropy_backward(float*, const float*, const int32_t*, const float*, int64_t, int64_t) override {
        not_yet("crossentropy_backward");
    }
    float log_softmax_at(const float*, int64_t, int32_t) override { not_yet("log_softmax_at"); }
    void dropout(float*, const float*, float, uint64_t, int64_t) override { not_yet("dropout"); }
    void dropout_backward(float*, const float*, float, uint64_t, int64_t) override { not_yet("dropout_backward"); }
    void add_scaled(float*, const float*, float, int64_t) override { not_yet("add_scaled"); }
    void scale(float*, float, int64_t) override { not_yet("scale"); }
    void embedding_backward(float*, const float*, const int32_t*, int64_t, int64_t, float) override {
        not_yet("embedding_backward");
    }
    void rmsnorm_weight_backward(float*, const float*, const float*, const float*, int64_t, int64_t, float) override {
        not_yet("rmsnorm_weight_backward");
    }
    void outer_accumulate(float*, const float*, const float*, int64_t, int64_t, int64_t, float) override {
        not_yet("outer_accumulate");
    }

private:
    int index_;
    std::string name_;
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(int device_index) {
    int count = cuda_device_count();
    if (device_index < 0 || device_index >= count)
        SL4J_FAIL(SL4J_ERR_BACKEND, "CUDA device %d is not available (%d usable device(s))", device_index, count);
    return std::make_unique<CudaBackend>(device_index);
}

int cuda_device_count() {
    int count = 0;
    // Without a driver this returns cudaErrorInsufficientDriver (35): no GPU, not a failure.
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return count;
}

}  // namespace sl4j
