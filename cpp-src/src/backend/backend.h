// The backend seam. A Backend owns device memory and runs ops on tensors that
// live in it; the CPU backend is always present, the CUDA backend when built
// with SL4J_WITH_CUDA and a usable GPU exists. Engine code calls ops through
// the tensors' backend, so a new device adds kernels, not a new engine.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace sl4j {

class Backend;

struct Tensor {
    Backend* backend = nullptr;
    int32_t type = 0;
    int32_t n_dims = 0;
    int64_t dims[4] = {1, 1, 1, 1};  // ggml order: dims[0] contiguous
    void* data = nullptr;            // backend memory
    int64_t n_bytes = 0;

    int64_t n_elements() const { return dims[0] * dims[1] * dims[2] * dims[3]; }
    int64_t n_rows() const { return dims[1] * dims[2] * dims[3]; }
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual int32_t device() const = 0;        // enum sl4j_device
    virtual const std::string& name() const = 0;

    virtual void* alloc(int64_t n_bytes) = 0;  // throws SL4J_ERR_OUT_OF_MEMORY with the figure
    virtual void release(void* p) = 0;
    virtual void upload(void* dst, const void* host_src, int64_t n_bytes) = 0;
    virtual void download(void* host_dst, const void* src, int64_t n_bytes) = 0;

    // out = x · wᵀ (see sl4j_matmul): w {k, m} any supported type, x F32 {k, n}, out F32 {m, n}.
    virtual void matmul(Tensor& out, const Tensor& w, const Tensor& x) = 0;
};

std::unique_ptr<Backend> make_cpu_backend();
// Throws SL4J_ERR_UNSUPPORTED when CUDA was not compiled in, SL4J_ERR_BACKEND when the device
// cannot be used.
std::unique_ptr<Backend> make_cuda_backend(int device_index);
// Usable CUDA devices; 0 without CUDA, driver or GPU. Never throws.
int cuda_device_count();

}  // namespace sl4j
