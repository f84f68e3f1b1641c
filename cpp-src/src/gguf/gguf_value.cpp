// GGUF value-type helpers and GgufValue builders shared by the reader, the
// writer and the C API.
#include <utility>

#include "core/error.h"
#include "gguf/gguf.h"

namespace sl4j {

size_t gguf_scalar_size(int32_t type) {
    switch (type) {
        case SL4J_GGUF_UINT8: case SL4J_GGUF_INT8: case SL4J_GGUF_BOOL: return 1;
        case SL4J_GGUF_UINT16: case SL4J_GGUF_INT16: return 2;
        case SL4J_GGUF_UINT32: case SL4J_GGUF_INT32: case SL4J_GGUF_FLOAT32: return 4;
        case SL4J_GGUF_UINT64: case SL4J_GGUF_INT64: case SL4J_GGUF_FLOAT64: return 8;
        default: return 0;
    }
}

bool gguf_is_integer(int32_t type) {
    switch (type) {
        case SL4J_GGUF_UINT8: case SL4J_GGUF_INT8: case SL4J_GGUF_UINT16: case SL4J_GGUF_INT16:
        case SL4J_GGUF_UINT32: case SL4J_GGUF_INT32: case SL4J_GGUF_UINT64: case SL4J_GGUF_INT64:
            return true;
        default: return false;
    }
}

bool gguf_is_signed(int32_t type) {
    return type == SL4J_GGUF_INT8 || type == SL4J_GGUF_INT16 || type == SL4J_GGUF_INT32 ||
           type == SL4J_GGUF_INT64;
}

const char* gguf_type_name(int32_t type) {
    static const char* const names[] = {"uint8", "int8", "uint16", "int16", "uint32", "int32",
                                        "float32", "bool", "string", "array", "uint64", "int64",
                                        "float64"};
    return type >= 0 && type <= SL4J_GGUF_FLOAT64 ? names[type] : "?";
}

int64_t GgufValue::arr_len() const {
    if (type != SL4J_GGUF_ARRAY) return 0;
    if (arr_type == SL4J_GGUF_STRING) return (int64_t)arr_str.size();
    if (arr_type == SL4J_GGUF_FLOAT32 || arr_type == SL4J_GGUF_FLOAT64) return (int64_t)arr_real.size();
    return (int64_t)arr_num.size();
}

GgufValue GgufValue::of_int(int32_t type, int64_t v) {
    SL4J_CHECK_ARG(gguf_is_integer(type), "gguf: of_int needs an integer type, got %s", gguf_type_name(type));
    GgufValue out;
    out.type = type;
    out.num = (uint64_t)v;
    return out;
}

GgufValue GgufValue::of_uint(int32_t type, uint64_t v) {
    SL4J_CHECK_ARG(gguf_is_integer(type), "gguf: of_uint needs an integer type, got %s", gguf_type_name(type));
    GgufValue out;
    out.type = type;
    out.num = v;
    return out;
}

GgufValue GgufValue::of_float(int32_t type, double v) {
    SL4J_CHECK_ARG(type == SL4J_GGUF_FLOAT32 || type == SL4J_GGUF_FLOAT64,
                   "gguf: of_float needs float32 or float64, got %s", gguf_type_name(type));
    GgufValue out;
    out.type = type;
    out.real = type == SL4J_GGUF_FLOAT32 ? (double)(float)v : v;
    return out;
}

GgufValue GgufValue::of_bool(bool v) {
    GgufValue out;
    out.type = SL4J_GGUF_BOOL;
    out.num = v ? 1 : 0;
    return out;
}

GgufValue GgufValue::of_str(std::string v) {
    GgufValue out;
    out.type = SL4J_GGUF_STRING;
    out.str = std::move(v);
    return out;
}

GgufValue GgufValue::of_arr_num(int32_t elem_type, std::vector<uint64_t> v) {
    SL4J_CHECK_ARG(gguf_is_integer(elem_type) || elem_type == SL4J_GGUF_BOOL,
                   "gguf: of_arr_num needs an integer or bool element type, got %s",
                   gguf_type_name(elem_type));
    GgufValue out;
    out.type = SL4J_GGUF_ARRAY;
    out.arr_type = elem_type;
    out.arr_num = std::move(v);
    return out;
}

GgufValue GgufValue::of_arr_real(int32_t elem_type, std::vector<double> v) {
    SL4J_CHECK_ARG(elem_type == SL4J_GGUF_FLOAT32 || elem_type == SL4J_GGUF_FLOAT64,
                   "gguf: of_arr_real needs float32 or float64 elements, got %s", gguf_type_name(elem_type));
    GgufValue out;
    out.type = SL4J_GGUF_ARRAY;
    out.arr_type = elem_type;
    out.arr_real = std::move(v);
    if (elem_type == SL4J_GGUF_FLOAT32)
        for (double& x : out.arr_real) x = (double)(float)x;
    return out;
}

GgufValue GgufValue::of_arr_str(std::vector<std::string> v) {
    GgufValue out;
    out.type = SL4J_GGUF_ARRAY;
    out.arr_type = SL4J_GGUF_STRING;
    out.arr_str = std::move(v);
    return out;
}

int64_t GgufTensorInfo::n_elements() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;  // the reader and writer reject shapes that overflow
    return n;
}

}  // namespace sl4j

namespace sl4j {

bool gguf_as_i64(int32_t type, uint64_t raw, int64_t* out) {
    if (type == SL4J_GGUF_BOOL || (gguf_is_integer(type) && gguf_is_signed(type))) {
        *out = (int64_t)raw;
        return true;
    }
    if (gguf_is_integer(type) && raw <= (uint64_t)INT64_MAX) {
        *out = (int64_t)raw;
        return true;
    }
    return false;
}

bool gguf_as_u64(int32_t type, uint64_t raw, uint64_t* out) {
    if (type != SL4J_GGUF_BOOL && !gguf_is_integer(type)) return false;
    if (gguf_is_signed(type) && (int64_t)raw < 0) return false;
    *out = raw;
    return true;
}

bool gguf_as_f64(int32_t type, uint64_t raw, double real, double* out) {
    if (type == SL4J_GGUF_FLOAT32 || type == SL4J_GGUF_FLOAT64) {
        *out = real;
        return true;
    }
    if (!gguf_is_integer(type)) return false;
    *out = gguf_is_signed(type) ? (double)(int64_t)raw : (double)raw;
    return true;
}

}  // namespace sl4j
