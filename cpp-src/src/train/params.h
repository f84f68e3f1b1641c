// Trainable tensors: F32 values with their gradient and AdamW's moments, held by a ParamSet (a
// LoRA adapter, or every weight of a model for full-parameter training) in one backend's memory.
// They are uploaded once when made and downloaded only when read (saved, checkpointed, or asked
// for through the API); AdamW, clipping and gradient resets run on the backend.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace sl4j {

// n floats of a backend's memory, zero when made: a trainable tensor's values, gradient or moment.
class ParamBuffer {
public:
    ParamBuffer() = default;
    ParamBuffer(Backend& be, int64_t n);

    float* data() const { return buf_.f(); }
    size_t size() const { return size_t(n_); }
    Backend& backend() const { return *buf_.backend(); }
    // A host copy (one download).
    std::vector<float> download() const;
    operator std::vector<float>() const { return download(); }
    // Replaces the values from host memory (one upload); v must hold size() floats.
    void upload(const float* src);
    ParamBuffer& operator=(const std::vector<float>& v);
    // In-place element access, for host-memory backends only (throws SL4J_ERR_UNSUPPORTED on a device).
    float& operator[](int64_t i) const { return host()[i]; }
    float* begin() const { return host(); }
    float* end() const { return host() + n_; }

private:
    float* host() const;
    DeviceBuffer buf_;
    int64_t n_ = 0;
};

struct ParamTensor {
    std::string name;
    int64_t rows = 0, cols = 0; // row-major rows × cols (ggml dims {cols, rows})
    ParamBuffer w, grad, m, v;
    int64_t size() const { return rows * cols; }
};

// A zero tensor (values, gradient, moments) of rows × cols in be's memory.
ParamTensor make_param_tensor(Backend& be, const std::string& name, int64_t rows, int64_t cols);

class ParamSet {
public:
    virtual ~ParamSet() = default;
    std::vector<ParamTensor>& tensors() { return tensors_; }
    const std::vector<ParamTensor>& tensors() const { return tensors_; }
    // Where every tensor lives; trainers using these tensors run on it (or, for a host-memory
    // backend, on any host-memory backend).
    Backend& backend() const { return *be_; }

    // AdamW steps taken (bias correction needs it; saved and restored for resume).
    int64_t adam_steps = 0;

protected:
    explicit ParamSet(Backend& be) : be_(&be) {}
    ParamSet(const ParamSet&) = delete;
    ParamSet& operator=(const ParamSet&) = delete;
    // Appends a zero tensor (value, gradient and moments) of rows × cols.
    ParamTensor& add(const std::string& name, int64_t rows, int64_t cols);

    Backend* be_;
    std::vector<ParamTensor> tensors_;
};

// True when a trainer or session on `be` can use tensors in `params`' memory: the same backend,
// or host memory on both sides.
bool reaches(const Backend& be, const ParamSet& params);

}  // namespace sl4j
