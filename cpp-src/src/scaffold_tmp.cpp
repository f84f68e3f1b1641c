// TEMPORARY scaffold so the build pipeline can be exercised before the quant/cpu
// branches merge. Deleted in the merge that brings the real implementations.
#include <cstring>

#include "core/error.h"
#include "cpu/matmul.h"
#include "cpu/threadpool.h"
#include "quant/quant.h"

namespace sl4j {
float fp16_to_f32(uint16_t) { return 0; }
uint16_t f32_to_fp16(float) { return 0; }
float bf16_to_f32(uint16_t h) { uint32_t u = uint32_t(h) << 16; float f; std::memcpy(&f, &u, 4); return f; }
uint16_t f32_to_bf16(float f) { uint32_t u; std::memcpy(&u, &f, 4); return uint16_t(u >> 16); }
bool can_quantize(int32_t type) { return type == SL4J_TYPE_F32; }
void dequantize_row(int32_t type, const void* src, float* dst, int64_t n) {
    if (type != SL4J_TYPE_F32) SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "scaffold: type %d", type);
    std::memcpy(dst, src, n * 4);
}
void quantize_row(int32_t type, const float* src, void* dst, int64_t n) {
    if (type != SL4J_TYPE_F32) SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "scaffold: type %d", type);
    std::memcpy(dst, src, n * 4);
}
namespace cpu {
void parallel_for(int64_t n, int64_t, const std::function<void(int64_t, int64_t)>& fn) { fn(0, n); }
void set_threads(int) {}
int threads() { return 1; }
const char* simd_level() { return "scalar"; }
void matmul(float* out, const void* w, int32_t, const float* x, int64_t n, int64_t k, int64_t m) {
    const float* W = static_cast<const float*>(w);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t r = 0; r < m; ++r) {
            float s = 0;
            for (int64_t j = 0; j < k; ++j) s += x[i * k + j] * W[r * k + j];
            out[i * m + r] = s;
        }
}
void matmul_transposed(float*, const void*, int32_t, const float*, int64_t, int64_t, int64_t) {}
}  // namespace cpu
}  // namespace sl4j
