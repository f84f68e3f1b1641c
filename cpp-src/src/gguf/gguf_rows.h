// Row sources for GgufWriter::add_tensor_rows: tensors produced while the file is written.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "gguf/gguf.h"

namespace sl4j {

// Values mean + std·N(0, 1) (std 0: the constant mean). Row j draws from its own stream keyed by
// (seed, name, j), so the values depend on neither the thread count nor the chunking.
std::shared_ptr<const TensorRows> normal_rows(const std::string& name, int64_t row_len, float mean, float std,
                                              uint64_t seed);

// Tensor i of a mapped file, decoded to floats row by row; rows written are released from memory.
// The file must outlive the writer's write().
std::shared_ptr<const TensorRows> file_rows(const GgufFile& file, int64_t i);

}  // namespace sl4j
