// Row-level encode/decode of every tensor type (block layouts in blocks.h).
// A "row" is any run of n elements where n is a multiple of the type's block size.
#pragma once
#include <cstdint>

namespace sl4j {

// Decode n elements of `type` at src into dst. Throws SL4J_ERR_UNSUPPORTED for
// types this engine cannot decode.
void dequantize_row(int32_t type, const void* src, float* dst, int64_t n);

// Encode n floats into `type` at dst (type_row_bytes(type, n) bytes). Throws
// SL4J_ERR_UNSUPPORTED for types without an encoder (see can_quantize).
void quantize_row(int32_t type, const float* src, void* dst, int64_t n);

bool can_quantize(int32_t type);

// IEEE half and bfloat16 conversions (round to nearest even).
float fp16_to_f32(uint16_t h);
uint16_t f32_to_fp16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

}  // namespace sl4j
