// K-quant encoders (ggml's reference algorithm: per sub-block scale search, then
// 6/8-bit quantization of the sub-block scales against a half super-scale).
#pragma once
#include <cstdint>

#include "quant/blocks.h"

namespace sl4j {

void quantize_q4_K(const float* x, block_q4_K* y, int64_t nb);
void quantize_q5_K(const float* x, block_q5_K* y, int64_t nb);
void quantize_q6_K(const float* x, block_q6_K* y, int64_t nb);

}  // namespace sl4j
