#include "gguf/gguf_rows.h"

#include <cmath>

#include "core/error.h"
#include "core/normal.h"
#include "core/types.h"
#include "quant/quant.h"

namespace sl4j {

namespace {

class NormalRows : public TensorRows {
public:
    NormalRows(std::string name, int64_t row_len, float mean, float std, uint64_t seed)
        : name_(std::move(name)), row_len_(row_len), mean_(mean), std_(std), seed_(seed) {}

    void rows(int64_t r0, int64_t r1, float* dst) const override {
        for (int64_t r = r0; r < r1; ++r, dst += row_len_) {
            if (std_ == 0.0f) {
                for (int64_t i = 0; i < row_len_; ++i) dst[i] = mean_;
                continue;
            }
            NormalStream g(normal_row_key(seed_, name_.c_str(), r));
            for (int64_t i = 0; i < row_len_; ++i) dst[i] = mean_ + std_ * g.next();
        }
    }

private:
    std::string name_;
    int64_t row_len_;
    float mean_, std_;
    uint64_t seed_;
};

class FileRows : public TensorRows {
public:
    FileRows(const GgufFile& f, int64_t i) : file_(f), info_(f.tensors().at((size_t)i)), data_(f.tensor_data(i)) {
        if (!type_traits(info_.type) || !type_traits(info_.type)->supported)
            SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "%s: tensor '%s': type %s cannot be decoded by this engine",
                      f.path().c_str(), info_.name.c_str(),
                      type_traits(info_.type) ? type_traits(info_.type)->name : "unknown");
        row_bytes_ = type_row_bytes(info_.type, info_.dims[0]);
    }

    void rows(int64_t r0, int64_t r1, float* dst) const override {
        dequantize_row(info_.type, data_ + r0 * row_bytes_, dst, (r1 - r0) * info_.dims[0]);
    }
    void release(int64_t r0, int64_t r1) const override {
        file_.release(data_ + r0 * row_bytes_, (uint64_t)((r1 - r0) * row_bytes_));
    }

private:
    const GgufFile& file_;
    GgufTensorInfo info_;
    const uint8_t* data_;
    int64_t row_bytes_ = 0;
};

}  // namespace

std::shared_ptr<const TensorRows> normal_rows(const std::string& name, int64_t row_len, float mean, float std,
                                              uint64_t seed) {
    SL4J_CHECK_ARG(row_len > 0, "normal rows of '%s': row length %lld", name.c_str(), (long long)row_len);
    SL4J_CHECK_ARG(std::isfinite(mean) && std::isfinite(std) && std >= 0,
                   "normal rows of '%s': mean %g and std %g must be finite, std >= 0", name.c_str(), mean, std);
    return std::make_shared<NormalRows>(name, row_len, mean, std, seed);
}

std::shared_ptr<const TensorRows> file_rows(const GgufFile& file, int64_t i) {
    return std::make_shared<FileRows>(file, i);
}

}  // namespace sl4j
