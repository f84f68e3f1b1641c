// Tensor element types: ids, block sizes and byte sizes exactly as ggml
// defines them, so that a GGUF tensor's type id and byte count mean the same
// thing here as in llama.cpp. The block structs themselves live in
// src/quant/blocks.h, which static_asserts each against this table.
#pragma once
#include <cstdint>

#include "stackllama4j.h"

namespace sl4j {

struct TypeTraits {
    const char* name;     // ggml's lower-case name ("q4_K")
    int64_t block_size;   // elements per block (1 for plain floats)
    int64_t type_size;    // bytes per block
    bool supported;       // can this engine dequantize it
};

// Traits for a ggml type id; nullptr for ids ggml does not define.
const TypeTraits* type_traits(int32_t type);

// Bytes taken by n elements of `type`; throws when n is not a whole number of
// blocks or the type is unknown.
int64_t type_row_bytes(int32_t type, int64_t n);

}  // namespace sl4j
