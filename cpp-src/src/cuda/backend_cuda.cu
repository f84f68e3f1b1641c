// CUDA backend: device memory and every op of the backend seam on the GPU (kernels in cuda/*.cu),
// and the entry table of the plugin libstackllama4j_cuda.so (backend/cuda_plugin.h).
// Pointers passed to ops are device memory. Ops are queued on the default stream and return
// without waiting; download() synchronises. The few ops that must look at values on the host
// (token ids and targets are range-checked, a log-prob or a norm is returned) copy only those:
// a token row's ids, a row of targets, one float or one double.
#include <cuda_runtime.h>

#include <vector>

#include "backend/backend.h"
#include "backend/cuda_plugin.h"
#include "core/error.h"
#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace sl4j {
namespace {

using cuda::check;

class CudaBackend final : public Backend {
public:
    CudaBackend(int index, const CudaBackendOptions& options)
        : index_(index), precision_(options.f32_gemm ? cuda::GemmPrecision::kF32 : cuda::GemmPrecision::kBf16) {
        check(cudaSetDevice(index), "cudaSetDevice");
        cudaDeviceProp prop;
        check(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties");
        SL4J_CHECK_ARG(prop.major >= 8, "CUDA device %d (%s) is sm_%d%d; this build needs sm_80 or newer", index,
                       prop.name, prop.major, prop.minor);
        name_ = format("CUDA: %s (%.1f GiB, sm_%d%d, %s GEMM)", prop.name, prop.totalGlobalMem / 1073741824.0,
                       prop.major, prop.minor, options.f32_gemm ? "F32" : "BF16");
        scalars_ = static_cast<double*>(alloc(2 * sizeof(double)));
    }
    ~CudaBackend() override { cudaFree(scalars_); }
    int32_t device() const override { return SL4J_DEVICE_CUDA; }
    const std::string& name() const override { return name_; }

    void* alloc(int64_t n_bytes) override {
        void* p = nullptr;
        cudaSetDevice(index_);
        if (cudaMalloc(&p, static_cast<size_t>(n_bytes == 0 ? 1 : n_bytes)) != cudaSuccess) {
            cudaGetLastError();
            size_t free_b = 0, total_b = 0;
            cudaMemGetInfo(&free_b, &total_b);
            SL4J_FAIL(SL4J_ERR_OUT_OF_MEMORY, "GPU out of memory: needed %lld bytes, %zu of %zu free",
                      (long long)n_bytes, free_b, total_b);
        }
        return p;
    }
    void release(void* p) override { cudaFree(p); }
    void upload(void* dst, const void* src, int64_t n) override {
        check(cudaMemcpy(dst, src, static_cast<size_t>(n), cudaMemcpyHostToDevice), "upload");
    }
    void download(void* dst, const void* src, int64_t n) override {
        check(cudaMemcpy(dst, src, static_cast<size_t>(n), cudaMemcpyDeviceToHost), "download");
    }

    using Backend::matmul;
    void matmul(float* out, const void* w, int32_t wtype, const float* x, int64_t n, int64_t k,
                int64_t m) override {
        cuda::matmul(out, w, wtype, x, n, k, m, scratch_, precision_);
    }
    void matmul_transposed(float* out, const void* w, int32_t wtype, const float* dy, int64_t n, int64_t k,
                           int64_t m) override {
        cuda::matmul_transposed(out, w, wtype, dy, n, k, m, scratch_, precision_);
    }
    void embedding(float* out, const int32_t* tokens, const void* table, int32_t type, int64_t n_rows, int64_t dim,
                   int64_t n_vocab) override {
        std::vector<int32_t> ids(static_cast<size_t>(n_rows));
        if (n_rows > 0) download(ids.data(), tokens, n_rows * 4);
        for (int64_t r = 0; r < n_rows; ++r)
            SL4J_CHECK_ARG(ids[r] >= 0 && ids[r] < n_vocab, "token id %d at position %lld is outside the vocabulary "
                           "[0, %lld)", ids[r], (long long)r, (long long)n_vocab);
        cuda::embedding(out, tokens, table, type, n_rows, dim);
    }
    // Token ids are those embedding() range-checked in the forward (the trainer's rows).
    void embedding_backward(float* dtable, const float* dout, const int32_t* tokens, int64_t n_rows, int64_t dim,
                            float alpha) override {
        cuda::embedding_backward(dtable, dout, tokens, n_rows, dim, alpha);
    }
    void rmsnorm(float* out, float* inv_rms, const float* x, const float* w, int64_t n_rows, int64_t dim,
                 float eps, bool /*ggml_rounding: no fast precision here, always exact*/) override {
        cuda::rmsnorm_forward(out, inv_rms, x, w, n_rows, dim, eps);
    }
    void rmsnorm_backward(float* dx, const float* dout, const float* x, const float* w, const float* inv_rms,
                          int64_t n_rows, int64_t dim) override {
        cuda::rmsnorm_backward(dx, dout, x, w, inv_rms, n_rows, dim);
    }
    void rmsnorm_weight_backward(float* dw, const float* dout, const float* x, const float* inv_rms, int64_t n_rows,
                                 int64_t dim, float alpha) override {
        cuda::rmsnorm_weight_backward(dw, dout, x, inv_rms, n_rows, dim, alpha);
    }
    void rope_cache(float* cs, const int64_t* pos, int64_t n_rows, int64_t n_rot, double base, double linear_factor,
                    const float* freq_factors) override {
        cuda::rope_cache(cs, pos, n_rows, n_rot, base, linear_factor, freq_factors);
    }
    void rope(float* x, const float* cs, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t n_rot) override {
        cuda::rope_rotate(x, cs, n_rows, n_heads, head_dim, n_rot, 1.f);
    }
    void rope_backward(float* dx, const float* cs, int64_t n_rows, int64_t n_heads, int64_t head_dim,
                       int64_t n_rot) override {
        cuda::rope_rotate(dx, cs, n_rows, n_heads, head_dim, n_rot, -1.f);
    }
    void swiglu(float* out, const float* gate, const float* up, int64_t n,
                bool /*fast: no fast precision here, always exact*/) override {
        cuda::swiglu_forward(out, gate, up, n);
    }
    void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                         int64_t n) override {
        cuda::swiglu_backward(dgate, dup, dout, gate, up, n);
    }
    void residual(float* x, const float* y, int64_t n) override { cuda::add_scaled(x, y, 1.f, n); }
    void residual_backward(float* dy, const float* dx, int64_t n) override { cuda::add_scaled(dy, dx, 1.f, n); }
    void attention(float* out, const float* q, const float* k_cache, const float* v_cache, const int32_t* seq,
                   const int64_t* pos, const int64_t* first_pos, int64_t n_rows, int64_t n_heads, int64_t n_kv_heads,
                   int64_t head_dim, int64_t seq_stride) override {
        cuda::attention_forward(out, q, k_cache, v_cache, seq, pos, first_pos, n_rows, n_heads, n_kv_heads, head_dim,
                                seq_stride);
    }
    void attention_f16(float* out, const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
                       const int32_t* seq, const int64_t* pos, const int64_t* first_pos, int64_t n_rows,
                       int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t seq_stride) override {
        cuda::attention_forward_f16(out, q, k_cache, v_cache, seq, pos, first_pos, n_rows, n_heads, n_kv_heads,
                                    head_dim, seq_stride);
    }
    void attention_backward(float* dq, float* dk_cache, float* dv_cache, const float* dout, const float* q,
                            const float* k_cache, const float* v_cache, const int32_t* seq, const int64_t* pos,
                            const int64_t* first_pos, int64_t n_rows, int64_t, int64_t n_heads, int64_t n_kv_heads,
                            int64_t head_dim, int64_t seq_stride) override {
        cuda::attention_backward(dq, dk_cache, dv_cache, dout, q, k_cache, v_cache, seq, pos, first_pos, n_rows,
                                 n_heads, n_kv_heads, head_dim, seq_stride);
    }
    int64_t crossentropy(float* losses, const float* logits, const int32_t* targets, int64_t n_rows,
                         int64_t n_vocab) override {
        std::vector<int32_t> t(static_cast<size_t>(n_rows));
        if (n_rows > 0) download(t.data(), targets, n_rows * 4);
        int64_t counted = 0;
        for (int64_t r = 0; r < n_rows; ++r) {
            if (t[r] == kIgnoreIndex) continue;
            SL4J_CHECK_ARG(t[r] >= 0 && t[r] < n_vocab, "target %d at row %lld is outside the vocabulary [0, %lld) "
                           "and is not the ignore index -100", t[r], (long long)r, (long long)n_vocab);
            ++counted;
        }
        cuda::crossentropy_forward(losses, logits, targets, n_rows, n_vocab);
        return counted;
    }
    void crossentropy_backward(float* dlogits, const float* logits, const int32_t* targets, const float* dlosses,
                               int64_t n_rows, int64_t n_vocab) override {
        cuda::crossentropy_backward(dlogits, logits, targets, dlosses, n_rows, n_vocab);
    }
    float log_softmax_at(const float* logits, int64_t n, int32_t target) override {
        SL4J_CHECK_ARG(target >= 0 && target < n, "log_softmax_at: target %d outside [0, %lld)", target, (long long)n);
        float* out = reinterpret_cast<float*>(scalars_);
        cuda::log_softmax_at(out, logits, n, target);
        float v = 0;
        download(&v, out, 4);
        return v;
    }
    void entropy(float* out, const float* logits, const int32_t* targets, int64_t n_rows, int64_t n_vocab) override {
        cuda::entropy(out, logits, targets, n_rows, n_vocab);
    }
    void kl_div(float* out, const float* logits_p, const float* logits_q, int64_t n_rows, int64_t n_vocab) override {
        cuda::kl_div(out, logits_p, logits_q, n_rows, n_vocab);
    }
    void dropout(float* xd, const float* x, float p, uint64_t seed, int64_t n) override {
        cuda::dropout_forward(xd, x, p, seed, n);
    }
    void dropout_backward(float* dx, const float* dxd, float p, uint64_t seed, int64_t n) override {
        cuda::dropout_backward(dx, dxd, p, seed, n);
    }
    void add_scaled(float* y, const float* x, float alpha, int64_t n) override { cuda::add_scaled(y, x, alpha, n); }
    void scale(float* x, float alpha, int64_t n) override { cuda::scale(x, alpha, n); }
    void outer_accumulate(float* out, const float* a, const float* b, int64_t n, int64_t P, int64_t Q,
                          float alpha) override {
        cuda::outer_accumulate(out, a, b, n, P, Q, alpha);
    }
    void copy_rows(float* dst, const int64_t* offsets, const float* src, int64_t n_rows, int64_t row_len) override {
        cuda::copy_rows(dst, offsets, src, n_rows, row_len);
    }
    void copy_rows_f16(uint16_t* dst, const int64_t* offsets, const float* src, int64_t n_rows,
                       int64_t row_len) override {
        cuda::copy_rows_f16(dst, offsets, src, n_rows, row_len);
    }
    void argmax_logprob(int32_t* tokens, float* logprobs, const float* logits, int64_t n_rows,
                        int64_t n_vocab) override {
        cuda::argmax_logprob(tokens, logprobs, logits, n_rows, n_vocab);
    }
    void sample_rows(int32_t* tokens, float* logprobs, const float* logits, const SampleRowParams* params,
                     const SampleAdjust* adjust, void* scratch, int64_t n_rows, int64_t n_vocab) override {
        cuda::sample_rows(tokens, logprobs, logits, params, adjust, scratch, n_rows, n_vocab);
    }
    int64_t sample_scratch_bytes(int64_t n_rows, int64_t n_vocab) const override {
        return cuda::sample_scratch_bytes(n_rows, n_vocab);
    }
    void copy(void* dst, const void* src, int64_t n) override {
        if (n > 0) check(cudaMemcpyAsync(dst, src, static_cast<size_t>(n), cudaMemcpyDeviceToDevice, 0), "copy");
    }
    void adamw(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& step) override {
        cuda::adamw(p, g, m, v, n, step);
    }
    double sum_squares(const float* x, int64_t n) override {
        cuda::sum_squares(scalars_, x, n);
        double v = 0;
        download(&v, scalars_, sizeof v);
        return v;
    }
    void fill_zero(void* dst, int64_t n) override {
        if (n > 0) check(cudaMemsetAsync(dst, 0, static_cast<size_t>(n), 0), "fill_zero");
    }

private:
    int index_;
    cuda::GemmPrecision precision_;
    std::string name_;
    cuda::Scratch scratch_;
    double* scalars_ = nullptr;  // device: results returned to the host (a log-prob, a sum of squares)
};

// Why cudaGetDeviceCount found no device, in a few words (error: its status).
std::string no_device_reason(cudaError_t error) {
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);  // 0 when no driver is installed
    cudaRuntimeGetVersion(&runtime);
    if (driver == 0) return "no NVIDIA driver on this machine (libcuda.so.1 not found)";
    if (error == cudaErrorInsufficientDriver)
        return format("the NVIDIA driver supports CUDA %d.%d, older than the CUDA runtime %d.%d: update the driver",
                      driver / 1000, driver % 1000 / 10, runtime / 1000, runtime % 1000 / 10);
    if (error == cudaSuccess || error == cudaErrorNoDevice)
        return format("no CUDA GPU visible (NVIDIA driver for CUDA %d.%d)", driver / 1000, driver % 1000 / 10);
    return format("CUDA could not be initialised: %s (%s)", cudaGetErrorName(error), cudaGetErrorString(error));
}

int device_count(std::string* why) {
    int count = 0;
    const cudaError_t error = cudaGetDeviceCount(&count);
    if (error == cudaSuccess && count > 0) return count;
    cudaGetLastError();  // clear the sticky status
    if (why != nullptr) *why = no_device_reason(error);
    return 0;
}

std::unique_ptr<Backend> make_backend(int device_index, const CudaBackendOptions& options) {
    std::string why;
    const int count = device_count(&why);
    if (count == 0) SL4J_FAIL(SL4J_ERR_BACKEND, "CUDA device %d is not available: %s", device_index, why.c_str());
    if (device_index < 0 || device_index >= count)
        SL4J_FAIL(SL4J_ERR_BACKEND, "CUDA device %d is not available (%d usable device(s))", device_index, count);
    return std::make_unique<CudaBackend>(device_index, options);
}

}  // namespace
}  // namespace sl4j

extern "C" __attribute__((visibility("default"))) const sl4j::CudaPlugin* sl4j_cuda_plugin(void) {
    static const sl4j::CudaPlugin table = {sl4j::kCudaPluginAbi, &sl4j::device_count, &sl4j::make_backend};
    return &table;
}
