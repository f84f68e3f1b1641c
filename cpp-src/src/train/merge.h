// Folding a LoRA adapter into its base weight: W' = W + scale·B·A, one output row at a time, so a
// merged model can be streamed to disk with a few rows of extra memory.
#pragma once
#include <cstdint>
#include <memory>

#include "gguf/gguf.h"
#include "train/lora.h"

namespace sl4j {

// Rows [o0, o1) of w (out rows of `in`) += scale · B·A, A: r × in, B: out × r (row-major). Each
// element's sum over the rank runs in float64 and is added to w once, rounded to float.
void lora_merge_rows(float* w, const float* a, const float* b, int64_t in, int64_t r, double scale, int64_t o0,
                     int64_t o1);

// Tensor i of `file` (dims {in, out}) with the adapter pair (A, B) folded in at scale alpha / r,
// as rows for GgufWriter::add_tensor_rows (A and B downloaded once, here). The file must outlive
// the write.
std::shared_ptr<const TensorRows> lora_merged_rows(const GgufFile& file, int64_t i, const LoraTensor& a,
                                                   const LoraTensor& b, double scale);

}  // namespace sl4j
