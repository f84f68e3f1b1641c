#include "core/types.h"

#include "core/error.h"

namespace sl4j {

namespace {
// Index = ggml type id. Ids ggml has retired (4, 5: Q4_2/Q4_3) stay empty.
constexpr int kTypeCount = 40;
constexpr TypeTraits kUnknown = {nullptr, 0, 0, false};

struct Table {
    TypeTraits t[kTypeCount];
    constexpr Table() : t() {
        for (int i = 0; i < kTypeCount; ++i) t[i] = kUnknown;
        t[SL4J_TYPE_F32]  = {"f32", 1, 4, true};
        t[SL4J_TYPE_F16]  = {"f16", 1, 2, true};
        t[SL4J_TYPE_Q4_0] = {"q4_0", 32, 18, true};
        t[SL4J_TYPE_Q4_1] = {"q4_1", 32, 20, false};
        t[SL4J_TYPE_Q5_0] = {"q5_0", 32, 22, false};
        t[SL4J_TYPE_Q5_1] = {"q5_1", 32, 24, false};
        t[SL4J_TYPE_Q8_0] = {"q8_0", 32, 34, true};
        t[SL4J_TYPE_Q8_1] = {"q8_1", 32, 36, false};
        t[SL4J_TYPE_Q2_K] = {"q2_K", 256, 84, false};
        t[SL4J_TYPE_Q3_K] = {"q3_K", 256, 110, false};
        t[SL4J_TYPE_Q4_K] = {"q4_K", 256, 144, true};
        t[SL4J_TYPE_Q5_K] = {"q5_K", 256, 176, true};
        t[SL4J_TYPE_Q6_K] = {"q6_K", 256, 210, true};
        t[SL4J_TYPE_Q8_K] = {"q8_K", 256, 292, false};
        t[SL4J_TYPE_I8]   = {"i8", 1, 1, false};
        t[SL4J_TYPE_I16]  = {"i16", 1, 2, false};
        t[SL4J_TYPE_I32]  = {"i32", 1, 4, false};
        t[SL4J_TYPE_I64]  = {"i64", 1, 8, false};
        t[SL4J_TYPE_F64]  = {"f64", 1, 8, false};
        t[SL4J_TYPE_BF16] = {"bf16", 1, 2, true};
    }
};
constexpr Table kTable;
}  // namespace

const TypeTraits* type_traits(int32_t type) {
    if (type < 0 || type >= kTypeCount || kTable.t[type].name == nullptr) return nullptr;
    return &kTable.t[type];
}

int64_t type_row_bytes(int32_t type, int64_t n) {
    const TypeTraits* tt = type_traits(type);
    if (tt == nullptr) SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "unknown tensor type id %d", type);
    if (n < 0 || n % tt->block_size != 0)
        SL4J_FAIL(SL4J_ERR_INVALID_ARGUMENT, "%lld elements is not a whole number of %s blocks of %lld",
                  (long long)n, tt->name, (long long)tt->block_size);
    return n / tt->block_size * tt->type_size;
}

}  // namespace sl4j
