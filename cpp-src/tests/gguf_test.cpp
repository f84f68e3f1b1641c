// GGUF reader/writer: round trips of every value type, byte-identical
// re-writes, alignment, every malformed case built by corrupting a good file,
// the C API, and (when ../shared is present) real files plus exhaustive
// truncation and bit-flip sweeps that must never crash.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <fstream>
#include <functional>
#include <limits>

#include "core/error.h"
#include "gguf/gguf.h"
#include "model/finite_check.h"
#include "stackllama4j.h"
#include "testing.h"

using sl4j::GgufFile;
using sl4j::GgufValue;
using sl4j::GgufWriter;
using sl4j::TensorRows;

namespace {

// A scratch directory per process, emptied and removed at exit.
struct ScratchDir {
    std::string path;
    ScratchDir() {
        char tmpl[] = "/tmp/sl4j_gguf_test_XXXXXX";
        const char* d = mkdtemp(tmpl);
        path = d ? d : "";
    }
    ~ScratchDir() {
        if (path.empty()) return;
        if (DIR* d = opendir(path.c_str())) {
            while (dirent* e = readdir(d)) {
                std::string name = e->d_name;
                if (name == "." || name == "..") continue;
                std::string full = path + "/" + name;
                if (unlink(full.c_str()) != 0) rmdir(full.c_str());
            }
            closedir(d);
        }
        rmdir(path.c_str());
    }
};

const std::string& tmp_dir() {
    static ScratchDir dir;
    return dir.path;
}

std::string tmp_path(const std::string& name) { return tmp_dir() + "/" + name; }

std::vector<uint8_t> read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_all(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), (std::streamsize)bytes.size());
}

// Position of the first occurrence of `s` in `b` (the tests search for unique names).
size_t find(const std::vector<uint8_t>& b, const std::string& s) {
    for (size_t i = 0; i + s.size() <= b.size(); ++i)
        if (std::memcmp(b.data() + i, s.data(), s.size()) == 0) return i;
    return std::string::npos;
}

template <typename T>
void poke(std::vector<uint8_t>& b, size_t at, T v) {
    std::memcpy(b.data() + at, &v, sizeof v);
}

template <typename T>
T peek(const std::vector<uint8_t>& b, size_t at) {
    T v;
    std::memcpy(&v, b.data() + at, sizeof v);
    return v;
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// Opening `path` must throw sl4j::Error with `status`, naming the path and every piece in `parts`.
void expect_open_error(const std::string& path, int32_t status, std::vector<std::string> parts, int line) {
    try {
        GgufFile::open(path);
        sl4j_test::record_failure(__FILE__, line, "expected sl4j::Error opening " + path);
    } catch (const sl4j::Error& e) {
        std::string msg = e.what();
        if (e.status() != status)
            sl4j_test::record_failure(__FILE__, line, std::string("status ") + sl4j_status_name(e.status()) +
                                                          ", expected " + sl4j_status_name(status) + ": " + msg);
        parts.push_back(path);
        for (const std::string& p : parts)
            if (!contains(msg, p)) sl4j_test::record_failure(__FILE__, line, "message lacks '" + p + "': " + msg);
    } catch (const std::exception& e) {
        sl4j_test::record_failure(__FILE__, line, std::string("non-sl4j exception: ") + e.what());
    }
}
#define EXPECT_OPEN_ERROR(path, status, ...) expect_open_error(path, status, {__VA_ARGS__}, __LINE__)

bool same_value(const GgufValue& a, const GgufValue& b) {
    return a.type == b.type && a.num == b.num && std::memcmp(&a.real, &b.real, sizeof a.real) == 0 &&
           a.str == b.str && (a.type != SL4J_GGUF_ARRAY || a.arr_type == b.arr_type) && a.arr_num == b.arr_num &&
           a.arr_real == b.arr_real && a.arr_str == b.arr_str;
}

std::vector<uint8_t> pattern_bytes(size_t n, uint32_t seed) {
    std::vector<uint8_t> b(n);
    for (size_t i = 0; i < n; ++i) {
        seed = seed * 1664525u + 1013904223u;
        b[i] = (uint8_t)(seed >> 24);
    }
    return b;
}

// Every value type, with the edge values of each.
void fill_all_types(GgufWriter& w) {
    w.set("t.u8", GgufValue::of_uint(SL4J_GGUF_UINT8, 255));
    w.set("t.i8", GgufValue::of_int(SL4J_GGUF_INT8, -128));
    w.set("t.u16", GgufValue::of_uint(SL4J_GGUF_UINT16, 65535));
    w.set("t.i16", GgufValue::of_int(SL4J_GGUF_INT16, -32768));
    w.set("t.u32", GgufValue::of_uint(SL4J_GGUF_UINT32, 0xffffffffu));
    w.set("t.i32", GgufValue::of_int(SL4J_GGUF_INT32, INT32_MIN));
    w.set("t.u64", GgufValue::of_uint(SL4J_GGUF_UINT64, UINT64_MAX));
    w.set("t.i64", GgufValue::of_int(SL4J_GGUF_INT64, INT64_MIN));
    w.set("t.f32", GgufValue::of_float(SL4J_GGUF_FLOAT32, 3.14159274101257324));
    w.set("t.f64", GgufValue::of_float(SL4J_GGUF_FLOAT64, -2.5e300));
    w.set("t.true", GgufValue::of_bool(true));
    w.set("t.false", GgufValue::of_bool(false));
    w.set("t.str.empty", GgufValue::of_str(""));
    w.set("t.str.utf8", GgufValue::of_str("h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\xa6\x99"));
    w.set("t.str.nul", GgufValue::of_str(std::string("a\0b\0", 4)));
    w.set("t.str.long", GgufValue::of_str(std::string(70000, 'x')));
    w.set("", GgufValue::of_str("an empty key is legal in the format"));
    w.set("t.arr.u8", GgufValue::of_arr_num(SL4J_GGUF_UINT8, {0, 1, 255}));
    w.set("t.arr.i8", GgufValue::of_arr_num(SL4J_GGUF_INT8, {(uint64_t)-128, 0, 127}));
    w.set("t.arr.u16", GgufValue::of_arr_num(SL4J_GGUF_UINT16, {0, 65535}));
    w.set("t.arr.i16", GgufValue::of_arr_num(SL4J_GGUF_INT16, {(uint64_t)-32768, 32767}));
    w.set("t.arr.u32", GgufValue::of_arr_num(SL4J_GGUF_UINT32, {0, 0xffffffffu, 7}));
    w.set("t.arr.i32", GgufValue::of_arr_num(SL4J_GGUF_INT32, {(uint64_t)(int64_t)INT32_MIN, INT32_MAX}));
    w.set("t.arr.u64", GgufValue::of_arr_num(SL4J_GGUF_UINT64, {0, UINT64_MAX}));
    w.set("t.arr.i64", GgufValue::of_arr_num(SL4J_GGUF_INT64, {(uint64_t)INT64_MIN, (uint64_t)INT64_MAX}));
    w.set("t.arr.bool", GgufValue::of_arr_num(SL4J_GGUF_BOOL, {1, 0, 1}));
    w.set("t.arr.f32", GgufValue::of_arr_real(SL4J_GGUF_FLOAT32, {0.5, -1e-30, 3e38}));
    w.set("t.arr.f64", GgufValue::of_arr_real(SL4J_GGUF_FLOAT64, {1e-300, -0.0, 1.0 / 3.0}));
    w.set("t.arr.str", GgufValue::of_arr_str({"", "\xe2\x96\x81the", std::string("x\0y", 3), "<0x0A>"}));
    w.set("t.arr.empty.u32", GgufValue::of_arr_num(SL4J_GGUF_UINT32, {}));
    w.set("t.arr.empty.f32", GgufValue::of_arr_real(SL4J_GGUF_FLOAT32, {}));
    w.set("t.arr.empty.str", GgufValue::of_arr_str({}));
}

void copy_file_into(GgufWriter& w, const GgufFile& f) {
    for (const sl4j::GgufKv& kv : f.kvs()) w.set(kv.key, kv.value);
    for (size_t i = 0; i < f.tensors().size(); ++i) {
        const sl4j::GgufTensorInfo& t = f.tensors()[i];
        w.add_tensor(t.name, t.type, t.dims, f.tensor_data((int64_t)i), t.n_bytes);
    }
}

}  // namespace

TEST(gguf_roundtrip_every_value_type) {
    GgufWriter w;
    fill_all_types(w);
    std::vector<float> f32 = {1.5f, -2.0f, 0.0f, 1e-7f, 3.0f, -4.25f};
    std::vector<uint8_t> f16 = pattern_bytes(4 * 2, 1), q80 = pattern_bytes(2 * 34, 2), i32 = pattern_bytes(5 * 4, 3);
    w.add_tensor("w.f32", SL4J_TYPE_F32, {3, 2}, f32.data(), f32.size() * 4);
    w.add_tensor("w.f16", SL4J_TYPE_F16, {4}, f16.data(), f16.size());
    w.add_tensor("w.q8_0", SL4J_TYPE_Q8_0, {32, 1, 2}, q80.data(), q80.size());
    w.add_tensor("w.i32", SL4J_TYPE_I32, {5, 1, 1, 1}, i32.data(), i32.size());
    std::string path = tmp_path("all_types.gguf");
    w.write(path);

    auto f = GgufFile::open(path);
    CHECK_EQ(f->version(), 3u);
    CHECK_EQ(f->alignment(), 32u);
    CHECK_EQ(f->kvs().size(), w.kvs().size());
    for (size_t i = 0; i < f->kvs().size() && i < w.kvs().size(); ++i) {
        CHECK(f->kvs()[i].key == w.kvs()[i].key);
        if (!same_value(f->kvs()[i].value, w.kvs()[i].value))
            sl4j_test::record_failure(__FILE__, __LINE__, "value differs for key '" + w.kvs()[i].key + "'");
    }
    CHECK_EQ(f->get_i64("t.i8"), -128);
    CHECK_EQ(f->get_i64("t.u32"), 4294967295LL);
    CHECK_EQ(f->get_f64("t.f64"), -2.5e300);
    CHECK_EQ(f->get_f64("t.f32"), (double)3.14159274101257324f);
    CHECK(f->get_str("t.str.nul") == std::string("a\0b\0", 4));
    CHECK_EQ(f->get_i64_or("t.absent", 42), 42);
    EXPECT_THROWS(f->get_i64("t.u64"));  // above 2^63-1
    EXPECT_THROWS(f->get_str("t.u8"));
    try {
        f->get_i64("t.absent");
        CHECK(false);
    } catch (const sl4j::Error& e) {
        CHECK_EQ(e.status(), (int32_t)SL4J_ERR_NOT_FOUND);
        CHECK(contains(e.what(), "t.absent") && contains(e.what(), path));
    }

    CHECK_EQ(f->tensors().size(), (size_t)4);
    CHECK(f->find_tensor("w.q8_0") == 2 && f->find_tensor("nope") == -1);
    const sl4j::GgufTensorInfo& tq = f->tensors()[2];
    CHECK(tq.dims == std::vector<int64_t>({32, 1, 2}));
    CHECK_EQ(tq.n_bytes, (uint64_t)68);
    CHECK_EQ(tq.n_elements(), (int64_t)64);
    CHECK(std::memcmp(f->tensor_data(0), f32.data(), 24) == 0);
    CHECK(std::memcmp(f->tensor_data(1), f16.data(), f16.size()) == 0);
    CHECK(std::memcmp(f->tensor_data(2), q80.data(), q80.size()) == 0);
    CHECK(std::memcmp(f->tensor_data(3), i32.data(), i32.size()) == 0);
    for (const sl4j::GgufTensorInfo& t : f->tensors()) CHECK_EQ(t.offset % 32, (uint64_t)0);
    CHECK_EQ(f->data_offset() % 32, (uint64_t)0);

    // Reading and writing again gives the same bytes.
    GgufWriter w2;
    copy_file_into(w2, *f);
    std::string path2 = tmp_path("all_types_again.gguf");
    w2.write(path2);
    CHECK(read_all(path) == read_all(path2));
    unlink(path.c_str());
    unlink(path2.c_str());
}

TEST(gguf_writer_set_replaces_in_place_and_validates) {
    GgufWriter w;
    w.set("a", GgufValue::of_uint(SL4J_GGUF_UINT32, 1));
    w.set("b", GgufValue::of_str("old"));
    w.set("c", GgufValue::of_bool(true));
    w.set("b", GgufValue::of_arr_str({"new"}));
    CHECK_EQ(w.kvs().size(), (size_t)3);
    CHECK(w.kvs()[1].key == "b" && w.kvs()[1].value.type == SL4J_GGUF_ARRAY && w.kvs()[1].value.arr_str[0] == "new");
    CHECK(w.kvs()[2].key == "c");
    // Values must fit their declared type; alignment must be a power-of-two u32.
    GgufValue bad = GgufValue::of_uint(SL4J_GGUF_UINT8, 7);
    bad.num = 256;
    EXPECT_THROWS(w.set("x", bad));
    EXPECT_THROWS(w.set("general.alignment", GgufValue::of_uint(SL4J_GGUF_UINT32, 48)));
    EXPECT_THROWS(w.set("general.alignment", GgufValue::of_uint(SL4J_GGUF_UINT64, 64)));
    float x[4] = {0};
    EXPECT_THROWS(w.add_tensor("t", SL4J_TYPE_F32, {4}, x, 15));          // wrong byte count
    EXPECT_THROWS(w.add_tensor("t", SL4J_TYPE_Q8_0, {4}, x, 16));         // not a whole block
    EXPECT_THROWS(w.add_tensor("t", 4, {4}, x, 16));                      // retired type id
    EXPECT_THROWS(w.add_tensor("t", SL4J_TYPE_F32, {4, 0}, x, 0));        // zero dim
    EXPECT_THROWS(w.add_tensor("t", SL4J_TYPE_F32, {1, 1, 1, 1, 4}, x, 16));
    w.add_tensor("t", SL4J_TYPE_F32, {4}, x, 16);
    EXPECT_THROWS(w.add_tensor("t", SL4J_TYPE_F32, {4}, x, 16));          // duplicate name
}

TEST(gguf_alignment_64) {
    GgufWriter w;
    w.set("general.alignment", GgufValue::of_uint(SL4J_GGUF_UINT32, 64));
    w.set("x", GgufValue::of_str("abc"));
    std::vector<float> a = {1, 2, 3}, b = {4, 5, 6, 7, 8}, c = {9};
    w.add_tensor("a", SL4J_TYPE_F32, {3}, a.data(), 12);
    w.add_tensor("b", SL4J_TYPE_F32, {5}, b.data(), 20);
    w.add_tensor("c", SL4J_TYPE_F32, {1}, c.data(), 4);
    std::string path = tmp_path("align64.gguf");
    w.write(path);
    auto f = GgufFile::open(path);
    CHECK_EQ(f->alignment(), 64u);
    CHECK_EQ(f->data_offset() % 64, (uint64_t)0);
    CHECK_EQ(f->tensors()[0].offset, (uint64_t)0);
    CHECK_EQ(f->tensors()[1].offset, (uint64_t)64);
    CHECK_EQ(f->tensors()[2].offset, (uint64_t)128);
    CHECK_EQ(f->file_size(), f->data_offset() + 192);
    CHECK(std::memcmp(f->tensor_data(1), b.data(), 20) == 0);
    CHECK(std::memcmp(f->tensor_data(2), c.data(), 4) == 0);
    // The padding is zeros.
    std::vector<uint8_t> bytes = read_all(path);
    size_t data = (size_t)f->data_offset();
    bool zero = true;
    for (size_t i = data + 12; i < data + 64; ++i) zero = zero && bytes[i] == 0;
    for (size_t i = data + 132; i < bytes.size(); ++i) zero = zero && bytes[i] == 0;
    CHECK(zero);
    unlink(path.c_str());
}

TEST(gguf_version_2_reads_like_3) {
    GgufWriter w;
    w.set("k", GgufValue::of_uint(SL4J_GGUF_UINT32, 5));
    float x[2] = {1, 2};
    w.add_tensor("t", SL4J_TYPE_F32, {2}, x, 8);
    std::string path = tmp_path("v2.gguf");
    w.write(path);
    std::vector<uint8_t> b = read_all(path);
    poke<uint32_t>(b, 4, 2);
    write_all(path, b);
    auto f = GgufFile::open(path);
    CHECK_EQ(f->version(), 2u);
    CHECK_EQ(f->get_i64("k"), 5);
    CHECK(std::memcmp(f->tensor_data(0), x, 8) == 0);
    unlink(path.c_str());
}

// The good file every malformed case starts from.
namespace {
struct Base {
    std::vector<uint8_t> bytes;
    size_t str_key;   // start of the "test.str" key bytes (its u64 length is 8 before)
    size_t arr_key;   // "test.arr"
    size_t bool_key;  // "test.bool"
    size_t strs_key;  // "test.strs"
    size_t align_key; // "general.alignment"
    size_t ta, tb;    // tensor names "tensor.aa", "tensor.bb"
};

Base make_base() {
    GgufWriter w;
    w.set("general.alignment", GgufValue::of_uint(SL4J_GGUF_UINT32, 32));
    w.set("test.str", GgufValue::of_str("hello"));
    w.set("test.arr", GgufValue::of_arr_num(SL4J_GGUF_UINT32, {1, 2, 3}));
    w.set("test.bool", GgufValue::of_bool(true));
    w.set("test.strs", GgufValue::of_arr_str({"abc", "defg"}));
    float a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    w.add_tensor("tensor.aa", SL4J_TYPE_F32, {4, 2}, a, 32);
    w.add_tensor("tensor.bb", SL4J_TYPE_F32, {8}, b, 32);
    std::string path = tmp_path("base.gguf");
    w.write(path);
    Base base;
    base.bytes = read_all(path);
    unlink(path.c_str());
    base.str_key = find(base.bytes, "test.str");
    base.arr_key = find(base.bytes, "test.arr");
    base.bool_key = find(base.bytes, "test.bool");
    base.strs_key = find(base.bytes, "test.strs");
    base.align_key = find(base.bytes, "general.alignment");
    base.ta = find(base.bytes, "tensor.aa");
    base.tb = find(base.bytes, "tensor.bb");
    return base;
}

// Writes a corrupted copy of the base file and returns its path.
std::string corrupt(const std::string& name, const std::function<void(std::vector<uint8_t>&, const Base&)>& edit) {
    static const Base base = make_base();
    std::vector<uint8_t> b = base.bytes;
    edit(b, base);
    std::string path = tmp_path(name);
    write_all(path, b);
    return path;
}
}  // namespace

TEST(gguf_malformed_header) {
    using B = std::vector<uint8_t>;
    auto ok = corrupt("ok.gguf", [](B&, const Base&) {});
    CHECK_EQ(GgufFile::open(ok)->tensors().size(), (size_t)2);

    EXPECT_OPEN_ERROR(corrupt("magic.gguf", [](B& b, const Base&) { b[0] = 'X'; }), SL4J_ERR_FORMAT,
                      "offset 0", "magic", "GGUF");
    EXPECT_OPEN_ERROR(corrupt("v1.gguf", [](B& b, const Base&) { poke<uint32_t>(b, 4, 1); }), SL4J_ERR_UNSUPPORTED,
                      "offset 4", "version 1", "expected version 2 or 3");
    EXPECT_OPEN_ERROR(corrupt("v4.gguf", [](B& b, const Base&) { poke<uint32_t>(b, 4, 4); }), SL4J_ERR_UNSUPPORTED,
                      "offset 4", "version 4");
    EXPECT_OPEN_ERROR(corrupt("v0.gguf", [](B& b, const Base&) { poke<uint32_t>(b, 4, 0); }), SL4J_ERR_FORMAT,
                      "version 0");
    EXPECT_OPEN_ERROR(corrupt("vbe.gguf", [](B& b, const Base&) { poke<uint32_t>(b, 4, 0x03000000u); }),
                      SL4J_ERR_UNSUPPORTED, "big-endian");
    EXPECT_OPEN_ERROR(corrupt("empty.gguf", [](B& b, const Base&) { b.clear(); }), SL4J_ERR_FORMAT, "empty");
    EXPECT_OPEN_ERROR(corrupt("short.gguf", [](B& b, const Base&) { b.resize(10); }), SL4J_ERR_FORMAT,
                      "offset 8", "truncated", "tensor count");
    EXPECT_OPEN_ERROR(corrupt("nkv.gguf", [](B& b, const Base&) { poke<uint64_t>(b, 16, 1ull << 60); }),
                      SL4J_ERR_FORMAT, "offset 16", "metadata count");
    EXPECT_OPEN_ERROR(corrupt("ntensor.gguf", [](B& b, const Base&) { poke<uint64_t>(b, 8, ~0ull); }),
                      SL4J_ERR_FORMAT, "offset 8", "tensor count");
    EXPECT_OPEN_ERROR(tmp_path("does_not_exist.gguf"), SL4J_ERR_IO, "cannot open");
    EXPECT_OPEN_ERROR(tmp_dir(), SL4J_ERR_IO, "not a regular file");
}

TEST(gguf_malformed_metadata) {
    using B = std::vector<uint8_t>;
    EXPECT_OPEN_ERROR(corrupt("strlen.gguf", [](B& b, const Base& s) { poke<uint64_t>(b, s.str_key - 8, 1ull << 62); }),
                      SL4J_ERR_FORMAT, "the key", "length 4611686018427387904", "remain");
    EXPECT_OPEN_ERROR(corrupt("strval.gguf",
                              [](B& b, const Base& s) { poke<uint64_t>(b, s.str_key + 8 + 4, 1ull << 40); }),
                      SL4J_ERR_FORMAT, "key 'test.str'", "string value", "remain",
                      std::to_string(find(make_base().bytes, "test.str") + 12));
    EXPECT_OPEN_ERROR(corrupt("dupkey.gguf", [](B& b, const Base& s) { std::memcpy(&b[s.str_key], "test.arr", 8); }),
                      SL4J_ERR_FORMAT, "key 'test.arr'", "duplicate key");
    EXPECT_OPEN_ERROR(corrupt("vtype.gguf", [](B& b, const Base& s) { poke<uint32_t>(b, s.str_key + 8, 13); }),
                      SL4J_ERR_FORMAT, "key 'test.str'", "unknown value type 13");
    EXPECT_OPEN_ERROR(corrupt("atype.gguf", [](B& b, const Base& s) { poke<uint32_t>(b, s.arr_key + 12, 77); }),
                      SL4J_ERR_FORMAT, "key 'test.arr'", "unknown array element type 77");
    EXPECT_OPEN_ERROR(corrupt("nested.gguf",
                              [](B& b, const Base& s) { poke<uint32_t>(b, s.arr_key + 12, SL4J_GGUF_ARRAY); }),
                      SL4J_ERR_UNSUPPORTED, "key 'test.arr'", "arrays of arrays");
    EXPECT_OPEN_ERROR(corrupt("alen.gguf", [](B& b, const Base& s) { poke<uint64_t>(b, s.arr_key + 16, 1ull << 61); }),
                      SL4J_ERR_FORMAT, "key 'test.arr'", "array length is 2305843009213693952");
    EXPECT_OPEN_ERROR(corrupt("bool.gguf", [](B& b, const Base& s) { b[s.bool_key + 9 + 4] = 2; }), SL4J_ERR_FORMAT,
                      "key 'test.bool'", "expected 0 or 1");
    EXPECT_OPEN_ERROR(corrupt("al48.gguf", [](B& b, const Base& s) { poke<uint32_t>(b, s.align_key + 17 + 4, 48); }),
                      SL4J_ERR_FORMAT, "general.alignment", "power of two");
    EXPECT_OPEN_ERROR(corrupt("al0.gguf", [](B& b, const Base& s) { poke<uint32_t>(b, s.align_key + 17 + 4, 0); }),
                      SL4J_ERR_FORMAT, "general.alignment", "power of two");
    EXPECT_OPEN_ERROR(corrupt("altype.gguf",
                              [](B& b, const Base& s) { poke<uint32_t>(b, s.align_key + 17, SL4J_GGUF_INT32); }),
                      SL4J_ERR_FORMAT, "general.alignment", "int32", "expected uint32");
    // A count that fits the file but would decode to more than 1 GiB (u8 elements take 8 bytes
    // in memory): rejected before allocating. The file is sparse, so this costs no disk.
    std::string big = corrupt("bigarr.gguf", [](B& b, const Base& s) {
        poke<uint32_t>(b, s.arr_key + 12, SL4J_GGUF_UINT8);
        poke<uint64_t>(b, s.arr_key + 16, (1ull << 27) + 1);
    });
    CHECK_EQ(truncate(big.c_str(), (off_t)((1ull << 27) + 4096)), 0);
    EXPECT_OPEN_ERROR(big, SL4J_ERR_UNSUPPORTED, "key 'test.arr'", "134217729 items", "1024 MiB limit");
    unlink(big.c_str());
    // Cut inside an array: its length no longer fits, checked before anything is allocated.
    EXPECT_OPEN_ERROR(corrupt("cutarr.gguf", [](B& b, const Base& s) { b.resize(s.arr_key + 8 + 4 + 4 + 8 + 6); }),
                      SL4J_ERR_FORMAT, "key 'test.arr'", "array length is 3", "hold at most 1");
    // Cut inside the second string of a string array: the message names the element.
    EXPECT_OPEN_ERROR(corrupt("cutstrs.gguf", [](B& b, const Base& s) { b.resize(s.strs_key + 9 + 4 + 4 + 8 + 11 + 8 + 2); }),
                      SL4J_ERR_FORMAT, "key 'test.strs' element 1", "length 4", "only 2 bytes remain");
    EXPECT_OPEN_ERROR(corrupt("cutstrs2.gguf", [](B& b, const Base& s) { b.resize(s.strs_key + 9 + 4 + 4 + 8 + 11 + 5); }),
                      SL4J_ERR_FORMAT, "key 'test.strs' element 1", "truncated", "need 8 bytes, only 5 remain");
}

TEST(gguf_malformed_tensor_infos) {
    using B = std::vector<uint8_t>;
    // Tensor info layout after the 9-byte name: u32 n_dims | u64 dims[] | u32 type | u64 offset.
    const size_t a_ndims = 9, a_dim0 = 13, a_type = 29, b_type = 21, b_off = 25;
    EXPECT_OPEN_ERROR(corrupt("nd0.gguf", [&](B& b, const Base& s) { poke<uint32_t>(b, s.ta + a_ndims, 0); }),
                      SL4J_ERR_FORMAT, "tensor 'tensor.aa'", "n_dims is 0", "1 to 4");
    EXPECT_OPEN_ERROR(corrupt("nd5.gguf", [&](B& b, const Base& s) { poke<uint32_t>(b, s.ta + a_ndims, 5); }),
                      SL4J_ERR_FORMAT, "tensor 'tensor.aa'", "n_dims is 5");
    EXPECT_OPEN_ERROR(corrupt("dim0.gguf", [&](B& b, const Base& s) { poke<uint64_t>(b, s.ta + a_dim0, 0); }),
                      SL4J_ERR_FORMAT, "tensor 'tensor.aa'", "dims[0] is 0");
    EXPECT_OPEN_ERROR(corrupt("dimneg.gguf", [&](B& b, const Base& s) { poke<uint64_t>(b, s.ta + a_dim0, ~0ull); }),
                      SL4J_ERR_FORMAT, "dims[0] is 18446744073709551615");
    EXPECT_OPEN_ERROR(corrupt("dimovf.gguf",
                              [&](B& b, const Base& s) {
                                  poke<uint64_t>(b, s.ta + a_dim0, 1ull << 40);
                                  poke<uint64_t>(b, s.ta + a_dim0 + 8, 1ull << 40);
                              }),
                      SL4J_ERR_FORMAT, "tensor 'tensor.aa'", "overflows");
    EXPECT_OPEN_ERROR(corrupt("ttype4.gguf", [&](B& b, const Base& s) { poke<uint32_t>(b, s.ta + a_type, 4); }),
                      SL4J_ERR_FORMAT, "tensor 'tensor.aa'", "unknown tensor type id 4");
    EXPECT_OPEN_ERROR(corrupt("ttypebig.gguf", [&](B& b, const Base& s) { poke<uint32_t>(b, s.ta + a_type, 0x80000000u); }),
                      SL4J_ERR_FORMAT, "unknown tensor type id 2147483648");
    EXPECT_OPEN_ERROR(corrupt("block.gguf",
                              [&](B& b, const Base& s) { poke<uint32_t>(b, s.ta + a_type, SL4J_TYPE_Q8_0); }),
                      SL4J_ERR_FORMAT, "tensor 'tensor.aa'", "not a multiple of the q8_0 block size 32");
    EXPECT_OPEN_ERROR(corrupt("unalign.gguf", [&](B& b, const Base& s) { poke<uint64_t>(b, s.tb + b_off, 36); }),
                      SL4J_ERR_FORMAT, "tensor 'tensor.bb'", "not a multiple of the alignment 32");
    EXPECT_OPEN_ERROR(corrupt("pasteof.gguf", [&](B& b, const Base& s) { poke<uint64_t>(b, s.tb + b_off, 64); }),
                      SL4J_ERR_FORMAT, "tensor 'tensor.bb'", "past the end");
    EXPECT_OPEN_ERROR(corrupt("hugeoff.gguf", [&](B& b, const Base& s) { poke<uint64_t>(b, s.tb + b_off, ~0ull << 5); }),
                      SL4J_ERR_FORMAT, "tensor 'tensor.bb'", "past the end");
    EXPECT_OPEN_ERROR(corrupt("cutdata.gguf", [&](B& b, const Base&) { b.resize(b.size() - 1); }), SL4J_ERR_FORMAT,
                      "tensor 'tensor.bb'", "past the end");
    EXPECT_OPEN_ERROR(corrupt("overlap.gguf", [&](B& b, const Base& s) { poke<uint64_t>(b, s.tb + b_off, 0); }),
                      SL4J_ERR_FORMAT, "'tensor.aa'", "'tensor.bb'", "overlap");
    EXPECT_OPEN_ERROR(corrupt("dupname.gguf", [&](B& b, const Base& s) { std::memcpy(&b[s.tb], "tensor.aa", 9); }),
                      SL4J_ERR_FORMAT, "tensor 'tensor.aa'", "duplicate tensor name");
    EXPECT_OPEN_ERROR(corrupt("namelen.gguf", [&](B& b, const Base& s) { poke<uint64_t>(b, s.tb - 8, 1ull << 50); }),
                      SL4J_ERR_FORMAT, "tensor name", "remain");
    // A type ggml defines is readable even when this engine cannot decode it: tensor.bb as Q4_1
    // needs 32 elements = 20 bytes, which fit in its 32-byte slot.
    std::string q41 = corrupt("q41.gguf", [&](B& b, const Base& s) {
        poke<uint64_t>(b, s.tb + 13, 32);
        poke<uint32_t>(b, s.tb + b_type, SL4J_TYPE_Q4_1);
    });
    auto f = GgufFile::open(q41);
    CHECK_EQ(f->tensors()[1].type, (int32_t)SL4J_TYPE_Q4_1);
    CHECK_EQ(f->tensors()[1].n_bytes, (uint64_t)20);
    sl4j_gguf* g = nullptr;
    CHECK_EQ(sl4j_gguf_open(q41.c_str(), &g), (int32_t)SL4J_OK);
    std::vector<float> out(32);
    CHECK_EQ(sl4j_gguf_tensor_read_f32(g, 1, out.data(), 32), (int32_t)SL4J_ERR_UNSUPPORTED);
    CHECK(contains(sl4j_last_error(), "tensor.bb") && contains(sl4j_last_error(), q41));
    sl4j_gguf_free(g);
}

TEST(gguf_c_api_read) {
    GgufWriter w;
    fill_all_types(w);
    std::vector<float> f32 = {1.5f, -2.0f, 0.25f, 8.0f};
    w.add_tensor("w", SL4J_TYPE_F32, {2, 2}, f32.data(), 16);
    std::string path = tmp_path("capi.gguf");
    w.write(path);

    sl4j_gguf* g = nullptr;
    CHECK_EQ(sl4j_gguf_open(path.c_str(), &g), (int32_t)SL4J_OK);
    if (g == nullptr) return;
    CHECK_EQ(sl4j_gguf_version(g), 3u);
    CHECK_EQ(sl4j_gguf_alignment(g), 32u);
    CHECK_EQ(sl4j_gguf_n_kv(g), (int64_t)w.kvs().size());
    CHECK_EQ(sl4j_gguf_file_size(g), (int64_t)read_all(path).size());
    CHECK_EQ(sl4j_gguf_find_key(g, "nope"), (int64_t)-1);
    CHECK(sl4j_gguf_kv_key(g, 10000) == nullptr && sl4j_gguf_kv_type(g, -1) == -1);
    int64_t i8 = sl4j_gguf_find_key(g, "t.i8"), u64 = sl4j_gguf_find_key(g, "t.u64");
    CHECK(std::string(sl4j_gguf_kv_key(g, i8)) == "t.i8");
    CHECK_EQ(sl4j_gguf_kv_type(g, i8), (int32_t)SL4J_GGUF_INT8);
    int64_t iv = 0;
    uint64_t uv = 0;
    double dv = 0;
    int32_t bv = 0;
    const char* sv = nullptr;
    CHECK_EQ(sl4j_gguf_kv_get_i64(g, i8, &iv), (int32_t)SL4J_OK);
    CHECK_EQ(iv, (int64_t)-128);
    CHECK_EQ(sl4j_gguf_kv_get_u64(g, i8, &uv), (int32_t)SL4J_ERR_FORMAT);  // negative
    CHECK(contains(sl4j_last_error(), "t.i8") && contains(sl4j_last_error(), path));
    CHECK_EQ(sl4j_gguf_kv_get_u64(g, u64, &uv), (int32_t)SL4J_OK);
    CHECK_EQ(uv, UINT64_MAX);
    CHECK_EQ(sl4j_gguf_kv_get_i64(g, u64, &iv), (int32_t)SL4J_ERR_FORMAT);  // does not fit
    CHECK(contains(sl4j_last_error(), "t.u64"));
    CHECK_EQ(sl4j_gguf_kv_get_i64(g, sl4j_gguf_find_key(g, "t.true"), &iv), (int32_t)SL4J_OK);
    CHECK_EQ(iv, (int64_t)1);
    CHECK_EQ(sl4j_gguf_kv_get_f64(g, sl4j_gguf_find_key(g, "t.u16"), &dv), (int32_t)SL4J_OK);
    CHECK_EQ(dv, 65535.0);
    CHECK_EQ(sl4j_gguf_kv_get_f64(g, sl4j_gguf_find_key(g, "t.f32"), &dv), (int32_t)SL4J_OK);
    CHECK_EQ(dv, (double)3.14159274101257324f);
    CHECK_EQ(sl4j_gguf_kv_get_f64(g, sl4j_gguf_find_key(g, "t.str.utf8"), &dv), (int32_t)SL4J_ERR_FORMAT);
    CHECK(contains(sl4j_last_error(), "t.str.utf8") && contains(sl4j_last_error(), "string"));
    CHECK_EQ(sl4j_gguf_kv_get_bool(g, sl4j_gguf_find_key(g, "t.false"), &bv), (int32_t)SL4J_OK);
    CHECK_EQ(bv, 0);
    CHECK_EQ(sl4j_gguf_kv_get_str(g, sl4j_gguf_find_key(g, "t.str.utf8"), &sv), (int32_t)SL4J_OK);
    CHECK(std::string(sv) == "h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\xa6\x99");
    CHECK_EQ(sl4j_gguf_kv_get_str(g, i8, &sv), (int32_t)SL4J_ERR_FORMAT);
    CHECK_EQ(sl4j_gguf_kv_get_i64(g, 99999, &iv), (int32_t)SL4J_ERR_INVALID_ARGUMENT);
    CHECK_EQ(sl4j_gguf_kv_get_i64(nullptr, 0, &iv), (int32_t)SL4J_ERR_INVALID_ARGUMENT);

    int64_t ai32 = sl4j_gguf_find_key(g, "t.arr.i32"), af32 = sl4j_gguf_find_key(g, "t.arr.f32");
    int64_t astr = sl4j_gguf_find_key(g, "t.arr.str"), au64 = sl4j_gguf_find_key(g, "t.arr.u64");
    int32_t at = -1;
    int64_t len = -1;
    CHECK_EQ(sl4j_gguf_kv_array_type(g, ai32, &at), (int32_t)SL4J_OK);
    CHECK_EQ(at, (int32_t)SL4J_GGUF_INT32);
    CHECK_EQ(sl4j_gguf_kv_array_len(g, astr, &len), (int32_t)SL4J_OK);
    CHECK_EQ(len, (int64_t)4);
    CHECK_EQ(sl4j_gguf_kv_array_len(g, i8, &len), (int32_t)SL4J_ERR_FORMAT);
    CHECK_EQ(sl4j_gguf_kv_array_get_i64(g, ai32, 0, &iv), (int32_t)SL4J_OK);
    CHECK_EQ(iv, (int64_t)INT32_MIN);
    CHECK_EQ(sl4j_gguf_kv_array_get_i64(g, ai32, 2, &iv), (int32_t)SL4J_ERR_INVALID_ARGUMENT);
    CHECK_EQ(sl4j_gguf_kv_array_get_f64(g, af32, 2, &dv), (int32_t)SL4J_OK);
    CHECK_EQ(dv, (double)3e38f);
    CHECK_EQ(sl4j_gguf_kv_array_get_f64(g, ai32, 1, &dv), (int32_t)SL4J_OK);
    CHECK_EQ(dv, (double)INT32_MAX);
    CHECK_EQ(sl4j_gguf_kv_array_get_str(g, astr, 1, &sv), (int32_t)SL4J_OK);
    CHECK(std::string(sv) == "\xe2\x96\x81the");
    CHECK_EQ(sl4j_gguf_kv_array_get_str(g, ai32, 0, &sv), (int32_t)SL4J_ERR_FORMAT);
    float fa[3];
    CHECK_EQ(sl4j_gguf_kv_array_copy_f32(g, af32, fa, 3), (int32_t)SL4J_OK);
    CHECK(fa[0] == 0.5f && fa[1] == -1e-30f && fa[2] == 3e38f);
    CHECK_EQ(sl4j_gguf_kv_array_copy_f32(g, af32, fa, 2), (int32_t)SL4J_ERR_INVALID_ARGUMENT);
    int32_t ia[3];
    CHECK_EQ(sl4j_gguf_kv_array_copy_i32(g, sl4j_gguf_find_key(g, "t.arr.u32"), ia, 3), (int32_t)SL4J_ERR_FORMAT);
    CHECK(contains(sl4j_last_error(), "element 1"));  // 0xffffffff does not fit int32
    CHECK_EQ(sl4j_gguf_kv_array_copy_i32(g, sl4j_gguf_find_key(g, "t.arr.i16"), ia, 2), (int32_t)SL4J_OK);
    CHECK(ia[0] == -32768 && ia[1] == 32767);
    CHECK_EQ(sl4j_gguf_kv_array_copy_i32(g, au64, ia, 2), (int32_t)SL4J_ERR_FORMAT);
    CHECK_EQ(sl4j_gguf_kv_array_copy_i32(g, astr, ia, 4), (int32_t)SL4J_ERR_FORMAT);

    CHECK_EQ(sl4j_gguf_n_tensors(g), (int64_t)1);
    int64_t ti = sl4j_gguf_find_tensor(g, "w");
    CHECK_EQ(ti, (int64_t)0);
    CHECK(std::string(sl4j_gguf_tensor_name(g, 0)) == "w");
    CHECK_EQ(sl4j_gguf_tensor_type(g, 0), (int32_t)SL4J_TYPE_F32);
    CHECK_EQ(sl4j_gguf_tensor_n_dims(g, 0), 2);
    CHECK_EQ(sl4j_gguf_tensor_dim(g, 0, 1), (int64_t)2);
    CHECK_EQ(sl4j_gguf_tensor_dim(g, 0, 3), (int64_t)1);
    CHECK_EQ(sl4j_gguf_tensor_n_bytes(g, 0), (int64_t)16);
    CHECK_EQ(sl4j_gguf_tensor_offset(g, 0), (int64_t)0);
    CHECK(sl4j_gguf_tensor_data(g, 1) == nullptr);
    CHECK(std::memcmp(sl4j_gguf_tensor_data(g, 0), f32.data(), 16) == 0);
    float back[4] = {0};
    CHECK_EQ(sl4j_gguf_tensor_read_f32(g, 0, back, 4), (int32_t)SL4J_OK);
    CHECK(std::memcmp(back, f32.data(), 16) == 0);
    CHECK_EQ(sl4j_gguf_tensor_read_f32(g, 0, back, 3), (int32_t)SL4J_ERR_INVALID_ARGUMENT);
    sl4j_gguf_free(g);
    sl4j_gguf_free(nullptr);
    unlink(path.c_str());
}

TEST(gguf_c_api_open_failure_names_file) {
    std::string path = corrupt("capi_bad.gguf", [](std::vector<uint8_t>& b, const Base&) { b[1] = 'X'; });
    sl4j_gguf* g = reinterpret_cast<sl4j_gguf*>(&path);  // must be reset to NULL
    CHECK_EQ(sl4j_gguf_open(path.c_str(), &g), (int32_t)SL4J_ERR_FORMAT);
    CHECK(g == nullptr);
    CHECK(contains(sl4j_last_error(), path) && contains(sl4j_last_error(), "magic"));
    std::string missing = tmp_path("missing.gguf");
    CHECK_EQ(sl4j_gguf_open(missing.c_str(), &g), (int32_t)SL4J_ERR_IO);
    CHECK(contains(sl4j_last_error(), missing));
    CHECK_EQ(sl4j_gguf_open(nullptr, &g), (int32_t)SL4J_ERR_INVALID_ARGUMENT);
}

TEST(gguf_c_api_writer) {
    sl4j_gguf_writer* w = nullptr;
    CHECK_EQ(sl4j_gguf_writer_init(&w), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_set_u8(w, "u8", 200), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_set_i8(w, "i8", -5), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_set_u16(w, "u16", 60000), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_set_i16(w, "i16", -300), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_set_u32(w, "general.alignment", 64), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_set_i32(w, "i32", -70000), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_set_u64(w, "u64", 1ull << 40), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_set_i64(w, "i64", -(1ll << 40)), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_set_f32(w, "f32", 0.1f), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_set_f64(w, "f64", 0.1), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_set_bool(w, "b", 7), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_set_str(w, "s", "v"), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_set_str(w, "s", "replaced"), (int32_t)SL4J_OK);
    int16_t i16s[3] = {-1, 2, -32768};
    float f32s[2] = {0.5f, -7.0f};
    uint8_t bools[2] = {1, 0};
    CHECK_EQ(sl4j_gguf_writer_set_arr(w, "a.i16", SL4J_GGUF_INT16, i16s, 3), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_set_arr(w, "a.f32", SL4J_GGUF_FLOAT32, f32s, 2), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_set_arr(w, "a.bool", SL4J_GGUF_BOOL, bools, 2), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_set_arr(w, "a.empty", SL4J_GGUF_UINT32, nullptr, 0), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_set_arr(w, "a.bad", SL4J_GGUF_STRING, f32s, 2), (int32_t)SL4J_ERR_INVALID_ARGUMENT);
    const char* strs[3] = {"x", "", "\xc3\xa9"};
    CHECK_EQ(sl4j_gguf_writer_set_arr_str(w, "a.str", strs, 3), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_set_u32(w, nullptr, 1), (int32_t)SL4J_ERR_INVALID_ARGUMENT);
    CHECK_EQ(sl4j_gguf_writer_set_u32(nullptr, "k", 1), (int32_t)SL4J_ERR_INVALID_ARGUMENT);
    float t[6] = {1, 2, 3, 4, 5, 6};
    int64_t dims[2] = {3, 2};
    CHECK_EQ(sl4j_gguf_writer_add_tensor(w, "raw", SL4J_TYPE_F32, 2, dims, t, 24), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_add_tensor(w, "raw2", SL4J_TYPE_F32, 2, dims, t, 20), (int32_t)SL4J_ERR_INVALID_ARGUMENT);
    CHECK_EQ(sl4j_gguf_writer_add_tensor_f32(w, "half", SL4J_TYPE_F16, 2, dims, t, 6), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_add_tensor_f32(w, "half2", SL4J_TYPE_F16, 2, dims, t, 5),
             (int32_t)SL4J_ERR_INVALID_ARGUMENT);
    std::string path = tmp_path("capi_writer.gguf");
    CHECK_EQ(sl4j_gguf_writer_write(w, path.c_str()), (int32_t)SL4J_OK);

    sl4j_gguf* g = nullptr;
    CHECK_EQ(sl4j_gguf_open(path.c_str(), &g), (int32_t)SL4J_OK);
    if (g == nullptr) return;
    CHECK_EQ(sl4j_gguf_alignment(g), 64u);
    CHECK_EQ(sl4j_gguf_data_offset(g) % 64, (int64_t)0);
    CHECK_EQ(sl4j_gguf_tensor_offset(g, 1), (int64_t)64);
    int64_t iv = 0;
    double dv = 0;
    const char* sv = nullptr;
    CHECK_EQ(sl4j_gguf_kv_get_i64(g, sl4j_gguf_find_key(g, "i32"), &iv), (int32_t)SL4J_OK);
    CHECK_EQ(iv, (int64_t)-70000);
    CHECK_EQ(sl4j_gguf_kv_get_i64(g, sl4j_gguf_find_key(g, "i64"), &iv), (int32_t)SL4J_OK);
    CHECK_EQ(iv, -(1ll << 40));
    CHECK_EQ(sl4j_gguf_kv_get_f64(g, sl4j_gguf_find_key(g, "f32"), &dv), (int32_t)SL4J_OK);
    CHECK_EQ(dv, (double)0.1f);
    CHECK_EQ(sl4j_gguf_kv_get_str(g, sl4j_gguf_find_key(g, "s"), &sv), (int32_t)SL4J_OK);
    CHECK(std::string(sv) == "replaced");
    CHECK_EQ(sl4j_gguf_find_key(g, "s"), (int64_t)11);  // replaced in place, after the 11 scalars before it
    int32_t ia[3];
    CHECK_EQ(sl4j_gguf_kv_array_copy_i32(g, sl4j_gguf_find_key(g, "a.i16"), ia, 3), (int32_t)SL4J_OK);
    CHECK(ia[0] == -1 && ia[1] == 2 && ia[2] == -32768);
    CHECK_EQ(sl4j_gguf_kv_array_get_i64(g, sl4j_gguf_find_key(g, "a.bool"), 0, &iv), (int32_t)SL4J_OK);
    CHECK_EQ(iv, (int64_t)1);
    CHECK_EQ(sl4j_gguf_kv_array_get_str(g, sl4j_gguf_find_key(g, "a.str"), 2, &sv), (int32_t)SL4J_OK);
    CHECK(std::string(sv) == "\xc3\xa9");
    float back[6];
    CHECK_EQ(sl4j_gguf_tensor_read_f32(g, sl4j_gguf_find_tensor(g, "half"), back, 6), (int32_t)SL4J_OK);
    for (int k = 0; k < 6; ++k) CHECK_EQ(back[k], t[k]);  // small integers are exact in f16
    CHECK_EQ(sl4j_gguf_tensor_n_bytes(g, sl4j_gguf_find_tensor(g, "half")), (int64_t)12);

    // copy_kv of every key rebuilds the same metadata.
    sl4j_gguf_writer* w2 = nullptr;
    CHECK_EQ(sl4j_gguf_writer_init(&w2), (int32_t)SL4J_OK);
    for (int64_t i = 0; i < sl4j_gguf_n_kv(g); ++i) CHECK_EQ(sl4j_gguf_writer_copy_kv(w2, g, i), (int32_t)SL4J_OK);
    CHECK_EQ(sl4j_gguf_writer_copy_kv(w2, g, sl4j_gguf_n_kv(g)), (int32_t)SL4J_ERR_INVALID_ARGUMENT);
    std::string path2 = tmp_path("capi_writer2.gguf");
    CHECK_EQ(sl4j_gguf_writer_write(w2, path2.c_str()), (int32_t)SL4J_OK);
    auto a = GgufFile::open(path), b = GgufFile::open(path2);
    CHECK_EQ(a->kvs().size(), b->kvs().size());
    for (size_t i = 0; i < a->kvs().size() && i < b->kvs().size(); ++i)
        CHECK(a->kvs()[i].key == b->kvs()[i].key && same_value(a->kvs()[i].value, b->kvs()[i].value));
    sl4j_gguf_free(g);
    sl4j_gguf_writer_free(w2);

    // A failed write names the path and leaves no temporary behind.
    std::string bad = tmp_path("no_such_dir/x.gguf");
    CHECK_EQ(sl4j_gguf_writer_write(w, bad.c_str()), (int32_t)SL4J_ERR_IO);
    CHECK(contains(sl4j_last_error(), bad));
    std::string dir_target = tmp_path("a_directory");
    mkdir(dir_target.c_str(), 0755);
    CHECK_EQ(sl4j_gguf_writer_write(w, dir_target.c_str()), (int32_t)SL4J_ERR_IO);
    CHECK(contains(sl4j_last_error(), dir_target) && contains(sl4j_last_error(), "rename"));
    int leftovers = 0;
    if (DIR* d = opendir(tmp_dir().c_str())) {
        while (dirent* e = readdir(d)) leftovers += contains(e->d_name, ".tmp.");
        closedir(d);
    }
    CHECK_EQ(leftovers, 0);
    rmdir(dir_target.c_str());
    sl4j_gguf_writer_free(w);
    sl4j_gguf_writer_free(nullptr);
    unlink(path.c_str());
    unlink(path2.c_str());
}

// Names in tmp_dir() that start with `prefix`.
std::vector<std::string> entries_with(const std::string& prefix) {
    std::vector<std::string> out;
    if (DIR* d = opendir(tmp_dir().c_str())) {
        while (dirent* e = readdir(d))
            if (std::strncmp(e->d_name, prefix.c_str(), prefix.size()) == 0) out.push_back(e->d_name);
        closedir(d);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Rows of zeros that, when asked for, list the folder's entries of the file being written.
class ListingRows final : public TensorRows {
public:
    explicit ListingRows(std::string prefix) : prefix_(std::move(prefix)) {}
    void rows(int64_t r0, int64_t r1, float* dst) const override {
        std::fill(dst, dst + (r1 - r0) * 8, 0.f);
        std::lock_guard<std::mutex> lock(mu_);
        for (const std::string& e : entries_with(prefix_)) seen_.push_back(e);
        ++calls_;
    }
    std::string prefix_;
    mutable std::mutex mu_;
    mutable std::vector<std::string> seen_;
    mutable int calls_ = 0;
};

// While a model is written its temporary file has no name in the folder (a kill then leaves
// nothing behind); the next write of a path deletes PATH.tmp.XXXXXX files whose writer is gone
// (no flock held: a killed write of an older build, or of a file system without O_TMPFILE) and
// keeps one a live writer holds, and files of other names.
TEST(gguf_writer_leaves_nothing_named_while_writing_and_sweeps_dead_temporaries) {
    const std::string path = tmp_path("killable.gguf");
    auto rows = std::make_shared<ListingRows>("killable.gguf");
    GgufWriter w;
    w.set("general.architecture", GgufValue::of_str("llama"));
    w.add_tensor_rows("t", SL4J_TYPE_F32, {8, 64}, rows);
    w.write(path);
    CHECK(rows->calls_ > 0);
    CHECK(rows->seen_.empty());  // nothing named killable.gguf* existed during the write
    CHECK(entries_with("killable.gguf") == std::vector<std::string>{"killable.gguf"});

    auto touch = [](const std::string& p) {
        int fd = ::open(p.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        CHECK(fd >= 0);
        CHECK_EQ(::write(fd, "x", 1), (ssize_t)1);
        return fd;
    };
    ::close(touch(path + ".tmp.dead01"));       // a killed writer's: no lock
    const int live = touch(path + ".tmp.live01");  // a live writer's: locked (this open file description)
    CHECK_EQ(::flock(live, LOCK_EX | LOCK_NB), 0);
    ::close(touch(path + ".tmp.toolong1"));     // not the pattern
    ::close(touch(tmp_path("other.gguf.tmp.dead02")));
    w.write(path);
    CHECK(entries_with("killable.gguf") ==
          (std::vector<std::string>{"killable.gguf", "killable.gguf.tmp.live01", "killable.gguf.tmp.toolong1"}));
    CHECK(entries_with("other.gguf") == std::vector<std::string>{"other.gguf.tmp.dead02"});
    auto f = GgufFile::open(path);
    CHECK_EQ(f->tensors().size(), (size_t)1);
    ::close(live);
    for (const char* n : {".tmp.live01", ".tmp.toolong1", ""}) unlink((path + n).c_str());
    unlink(tmp_path("other.gguf.tmp.dead02").c_str());
}

// ---- real files --------------------------------------------------------------------------------

namespace {
std::string shared_file(const std::string& rel) {
    std::string dir = sl4j_test::shared_dir();
    if (dir.empty()) sl4j_test::missing_shared("../shared is absent (set SL4J_SHARED_DIR); real GGUF files not tested");
    std::string path = dir + "/" + rel;
    struct stat st;
    if (stat(path.c_str(), &st) != 0) sl4j_test::missing_shared(path + " is absent");
    return path;
}

// Peak RSS growth is the allocation bound checked by the sweeps; ASan's shadow memory and
// quarantine inflate it, so under ASan the bound is left to ASan itself.
#if defined(__SANITIZE_ADDRESS__)
constexpr long kRssBoundKb = 1L << 40;
#else
constexpr long kRssBoundKb = 256 * 1024;
#endif

long max_rss_kb() {
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

// Opens `path`: fine or sl4j::Error; anything else is a failure. Returns true if it opened.
bool open_or_error(const std::string& path, int* errors, int line) {
    try {
        GgufFile::open(path);
        return true;
    } catch (const sl4j::Error& e) {
        ++*errors;
        if (!contains(e.what(), path))
            sl4j_test::record_failure(__FILE__, line, std::string("message lacks the path: ") + e.what());
        return false;
    } catch (const std::exception& e) {
        sl4j_test::record_failure(__FILE__, line, std::string("non-sl4j exception: ") + e.what());
        return false;
    }
}
}  // namespace

TEST(gguf_stories260k_facts) {
    std::string path = shared_file("models/stories260K/stories260K.gguf");
    auto f = GgufFile::open(path);
    CHECK_EQ(f->version(), 3u);
    CHECK_EQ(f->tensors().size(), (size_t)48);
    for (const sl4j::GgufTensorInfo& t : f->tensors()) CHECK_EQ(t.type, (int32_t)SL4J_TYPE_F32);
    CHECK(f->get_str("tokenizer.ggml.model") == "llama");
    CHECK(f->get_str("general.architecture") == "llama");
    int64_t tok = f->find_key("tokenizer.ggml.tokens");
    CHECK(tok >= 0);
    if (tok >= 0) CHECK_EQ(f->kvs()[tok].value.arr_len(), (int64_t)512);
    CHECK_EQ(f->get_i64("llama.embedding_length"), (int64_t)64);
    CHECK_EQ(f->get_i64("llama.block_count"), (int64_t)5);
    CHECK_NEAR(f->get_f64("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-12);
    int64_t emb = f->find_tensor("token_embd.weight");
    CHECK(emb >= 0);
    if (emb >= 0) CHECK(f->tensors()[emb].dims == std::vector<int64_t>({64, 512}));
    // The last tensor ends exactly at the end of the file.
    uint64_t end = 0;
    for (const sl4j::GgufTensorInfo& t : f->tensors()) end = std::max(end, t.offset + t.n_bytes);
    CHECK_EQ(f->data_offset() + end, f->file_size());

    // Through the C API, and a byte-identical re-write of a file we did not write.
    sl4j_gguf* g = nullptr;
    CHECK_EQ(sl4j_gguf_open(path.c_str(), &g), (int32_t)SL4J_OK);
    std::vector<float> w(64 * 512);
    CHECK_EQ(sl4j_gguf_tensor_read_f32(g, emb, w.data(), (int64_t)w.size()), (int32_t)SL4J_OK);
    CHECK(std::memcmp(w.data(), f->tensor_data(emb), w.size() * 4) == 0);
    sl4j_gguf_free(g);
    GgufWriter copy;
    copy_file_into(copy, *f);
    std::string out = tmp_path("stories_copy.gguf");
    copy.write(out);
    CHECK(read_all(out) == read_all(path));
    unlink(out.c_str());
}

TEST(gguf_llama_spm_vocab_facts) {
    std::string path = shared_file("tokenizers/llama-spm/ggml-vocab-llama-spm.gguf");
    auto f = GgufFile::open(path);
    CHECK_EQ(f->tensors().size(), (size_t)0);
    CHECK(f->get_str("tokenizer.ggml.model") == "llama");
    int64_t tok = f->find_key("tokenizer.ggml.tokens"), sc = f->find_key("tokenizer.ggml.scores");
    CHECK(tok >= 0 && sc >= 0);
    if (tok < 0 || sc < 0) return;
    const GgufValue& toks = f->kvs()[tok].value;
    CHECK_EQ(toks.arr_len(), (int64_t)32000);
    CHECK_EQ(f->kvs()[sc].value.arr_len(), (int64_t)32000);
    CHECK(toks.arr_str[1] == "<s>" && toks.arr_str[2] == "</s>");
    CHECK(toks.arr_str[3] == "<0x00>");
}

TEST(gguf_stories260k_every_truncation) {
    std::string src = shared_file("models/stories260K/stories260K.gguf");
    std::vector<uint8_t> bytes = read_all(src);
    uint64_t header_end = GgufFile::open(src)->data_offset();
    std::string path = tmp_path("trunc.gguf");
    write_all(path, bytes);
    // Shrink one file step by step: a sample of long prefixes, then every header prefix.
    std::vector<uint64_t> lengths;
    for (uint64_t n = bytes.size() - 1; n > header_end; n = n > 7919 ? n - 7919 : 0) lengths.push_back(n);
    for (uint64_t n = header_end + 1; n-- > 0;) lengths.push_back(n);
    long rss0 = max_rss_kb();
    int errors = 0, opened = 0;
    for (uint64_t n : lengths) {
        if (truncate(path.c_str(), (off_t)n) != 0) {
            CHECK(false);
            break;
        }
        if (open_or_error(path, &errors, __LINE__)) ++opened;
    }
    // Every prefix cuts off tensor data, so none may open.
    CHECK_EQ(opened, 0);
    CHECK_EQ(errors, (int)lengths.size());
    CHECK(max_rss_kb() - rss0 < kRssBoundKb);
    std::printf("  truncations: %zu prefixes (header %llu bytes), %d rejected, peak RSS growth %ld KiB\n",
                lengths.size(), (unsigned long long)header_end, errors, max_rss_kb() - rss0);
    unlink(path.c_str());
}

TEST(gguf_stories260k_bit_flips) {
    std::string src = shared_file("models/stories260K/stories260K.gguf");
    std::vector<uint8_t> bytes = read_all(src);
    uint64_t header_end = GgufFile::open(src)->data_offset();
    std::string path = tmp_path("flip.gguf");
    write_all(path, bytes);
    int fd = open(path.c_str(), O_RDWR);
    CHECK(fd >= 0);
    if (fd < 0) return;
    long rss0 = max_rss_kb();
    int errors = 0, opened = 0;
    const int n_flips = 4000;
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (int k = 0; k < n_flips; ++k) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        // Half the flips land in the first 64 bytes and the tensor infos' neighbourhood of
        // counts and lengths is covered by the rest, uniformly over the header.
        uint64_t r = state >> 33;
        uint64_t at = (k % 2 == 0) ? r % 64 : r % header_end;
        uint8_t flipped = bytes[at] ^ (uint8_t)(1u << ((state >> 20) & 7));
        if (pwrite(fd, &flipped, 1, (off_t)at) != 1) CHECK(false);
        if (open_or_error(path, &errors, __LINE__)) ++opened;
        if (pwrite(fd, &bytes[at], 1, (off_t)at) != 1) CHECK(false);
    }
    close(fd);
    CHECK_EQ(opened + errors, n_flips);
    CHECK(errors > 0 && opened > 0);  // flips in token text open fine, flips in counts do not
    CHECK(max_rss_kb() - rss0 < kRssBoundKb);
    std::printf("  bit flips: %d, %d opened, %d rejected with sl4j::Error, peak RSS growth %ld KiB\n", n_flips,
                opened, errors, max_rss_kb() - rss0);
    unlink(path.c_str());
}

// A NaN or infinity anywhere in a model's tensors is found, named and located, whatever the type
// (in a q8_0 block it hides in the fp16 scale and spreads to the whole block when decoded).
TEST(find_nonfinite_names_the_tensor_and_element) {
    std::vector<float> f32 = {1.f, -2.f, 3.f, 0.f};
    std::vector<uint16_t> f16 = {0x3C00, 0x4000, 0xBC00, 0x7C00, 0x0000, 0x3800};  // 1, 2, -1, +inf, 0, 0.5
    std::vector<uint8_t> q8(2 * 34, 1);
    auto set_scale = [&](int block, uint16_t h) { std::memcpy(&q8[block * 34], &h, 2); };
    set_scale(0, 0x3C00);
    set_scale(1, 0x3C00);
    auto write = [&](const std::string& name, bool bad_f16, uint16_t q8_second_scale) {
        set_scale(1, q8_second_scale);
        std::vector<uint16_t> h = f16;
        if (!bad_f16) h[3] = 0x3C00;
        GgufWriter w;
        w.add_tensor("a.f32", SL4J_TYPE_F32, {4}, f32.data(), f32.size() * 4);
        w.add_tensor("b.f16", SL4J_TYPE_F16, {6}, h.data(), h.size() * 2);
        w.add_tensor("c.q8_0", SL4J_TYPE_Q8_0, {64}, q8.data(), q8.size());
        std::string path = tmp_path(name);
        w.write(path);
        return path;
    };
    int64_t element = -7;
    float value = 0.f;
    std::string good = write("finite.gguf", false, 0x3C00);
    CHECK_EQ(find_nonfinite(*GgufFile::open(good), &element, &value), (int64_t)-1);
    std::string inf = write("inf_f16.gguf", true, 0x3C00);
    CHECK_EQ(find_nonfinite(*GgufFile::open(inf), &element, &value), (int64_t)1);
    CHECK_EQ(element, (int64_t)3);
    CHECK(std::isinf(value) && value > 0);
    std::string nan = write("nan_q8.gguf", false, 0x7E00);
    CHECK_EQ(find_nonfinite(*GgufFile::open(nan), &element, &value), (int64_t)2);
    CHECK_EQ(element, (int64_t)32);
    CHECK(std::isnan(value));
    unlink(good.c_str());
    unlink(inf.c_str());
    unlink(nan.c_str());
}

// In CI (CI=true) a test that needs ../shared fails instead of skipping; elsewhere it skips.
TEST(missing_shared_fails_only_in_ci) {
    const char* old = std::getenv("CI");
    std::string saved = old ? old : "";
    setenv("CI", "true", 1);
    CHECK(sl4j_test::in_ci());
    setenv("CI", "false", 1);
    CHECK(!sl4j_test::in_ci());
    unsetenv("CI");
    CHECK(!sl4j_test::in_ci());
    if (old) setenv("CI", saved.c_str(), 1);
}
