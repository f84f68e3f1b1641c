#include "train/merge.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_rows.h"

namespace sl4j {

void lora_merge_rows(float* w, const float* a, const float* b, int64_t in, int64_t r, double scale, int64_t o0,
                     int64_t o1) {
    std::vector<double> acc((size_t)in);
    for (int64_t o = o0; o < o1; ++o) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t k = 0; k < r; ++k) {
            const double bk = b[o * r + k];
            if (bk == 0) continue;
            const float* ak = a + k * in;
            for (int64_t i = 0; i < in; ++i) acc[i] += bk * ak[i];
        }
        float* wo = w + (o - o0) * in;
        for (int64_t i = 0; i < in; ++i) wo[i] += (float)(scale * acc[i]);
    }
}

namespace {

class MergedRows : public TensorRows {
public:
    MergedRows(const GgufFile& f, int64_t i, const LoraTensor& a, const LoraTensor& b, double scale)
        : base_(file_rows(f, i)), a_(a.w.download()), b_(b.w.download()), scale_(scale) {
        const GgufTensorInfo& t = f.tensors().at((size_t)i);
        SL4J_CHECK_ARG(t.dims.size() == 2, "%s: tensor '%s' has %zu dims; a LoRA pair needs a matrix",
                       f.path().c_str(), t.name.c_str(), t.dims.size());
        in_ = t.dims[0];
        SL4J_CHECK_ARG(a.cols == in_ && b.rows == t.dims[1] && a.rows == b.cols,
                       "%s: tensor '%s' is %lld x %lld (out x in) but the adapter's %s is %lld x %lld and %s "
                       "is %lld x %lld (expected r x in and out x r)",
                       f.path().c_str(), t.name.c_str(), (long long)t.dims[1], (long long)in_, a.name.c_str(),
                       (long long)a.rows, (long long)a.cols, b.name.c_str(), (long long)b.rows, (long long)b.cols);
        r_ = a.rows;
    }

    void rows(int64_t r0, int64_t r1, float* dst) const override {
        base_->rows(r0, r1, dst);
        lora_merge_rows(dst, a_.data(), b_.data(), in_, r_, scale_, r0, r1);
    }
    void release(int64_t r0, int64_t r1) const override { base_->release(r0, r1); }

private:
    std::shared_ptr<const TensorRows> base_;
    std::vector<float> a_, b_;  // the pair's values, downloaded once
    double scale_;
    int64_t in_ = 0, r_ = 0;
};

}  // namespace

std::shared_ptr<const TensorRows> lora_merged_rows(const GgufFile& file, int64_t i, const LoraTensor& a,
                                                   const LoraTensor& b, double scale) {
    return std::make_shared<MergedRows>(file, i, a, b, scale);
}

}  // namespace sl4j
