#include "train/params.h"

#include "core/error.h"

namespace sl4j {

ParamBuffer::ParamBuffer(Backend& be, int64_t n) : buf_(be, n * int64_t(sizeof(float))), n_(n) {
    be.fill_zero(buf_.data(), n * int64_t(sizeof(float)));
}

std::vector<float> ParamBuffer::download() const {
    std::vector<float> v(size());
    if (n_ > 0) backend().download(v.data(), data(), n_ * int64_t(sizeof(float)));
    return v;
}

void ParamBuffer::upload(const float* src) {
    if (n_ > 0) backend().upload(data(), src, n_ * int64_t(sizeof(float)));
}

ParamBuffer& ParamBuffer::operator=(const std::vector<float>& v) {
    SL4J_CHECK_ARG(int64_t(v.size()) == n_, "a trainable tensor of %lld floats cannot take %zu", (long long)n_,
                   v.size());
    upload(v.data());
    return *this;
}

float* ParamBuffer::host() const {
    if (n_ > 0 && !backend().host_memory())
        SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "a trainable tensor on %s is not host memory: download() it",
                  backend().name().c_str());
    return data();
}

ParamTensor make_param_tensor(Backend& be, const std::string& name, int64_t rows, int64_t cols) {
    ParamTensor T;
    T.name = name;
    T.rows = rows;
    T.cols = cols;
    for (auto* v : {&T.w, &T.grad, &T.m, &T.v}) *v = ParamBuffer(be, rows * cols);
    return T;
}

ParamTensor& ParamSet::add(const std::string& name, int64_t rows, int64_t cols) {
    tensors_.push_back(make_param_tensor(*be_, name, rows, cols));
    return tensors_.back();
}

bool reaches(const Backend& be, const ParamSet& params) {
    return &be == &params.backend() || (be.host_memory() && params.backend().host_memory());
}

}  // namespace sl4j
