#include "train/params.h"

namespace sl4j {

ParamTensor& ParamSet::add(const std::string& name, int64_t rows, int64_t cols) {
    ParamTensor T;
    T.name = name;
    T.rows = rows;
    T.cols = cols;
    for (auto* v : {&T.w, &T.grad, &T.m, &T.v}) v->assign(size_t(rows * cols), 0.f);
    tensors_.push_back(std::move(T));
    return tensors_.back();
}

}  // namespace sl4j
