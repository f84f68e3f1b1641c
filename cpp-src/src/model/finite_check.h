// A scan of a model file's tensors for NaN and infinite values, so a damaged model is refused at
// load with the tensor's name instead of producing garbage downstream.
#pragma once
#include <cstdint>

#include "gguf/gguf.h"

namespace sl4j {

// Index of the first tensor of `f` (in file order) holding a NaN or an infinity after decoding,
// or -1 when every value is finite. *element receives the offending element's index and *value
// the value found. Tensors of a type this engine cannot decode are skipped (load refuses them).
// Pages read are released from the resident set as the scan goes (f.release).
int64_t find_nonfinite(const GgufFile& f, int64_t* element, float* value);

}  // namespace sl4j
