// C API over GgufFile / GgufWriter. Every failing call goes through guard();
// getters that cannot fail return a neutral value (0, -1, NULL) on a bad
// handle or index instead of touching memory.
#include <cstring>
#include <memory>

#include "api/guard.h"
#include "api/handles.h"
#include "core/types.h"
#include "gguf/gguf.h"
#include "gguf/gguf_rows.h"
#include "quant/quant.h"
#include "train/merge.h"

struct sl4j_gguf {
    std::unique_ptr<sl4j::GgufFile> file;
};

struct sl4j_gguf_writer {
    sl4j::GgufWriter writer;
};

namespace {

using sl4j::GgufValue;

bool kv_ok(const sl4j_gguf* g, int64_t i) {
    return g != nullptr && i >= 0 && i < (int64_t)g->file->kvs().size();
}
bool tensor_ok(const sl4j_gguf* g, int64_t i) {
    return g != nullptr && i >= 0 && i < (int64_t)g->file->tensors().size();
}

const sl4j::GgufKv& kv_at(const sl4j_gguf* g, int64_t i) {
    SL4J_CHECK_HANDLE(g);
    SL4J_CHECK_ARG(kv_ok(g, i), "%s: metadata index %lld out of range [0, %zu)", g->file->path().c_str(),
                   (long long)i, g->file->kvs().size());
    return g->file->kvs()[i];
}

const sl4j::GgufTensorInfo& tensor_at(const sl4j_gguf* g, int64_t i) {
    SL4J_CHECK_HANDLE(g);
    SL4J_CHECK_ARG(tensor_ok(g, i), "%s: tensor index %lld out of range [0, %zu)", g->file->path().c_str(),
                   (long long)i, g->file->tensors().size());
    return g->file->tensors()[i];
}

[[noreturn]] void mismatch(const sl4j_gguf* g, const sl4j::GgufKv& kv, const char* expected) {
    const GgufValue& v = kv.value;
    std::string is = v.type == SL4J_GGUF_ARRAY ? std::string("an array of ") + sl4j::gguf_type_name(v.arr_type)
                                               : sl4j::gguf_type_name(v.type);
    SL4J_FAIL(SL4J_ERR_FORMAT, "%s: key '%s' is %s, expected %s", g->file->path().c_str(), kv.key.c_str(),
              is.c_str(), expected);
}

// The array of kv i, with element j checked against its length.
const sl4j::GgufKv& array_elem(const sl4j_gguf* g, int64_t i, int64_t j, const char* expected) {
    const sl4j::GgufKv& kv = kv_at(g, i);
    if (kv.value.type != SL4J_GGUF_ARRAY) mismatch(g, kv, expected);
    SL4J_CHECK_ARG(j >= 0 && j < kv.value.arr_len(), "%s: key '%s': element %lld out of range [0, %lld)",
                   g->file->path().c_str(), kv.key.c_str(), (long long)j, (long long)kv.value.arr_len());
    return kv;
}

// A streamed tensor's name, type and dims, checked as every add_tensor_* call checks them.
std::vector<int64_t> stream_dims(const char* name, int32_t type, int32_t n_dims, const int64_t* dims) {
    SL4J_CHECK_ARG(name != nullptr && name[0] != '\0', "gguf writer: tensor name is NULL or empty");
    SL4J_CHECK_ARG(n_dims >= 1 && n_dims <= 4 && dims != nullptr,
                   "gguf writer: tensor '%s': n_dims %d, expected 1 to 4 with dims given", name, n_dims);
    if (!sl4j::can_quantize(type))
        SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "gguf writer: tensor '%s': no encoder for type %s (id %d)", name,
                  sl4j::type_traits(type) ? sl4j::type_traits(type)->name : "unknown", type);
    return std::vector<int64_t>(dims, dims + n_dims);
}

void put(sl4j_gguf_writer* w, const char* key, GgufValue v) {
    SL4J_CHECK_HANDLE(w);
    SL4J_CHECK_ARG(key != nullptr && key[0] != '\0', "gguf writer: key is NULL or empty");
    w->writer.set(key, std::move(v));
}

// Scalar setters build the value inside the guard: the builders check their type.
template <typename Make>
int32_t set_value(sl4j_gguf_writer* w, const char* key, Make make) {
    return sl4j::guard([&] { put(w, key, make()); });
}

}  // namespace

extern "C" {

int32_t sl4j_gguf_open(const char* path, sl4j_gguf** out) {
    return sl4j::guard([&] {
        SL4J_CHECK_ARG(path != nullptr, "gguf: path is NULL");
        SL4J_CHECK_ARG(out != nullptr, "gguf: out is NULL");
        *out = nullptr;
        std::unique_ptr<sl4j_gguf> g(new sl4j_gguf);
        g->file = sl4j::GgufFile::open(path);
        *out = g.release();
    });
}

void sl4j_gguf_free(sl4j_gguf* gguf) { delete gguf; }

uint32_t sl4j_gguf_version(const sl4j_gguf* g) { return g ? g->file->version() : 0; }
uint32_t sl4j_gguf_alignment(const sl4j_gguf* g) { return g ? g->file->alignment() : 0; }
int64_t sl4j_gguf_data_offset(const sl4j_gguf* g) { return g ? (int64_t)g->file->data_offset() : -1; }
int64_t sl4j_gguf_file_size(const sl4j_gguf* g) { return g ? (int64_t)g->file->file_size() : -1; }

int64_t sl4j_gguf_n_kv(const sl4j_gguf* g) { return g ? (int64_t)g->file->kvs().size() : 0; }

int64_t sl4j_gguf_find_key(const sl4j_gguf* g, const char* key) {
    return g && key ? g->file->find_key(key) : -1;
}

const char* sl4j_gguf_kv_key(const sl4j_gguf* g, int64_t i) {
    return kv_ok(g, i) ? g->file->kvs()[i].key.c_str() : nullptr;
}

int32_t sl4j_gguf_kv_type(const sl4j_gguf* g, int64_t i) {
    return kv_ok(g, i) ? g->file->kvs()[i].value.type : -1;
}

int32_t sl4j_gguf_kv_get_i64(const sl4j_gguf* g, int64_t i, int64_t* out) {
    return sl4j::guard([&] {
        const sl4j::GgufKv& kv = kv_at(g, i);
        SL4J_CHECK_ARG(out != nullptr, "out is NULL");
        if (!sl4j::gguf_as_i64(kv.value.type, kv.value.num, out)) mismatch(g, kv, "an integer that fits int64");
    });
}

int32_t sl4j_gguf_kv_get_u64(const sl4j_gguf* g, int64_t i, uint64_t* out) {
    return sl4j::guard([&] {
        const sl4j::GgufKv& kv = kv_at(g, i);
        SL4J_CHECK_ARG(out != nullptr, "out is NULL");
        if (!sl4j::gguf_as_u64(kv.value.type, kv.value.num, out))
            mismatch(g, kv, "a non-negative integer");
    });
}

int32_t sl4j_gguf_kv_get_f64(const sl4j_gguf* g, int64_t i, double* out) {
    return sl4j::guard([&] {
        const sl4j::GgufKv& kv = kv_at(g, i);
        SL4J_CHECK_ARG(out != nullptr, "out is NULL");
        if (!sl4j::gguf_as_f64(kv.value.type, kv.value.num, kv.value.real, out)) mismatch(g, kv, "a number");
    });
}

int32_t sl4j_gguf_kv_get_bool(const sl4j_gguf* g, int64_t i, int32_t* out) {
    return sl4j::guard([&] {
        const sl4j::GgufKv& kv = kv_at(g, i);
        SL4J_CHECK_ARG(out != nullptr, "out is NULL");
        if (kv.value.type != SL4J_GGUF_BOOL) mismatch(g, kv, "bool");
        *out = kv.value.num != 0;
    });
}

int32_t sl4j_gguf_kv_get_str(const sl4j_gguf* g, int64_t i, const char** out) {
    return sl4j::guard([&] {
        const sl4j::GgufKv& kv = kv_at(g, i);
        SL4J_CHECK_ARG(out != nullptr, "out is NULL");
        if (kv.value.type != SL4J_GGUF_STRING) mismatch(g, kv, "string");
        *out = kv.value.str.c_str();
    });
}

int32_t sl4j_gguf_kv_array_type(const sl4j_gguf* g, int64_t i, int32_t* out) {
    return sl4j::guard([&] {
        const sl4j::GgufKv& kv = kv_at(g, i);
        SL4J_CHECK_ARG(out != nullptr, "out is NULL");
        if (kv.value.type != SL4J_GGUF_ARRAY) mismatch(g, kv, "an array");
        *out = kv.value.arr_type;
    });
}

int32_t sl4j_gguf_kv_array_len(const sl4j_gguf* g, int64_t i, int64_t* out) {
    return sl4j::guard([&] {
        const sl4j::GgufKv& kv = kv_at(g, i);
        SL4J_CHECK_ARG(out != nullptr, "out is NULL");
        if (kv.value.type != SL4J_GGUF_ARRAY) mismatch(g, kv, "an array");
        *out = kv.value.arr_len();
    });
}

int32_t sl4j_gguf_kv_array_get_i64(const sl4j_gguf* g, int64_t i, int64_t j, int64_t* out) {
    return sl4j::guard([&] {
        const sl4j::GgufKv& kv = array_elem(g, i, j, "an array of integers");
        SL4J_CHECK_ARG(out != nullptr, "out is NULL");
        const GgufValue& v = kv.value;
        bool ints = sl4j::gguf_is_integer(v.arr_type) || v.arr_type == SL4J_GGUF_BOOL;
        if (!ints || !sl4j::gguf_as_i64(v.arr_type, v.arr_num[j], out))
            mismatch(g, kv, "an array of integers that fit int64");
    });
}

int32_t sl4j_gguf_kv_array_get_f64(const sl4j_gguf* g, int64_t i, int64_t j, double* out) {
    return sl4j::guard([&] {
        const sl4j::GgufKv& kv = array_elem(g, i, j, "an array of numbers");
        SL4J_CHECK_ARG(out != nullptr, "out is NULL");
        const GgufValue& v = kv.value;
        if (v.arr_type == SL4J_GGUF_FLOAT32 || v.arr_type == SL4J_GGUF_FLOAT64)
            *out = v.arr_real[j];
        else if (!sl4j::gguf_is_integer(v.arr_type) || !sl4j::gguf_as_f64(v.arr_type, v.arr_num[j], 0, out))
            mismatch(g, kv, "an array of numbers");
    });
}

int32_t sl4j_gguf_kv_array_get_str(const sl4j_gguf* g, int64_t i, int64_t j, const char** out) {
    return sl4j::guard([&] {
        const sl4j::GgufKv& kv = array_elem(g, i, j, "an array of strings");
        SL4J_CHECK_ARG(out != nullptr, "out is NULL");
        if (kv.value.arr_type != SL4J_GGUF_STRING) mismatch(g, kv, "an array of strings");
        *out = kv.value.arr_str[j].c_str();
    });
}

int32_t sl4j_gguf_kv_array_copy_f32(const sl4j_gguf* g, int64_t i, float* dst, int64_t n) {
    return sl4j::guard([&] {
        const sl4j::GgufKv& kv = kv_at(g, i);
        const GgufValue& v = kv.value;
        if (v.type != SL4J_GGUF_ARRAY || !(v.arr_type == SL4J_GGUF_FLOAT32 || v.arr_type == SL4J_GGUF_FLOAT64 ||
                                           sl4j::gguf_is_integer(v.arr_type)))
            mismatch(g, kv, "an array of numbers");
        SL4J_CHECK_ARG(n == v.arr_len(), "%s: key '%s' has %lld elements, %lld requested",
                       g->file->path().c_str(), kv.key.c_str(), (long long)v.arr_len(), (long long)n);
        SL4J_CHECK_ARG(dst != nullptr || n == 0, "dst is NULL");
        for (int64_t j = 0; j < n; ++j) {
            double x = 0;
            if (sl4j::gguf_is_integer(v.arr_type)) sl4j::gguf_as_f64(v.arr_type, v.arr_num[j], 0, &x);
            else x = v.arr_real[j];
            dst[j] = (float)x;
        }
    });
}

int32_t sl4j_gguf_kv_array_copy_i32(const sl4j_gguf* g, int64_t i, int32_t* dst, int64_t n) {
    return sl4j::guard([&] {
        const sl4j::GgufKv& kv = kv_at(g, i);
        const GgufValue& v = kv.value;
        if (v.type != SL4J_GGUF_ARRAY || !(sl4j::gguf_is_integer(v.arr_type) || v.arr_type == SL4J_GGUF_BOOL))
            mismatch(g, kv, "an array of integers");
        SL4J_CHECK_ARG(n == v.arr_len(), "%s: key '%s' has %lld elements, %lld requested",
                       g->file->path().c_str(), kv.key.c_str(), (long long)v.arr_len(), (long long)n);
        SL4J_CHECK_ARG(dst != nullptr || n == 0, "dst is NULL");
        for (int64_t j = 0; j < n; ++j) {
            int64_t x = 0;
            if (!sl4j::gguf_as_i64(v.arr_type, v.arr_num[j], &x) || x < INT32_MIN || x > INT32_MAX)
                SL4J_FAIL(SL4J_ERR_FORMAT, "%s: key '%s' element %lld does not fit int32",
                          g->file->path().c_str(), kv.key.c_str(), (long long)j);
            dst[j] = (int32_t)x;
        }
    });
}

int64_t sl4j_gguf_n_tensors(const sl4j_gguf* g) { return g ? (int64_t)g->file->tensors().size() : 0; }

int64_t sl4j_gguf_find_tensor(const sl4j_gguf* g, const char* name) {
    return g && name ? g->file->find_tensor(name) : -1;
}

const char* sl4j_gguf_tensor_name(const sl4j_gguf* g, int64_t i) {
    return tensor_ok(g, i) ? g->file->tensors()[i].name.c_str() : nullptr;
}

int32_t sl4j_gguf_tensor_type(const sl4j_gguf* g, int64_t i) {
    return tensor_ok(g, i) ? g->file->tensors()[i].type : -1;
}

int32_t sl4j_gguf_tensor_n_dims(const sl4j_gguf* g, int64_t i) {
    return tensor_ok(g, i) ? (int32_t)g->file->tensors()[i].dims.size() : 0;
}

int64_t sl4j_gguf_tensor_dim(const sl4j_gguf* g, int64_t i, int32_t axis) {
    if (!tensor_ok(g, i) || axis < 0) return 0;
    const std::vector<int64_t>& dims = g->file->tensors()[i].dims;
    return axis < (int32_t)dims.size() ? dims[axis] : 1;
}

int64_t sl4j_gguf_tensor_offset(const sl4j_gguf* g, int64_t i) {
    return tensor_ok(g, i) ? (int64_t)g->file->tensors()[i].offset : -1;
}

int64_t sl4j_gguf_tensor_n_bytes(const sl4j_gguf* g, int64_t i) {
    return tensor_ok(g, i) ? (int64_t)g->file->tensors()[i].n_bytes : -1;
}

const void* sl4j_gguf_tensor_data(const sl4j_gguf* g, int64_t i) {
    return tensor_ok(g, i) ? g->file->tensor_data(i) : nullptr;
}

int32_t sl4j_gguf_tensor_read_f32(const sl4j_gguf* g, int64_t i, float* dst, int64_t n) {
    return sl4j::guard([&] {
        const sl4j::GgufTensorInfo& t = tensor_at(g, i);
        SL4J_CHECK_ARG(n == t.n_elements(), "%s: tensor '%s' has %lld elements, %lld requested",
                       g->file->path().c_str(), t.name.c_str(), (long long)t.n_elements(), (long long)n);
        SL4J_CHECK_ARG(dst != nullptr, "dst is NULL");
        const sl4j::TypeTraits* tt = sl4j::type_traits(t.type);
        if (tt == nullptr || !tt->supported)
            SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s, which this engine cannot decode",
                      g->file->path().c_str(), t.name.c_str(), tt ? tt->name : "?");
        try {
            sl4j::dequantize_row(t.type, g->file->tensor_data(i), dst, n);
        } catch (const sl4j::Error& e) {
            SL4J_FAIL(e.status(), "%s: tensor '%s': %s", g->file->path().c_str(), t.name.c_str(), e.what());
        }
    });
}

int32_t sl4j_gguf_writer_init(sl4j_gguf_writer** out) {
    return sl4j::guard([&] {
        SL4J_CHECK_ARG(out != nullptr, "out is NULL");
        *out = new sl4j_gguf_writer;
    });
}

void sl4j_gguf_writer_free(sl4j_gguf_writer* w) { delete w; }

int32_t sl4j_gguf_writer_set_u8(sl4j_gguf_writer* w, const char* key, uint8_t v) {
    return set_value(w, key, [&] { return GgufValue::of_uint(SL4J_GGUF_UINT8, v); });
}
int32_t sl4j_gguf_writer_set_i8(sl4j_gguf_writer* w, const char* key, int8_t v) {
    return set_value(w, key, [&] { return GgufValue::of_int(SL4J_GGUF_INT8, v); });
}
int32_t sl4j_gguf_writer_set_u16(sl4j_gguf_writer* w, const char* key, uint16_t v) {
    return set_value(w, key, [&] { return GgufValue::of_uint(SL4J_GGUF_UINT16, v); });
}
int32_t sl4j_gguf_writer_set_i16(sl4j_gguf_writer* w, const char* key, int16_t v) {
    return set_value(w, key, [&] { return GgufValue::of_int(SL4J_GGUF_INT16, v); });
}
int32_t sl4j_gguf_writer_set_u32(sl4j_gguf_writer* w, const char* key, uint32_t v) {
    return set_value(w, key, [&] { return GgufValue::of_uint(SL4J_GGUF_UINT32, v); });
}
int32_t sl4j_gguf_writer_set_i32(sl4j_gguf_writer* w, const char* key, int32_t v) {
    return set_value(w, key, [&] { return GgufValue::of_int(SL4J_GGUF_INT32, v); });
}
int32_t sl4j_gguf_writer_set_u64(sl4j_gguf_writer* w, const char* key, uint64_t v) {
    return set_value(w, key, [&] { return GgufValue::of_uint(SL4J_GGUF_UINT64, v); });
}
int32_t sl4j_gguf_writer_set_i64(sl4j_gguf_writer* w, const char* key, int64_t v) {
    return set_value(w, key, [&] { return GgufValue::of_int(SL4J_GGUF_INT64, v); });
}
int32_t sl4j_gguf_writer_set_f32(sl4j_gguf_writer* w, const char* key, float v) {
    return set_value(w, key, [&] { return GgufValue::of_float(SL4J_GGUF_FLOAT32, v); });
}
int32_t sl4j_gguf_writer_set_f64(sl4j_gguf_writer* w, const char* key, double v) {
    return set_value(w, key, [&] { return GgufValue::of_float(SL4J_GGUF_FLOAT64, v); });
}
int32_t sl4j_gguf_writer_set_bool(sl4j_gguf_writer* w, const char* key, int32_t v) {
    return set_value(w, key, [&] { return GgufValue::of_bool(v != 0); });
}

int32_t sl4j_gguf_writer_set_str(sl4j_gguf_writer* w, const char* key, const char* v) {
    return sl4j::guard([&] {
        SL4J_CHECK_ARG(v != nullptr, "gguf writer: value of '%s' is NULL", key ? key : "(null)");
        put(w, key, GgufValue::of_str(v));
    });
}

int32_t sl4j_gguf_writer_set_arr(sl4j_gguf_writer* w, const char* key, int32_t elem_type, const void* data,
                                 int64_t n) {
    return sl4j::guard([&] {
        SL4J_CHECK_ARG(n >= 0, "gguf writer: key '%s': negative array length %lld", key ? key : "(null)",
                       (long long)n);
        SL4J_CHECK_ARG(data != nullptr || n == 0, "gguf writer: key '%s': data is NULL", key ? key : "(null)");
        size_t sz = sl4j::gguf_scalar_size(elem_type);
        SL4J_CHECK_ARG(sz != 0, "gguf writer: key '%s': element type %d is not a numeric or bool type",
                       key ? key : "(null)", elem_type);
        const uint8_t* p = static_cast<const uint8_t*>(data);
        GgufValue v;
        if (elem_type == SL4J_GGUF_FLOAT32 || elem_type == SL4J_GGUF_FLOAT64) {
            std::vector<double> xs((size_t)n);
            for (int64_t j = 0; j < n; ++j) {
                if (elem_type == SL4J_GGUF_FLOAT32) {
                    float f;
                    std::memcpy(&f, p + j * 4, 4);
                    xs[j] = f;
                } else {
                    std::memcpy(&xs[j], p + j * 8, 8);
                }
            }
            v = GgufValue::of_arr_real(elem_type, std::move(xs));
        } else {
            std::vector<uint64_t> xs((size_t)n);
            for (int64_t j = 0; j < n; ++j) {
                uint64_t raw = 0;
                std::memcpy(&raw, p + j * sz, sz);
                if (sl4j::gguf_is_signed(elem_type) && sz < 8 && (raw >> (sz * 8 - 1)) & 1)
                    raw |= ~0ull << (sz * 8);  // sign-extend, as the reader stores signed values
                if (elem_type == SL4J_GGUF_BOOL) raw = raw != 0;
                xs[j] = raw;
            }
            v = GgufValue::of_arr_num(elem_type, std::move(xs));
        }
        put(w, key, std::move(v));
    });
}

int32_t sl4j_gguf_writer_set_arr_str(sl4j_gguf_writer* w, const char* key, const char* const* values, int64_t n) {
    return sl4j::guard([&] {
        SL4J_CHECK_ARG(n >= 0, "gguf writer: key '%s': negative array length", key ? key : "(null)");
        SL4J_CHECK_ARG(values != nullptr || n == 0, "gguf writer: key '%s': values is NULL", key ? key : "(null)");
        std::vector<std::string> xs((size_t)n);
        for (int64_t j = 0; j < n; ++j) {
            SL4J_CHECK_ARG(values[j] != nullptr, "gguf writer: key '%s': string %lld is NULL",
                           key ? key : "(null)", (long long)j);
            xs[j] = values[j];
        }
        put(w, key, GgufValue::of_arr_str(std::move(xs)));
    });
}

int32_t sl4j_gguf_writer_copy_kv(sl4j_gguf_writer* w, const sl4j_gguf* src, int64_t i) {
    return sl4j::guard([&] {
        SL4J_CHECK_HANDLE(w);
        const sl4j::GgufKv& kv = kv_at(src, i);
        w->writer.set(kv.key, kv.value);
    });
}

int32_t sl4j_gguf_writer_add_tensor(sl4j_gguf_writer* w, const char* name, int32_t type, int32_t n_dims,
                                    const int64_t* dims, const void* data, int64_t n_bytes) {
    return sl4j::guard([&] {
        SL4J_CHECK_HANDLE(w);
        SL4J_CHECK_ARG(name != nullptr && name[0] != '\0', "gguf writer: tensor name is NULL or empty");
        SL4J_CHECK_ARG(n_dims >= 1 && n_dims <= 4 && dims != nullptr,
                       "gguf writer: tensor '%s': n_dims %d, expected 1 to 4 with dims given", name, n_dims);
        SL4J_CHECK_ARG(n_bytes >= 0, "gguf writer: tensor '%s': negative byte count", name);
        w->writer.add_tensor(name, type, std::vector<int64_t>(dims, dims + n_dims), data, (uint64_t)n_bytes);
    });
}

int32_t sl4j_gguf_writer_add_tensor_f32(sl4j_gguf_writer* w, const char* name, int32_t type, int32_t n_dims,
                                        const int64_t* dims, const float* data, int64_t n) {
    return sl4j::guard([&] {
        SL4J_CHECK_HANDLE(w);
        SL4J_CHECK_ARG(name != nullptr && name[0] != '\0', "gguf writer: tensor name is NULL or empty");
        SL4J_CHECK_ARG(n_dims >= 1 && n_dims <= 4 && dims != nullptr,
                       "gguf writer: tensor '%s': n_dims %d, expected 1 to 4 with dims given", name, n_dims);
        SL4J_CHECK_ARG(data != nullptr, "gguf writer: tensor '%s': data is NULL", name);
        int64_t count = 1;
        for (int32_t d = 0; d < n_dims; ++d) {
            SL4J_CHECK_ARG(dims[d] > 0 && !__builtin_mul_overflow(count, dims[d], &count),
                           "gguf writer: tensor '%s': bad dimension %lld", name, (long long)dims[d]);
        }
        SL4J_CHECK_ARG(n == count, "gguf writer: tensor '%s': %lld floats given, shape holds %lld", name,
                       (long long)n, (long long)count);
        SL4J_CHECK_ARG(sl4j::type_traits(type) != nullptr, "gguf writer: tensor '%s': unknown type id %d", name,
                       type);
        int64_t n_bytes = sl4j::type_row_bytes(type, dims[0]) * (count / dims[0]);
        std::vector<uint8_t> bytes((size_t)n_bytes);
        sl4j::quantize_row(type, data, bytes.data(), n);
        w->writer.add_tensor(name, type, std::vector<int64_t>(dims, dims + n_dims), bytes.data(),
                             (uint64_t)n_bytes);
    });
}

int32_t sl4j_gguf_writer_add_tensor_normal(sl4j_gguf_writer* w, const char* name, int32_t type, int32_t n_dims,
                                           const int64_t* dims, float mean, float std, uint64_t seed) {
    return sl4j::guard([&] {
        SL4J_CHECK_HANDLE(w);
        std::vector<int64_t> d = stream_dims(name, type, n_dims, dims);
        w->writer.add_tensor_rows(name, type, d, sl4j::normal_rows(name, d[0] > 0 ? d[0] : 1, mean, std, seed));
    });
}

int32_t sl4j_gguf_writer_add_tensor_from(sl4j_gguf_writer* w, const char* name, int32_t type, const sl4j_gguf* src,
                                         int64_t i) {
    return sl4j::guard([&] {
        SL4J_CHECK_HANDLE(w);
        const sl4j::GgufTensorInfo& t = tensor_at(src, i);
        SL4J_CHECK_ARG(name != nullptr && name[0] != '\0', "gguf writer: tensor name is NULL or empty");
        if (type == t.type) {
            w->writer.add_tensor_mapped(name, type, t.dims, src->file.get(), src->file->tensor_data(i), t.n_bytes);
            return;
        }
        std::vector<int64_t> d = stream_dims(name, type, (int32_t)t.dims.size(), t.dims.data());
        w->writer.add_tensor_rows(name, type, d, sl4j::file_rows(*src->file, i));
    });
}

int32_t sl4j_gguf_writer_add_tensor_lora_merged(sl4j_gguf_writer* w, const char* name, int32_t type,
                                                const sl4j_gguf* src, int64_t i, const sl4j_lora* lora,
                                                int64_t a_index) {
    return sl4j::guard([&] {
        SL4J_CHECK_HANDLE(w);
        SL4J_CHECK_HANDLE(lora);
        SL4J_CHECK_ARG(lora->lora != nullptr, "gguf writer: tensor '%s': the handle holds full parameters, not a LoRA adapter",
                       name ? name : "(null)");
        const sl4j::GgufTensorInfo& t = tensor_at(src, i);
        const auto& ts = lora->lora->tensors();
        SL4J_CHECK_ARG(a_index >= 0 && a_index + 1 < (int64_t)ts.size(),
                       "gguf writer: tensor '%s': adapter tensor pair %lld out of range [0, %zu)",
                       name ? name : "(null)", (long long)a_index, ts.size());
        std::vector<int64_t> d = stream_dims(name, type, (int32_t)t.dims.size(), t.dims.data());
        const sl4j::LoraConfig& c = lora->lora->config();
        w->writer.add_tensor_rows(name, type, d,
                                  sl4j::lora_merged_rows(*src->file, i, ts[(size_t)a_index], ts[(size_t)a_index + 1],
                                                         (double)c.alpha / (double)c.r));
    });
}

int32_t sl4j_gguf_writer_progress(const sl4j_gguf_writer* w, int64_t* done, int64_t* total) {
    return sl4j::guard([&] {
        SL4J_CHECK_HANDLE(w);
        SL4J_CHECK_ARG(done != nullptr && total != nullptr, "gguf writer progress: done or total is NULL");
        *done = w->writer.bytes_done();
        *total = w->writer.bytes_total();
    });
}

int32_t sl4j_gguf_writer_write(sl4j_gguf_writer* w, const char* path) {
    return sl4j::guard([&] {
        SL4J_CHECK_HANDLE(w);
        SL4J_CHECK_ARG(path != nullptr && path[0] != '\0', "gguf writer: path is NULL or empty");
        w->writer.write(path);
    });
}

}  // extern "C"
