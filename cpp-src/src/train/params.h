// Trainable tensors: F32 values with their gradient and AdamW's moments, held by a ParamSet (a
// LoRA adapter, or every weight of a model for full-parameter training). AdamW, clipping and
// checkpoints work on any ParamSet.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sl4j {

struct ParamTensor {
    std::string name;
    int64_t rows = 0, cols = 0; // row-major rows × cols (ggml dims {cols, rows})
    std::vector<float> w, grad, m, v;
    int64_t size() const { return rows * cols; }
};

class ParamSet {
public:
    virtual ~ParamSet() = default;
    std::vector<ParamTensor>& tensors() { return tensors_; }
    const std::vector<ParamTensor>& tensors() const { return tensors_; }

    // AdamW steps taken (bias correction needs it; saved and restored for resume).
    int64_t adam_steps = 0;

protected:
    ParamSet() = default;
    ParamSet(const ParamSet&) = delete;
    ParamSet& operator=(const ParamSet&) = delete;
    // Appends a zero tensor (value, gradient and moments) of rows × cols.
    ParamTensor& add(const std::string& name, int64_t rows, int64_t cols);

    std::vector<ParamTensor> tensors_;
};

}  // namespace sl4j
