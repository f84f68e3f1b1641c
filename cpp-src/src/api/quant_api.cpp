// Public C entry points for tensor types, encoding/decoding and the CPU pool.
#include "api/guard.h"
#include "core/types.h"
#include "cpu/threadpool.h"
#include "quant/quant.h"

namespace {

const char* type_name_or(int32_t type) {
    const sl4j::TypeTraits* tt = sl4j::type_traits(type);
    return tt ? tt->name : "unknown";
}

// Validates a (type, n, buffer bytes) triple shared by quantize and dequantize.
void check_buffer(const char* op, int32_t type, int64_t n, int64_t bytes, const char* what) {
    const sl4j::TypeTraits* tt = sl4j::type_traits(type);
    if (tt == nullptr) SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "%s: unknown tensor type id %d", op, type);
    SL4J_CHECK_ARG(n >= 0, "%s: element count must be >= 0, got %lld", op, (long long)n);
    SL4J_CHECK_ARG(n % tt->block_size == 0, "%s: %lld elements is not a multiple of the %s block size %lld", op,
                   (long long)n, tt->name, (long long)tt->block_size);
    const int64_t need = n / tt->block_size * tt->type_size;
    SL4J_CHECK_ARG(bytes == need, "%s: %lld elements of %s take %lld bytes, but %s is %lld bytes", op,
                   (long long)n, tt->name, (long long)need, what, (long long)bytes);
}

}  // namespace

extern "C" {

const char* sl4j_type_name(int32_t type) {
    const sl4j::TypeTraits* tt = sl4j::type_traits(type);
    return tt ? tt->name : nullptr;
}

int64_t sl4j_type_block_size(int32_t type) {
    const sl4j::TypeTraits* tt = sl4j::type_traits(type);
    return tt ? tt->block_size : 0;
}

int64_t sl4j_type_block_bytes(int32_t type) {
    const sl4j::TypeTraits* tt = sl4j::type_traits(type);
    return tt ? tt->type_size : 0;
}

int32_t sl4j_type_is_supported(int32_t type) {
    const sl4j::TypeTraits* tt = sl4j::type_traits(type);
    return tt && tt->supported ? 1 : 0;
}

int32_t sl4j_type_can_quantize(int32_t type) { return sl4j::can_quantize(type) ? 1 : 0; }

int32_t sl4j_quantize(int32_t type, const float* src, int64_t n, void* dst, int64_t dst_bytes) {
    return sl4j::guard([&] {
        if (!sl4j::can_quantize(type))
            SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "sl4j_quantize: no encoder for type %s (id %d)", type_name_or(type), type);
        check_buffer("sl4j_quantize", type, n, dst_bytes, "dst_bytes");
        SL4J_CHECK_ARG(n == 0 || (src != nullptr && dst != nullptr), "sl4j_quantize: src or dst is NULL (n=%lld)",
                       (long long)n);
        if (n > 0) sl4j::quantize_row(type, src, dst, n);
    });
}

int32_t sl4j_dequantize(int32_t type, const void* src, int64_t src_bytes, float* dst, int64_t n) {
    return sl4j::guard([&] {
        if (!sl4j_type_is_supported(type))
            SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "sl4j_dequantize: no decoder for type %s (id %d)", type_name_or(type),
                      type);
        check_buffer("sl4j_dequantize", type, n, src_bytes, "src_bytes");
        SL4J_CHECK_ARG(n == 0 || (src != nullptr && dst != nullptr), "sl4j_dequantize: src or dst is NULL (n=%lld)",
                       (long long)n);
        if (n > 0) sl4j::dequantize_row(type, src, dst, n);
    });
}

int32_t sl4j_set_threads(int32_t n_threads) {
    return sl4j::guard([&] {
        SL4J_CHECK_ARG(n_threads >= 0 && n_threads <= 4096,
                       "sl4j_set_threads: n_threads must be 0 (one per core) to 4096, got %d", n_threads);
        sl4j::cpu::set_threads(n_threads);
    });
}

int32_t sl4j_get_threads(void) { return sl4j::cpu::threads(); }

}  // extern "C"
