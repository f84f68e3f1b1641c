// GGUF reading (validated, memory-mapped) and writing (atomic). The file
// layout is documented in include/stackllama4j.h.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace sl4j {

// One metadata value. Scalars live in `num` (integers, bools) or `real`;
// strings in `str`; arrays in `arr_*` with `arr_type` naming the element type.
struct GgufValue {
    int32_t type = 0;                 // enum sl4j_gguf_value_type
    uint64_t num = 0;                 // raw bits of any integer/bool scalar (sign-extended for signed)
    double real = 0;                  // FLOAT32/FLOAT64 scalar
    std::string str;                  // STRING scalar
    int32_t arr_type = 0;             // element type when type == ARRAY
    std::vector<uint64_t> arr_num;    // integer/bool elements
    std::vector<double> arr_real;     // float elements
    std::vector<std::string> arr_str; // string elements
    int64_t arr_len() const;

    // Builders: `type`/`elem_type` are enum sl4j_gguf_value_type. Signed integers are passed
    // as int64 and stored sign-extended, so of_int(SL4J_GGUF_INT8, -1) is the byte 0xff.
    static GgufValue of_int(int32_t type, int64_t v);
    static GgufValue of_uint(int32_t type, uint64_t v);
    static GgufValue of_float(int32_t type, double v);
    static GgufValue of_bool(bool v);
    static GgufValue of_str(std::string v);
    static GgufValue of_arr_num(int32_t elem_type, std::vector<uint64_t> v); // integers/bools
    static GgufValue of_arr_real(int32_t elem_type, std::vector<double> v);  // FLOAT32/FLOAT64
    static GgufValue of_arr_str(std::vector<std::string> v);
};

// Bytes of one scalar of `type` (0 for STRING, ARRAY and unknown ids).
size_t gguf_scalar_size(int32_t type);
bool gguf_is_integer(int32_t type);  // the 8 integer types (not BOOL)
bool gguf_is_signed(int32_t type);
const char* gguf_type_name(int32_t type);  // "uint32", "?" for unknown ids

// Conversions behind the typed getters, for a scalar or one array element of `type`
// (raw = GgufValue::num / arr_num[j], real = GgufValue::real / arr_real[j]). They return
// false when the type does not convert or the value does not fit; callers name the key.
// Integer targets accept the integer types and BOOL; the float target accepts floats and integers.
bool gguf_as_i64(int32_t type, uint64_t raw, int64_t* out);
bool gguf_as_u64(int32_t type, uint64_t raw, uint64_t* out);
bool gguf_as_f64(int32_t type, uint64_t raw, double real, double* out);

struct GgufKv {
    std::string key;
    GgufValue value;
};

struct GgufTensorInfo {
    std::string name;
    int32_t type = 0;
    std::vector<int64_t> dims;  // ggml order, 1..4 entries
    uint64_t offset = 0;        // relative to the data section
    uint64_t n_bytes = 0;
    int64_t n_elements() const;
};

class GgufFile {
public:
    // Opens, maps and validates; throws sl4j::Error naming the file, the offset
    // or key and what was expected.
    static std::unique_ptr<GgufFile> open(const std::string& path);
    ~GgufFile();

    const std::string& path() const { return path_; }
    uint32_t version() const { return version_; }
    uint32_t alignment() const { return alignment_; }
    uint64_t data_offset() const { return data_offset_; }
    uint64_t file_size() const { return file_size_; }
    const std::vector<GgufKv>& kvs() const { return kvs_; }
    const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
    int64_t find_key(const std::string& key) const;     // -1 if absent
    int64_t find_tensor(const std::string& name) const; // -1 if absent
    const uint8_t* tensor_data(int64_t i) const;
    // Drops the whole pages of [p, p + n) (inside the mapping) from this process's memory; they
    // stay in the page cache and are read back on the next access. Streaming readers call it on
    // what they have consumed so that their resident size does not grow with the file.
    void release(const void* p, uint64_t n) const;

    // Typed look-ups that throw SL4J_ERR_NOT_FOUND / SL4J_ERR_FORMAT with the key in the message.
    int64_t get_i64(const std::string& key) const;
    double get_f64(const std::string& key) const;
    std::string get_str(const std::string& key) const;
    int64_t get_i64_or(const std::string& key, int64_t fallback) const;
    double get_f64_or(const std::string& key, double fallback) const;

private:
    GgufFile() = default;
    std::string path_;
    uint32_t version_ = 0;
    uint32_t alignment_ = 32;
    uint64_t data_offset_ = 0;
    uint64_t file_size_ = 0;
    std::vector<GgufKv> kvs_;
    std::vector<GgufTensorInfo> tensors_;
    std::unordered_map<std::string, int64_t> key_index_, tensor_index_;
    void* map_ = nullptr;
    size_t map_size_ = 0;

    const GgufValue& value_of(const std::string& key) const; // throws NOT_FOUND
    void parse();                                               // reads from map_
};

// Where write() gets a tensor's data from when it is not held as bytes: rows of dims[0] elements
// produced as floats, which write() encodes to the tensor's type a chunk of rows at a time on the
// CPU pool. rows() is called from several threads at once on disjoint ranges.
class TensorRows {
public:
    virtual ~TensorRows() = default;
    virtual void rows(int64_t r0, int64_t r1, float* dst) const = 0;
    // Rows [r0, r1) are written: drop what was read for them (mapped pages). Writing thread only.
    virtual void release(int64_t r0, int64_t r1) const {}
};

class GgufWriter {
public:
    void set(const std::string& key, GgufValue value); // replaces in place if present
    // Bytes copied into the writer.
    void add_tensor(const std::string& name, int32_t type, const std::vector<int64_t>& dims,
                    const void* data, uint64_t n_bytes);
    // Bytes read during write() from a GGUF mapping (`from` must outlive it), released as written.
    void add_tensor_mapped(const std::string& name, int32_t type, const std::vector<int64_t>& dims,
                           const GgufFile* from, const void* data, uint64_t n_bytes);
    // Data produced and encoded as `type` during write().
    void add_tensor_rows(const std::string& name, int32_t type, const std::vector<int64_t>& dims,
                         std::shared_ptr<const TensorRows> rows);
    // Streams the file: header and tensor infos, then each tensor's data in turn, produced and
    // encoded a chunk of rows at a time (so memory stays at one chunk whatever the model size).
    // Temp file beside `path`, fsync, rename. Throws SL4J_ERR_IO naming the path; any failure
    // removes the temporary file.
    void write(const std::string& path) const;

    const std::vector<GgufKv>& kvs() const { return kvs_; }
    size_t n_tensors() const { return tensors_.size(); }
    // Alignment write() will use: general.alignment if set (a power-of-two u32), else 32.
    uint32_t alignment() const;
    // Progress of a running write(), safe from any thread: tensor bytes written and in all.
    int64_t bytes_done() const { return done_.load(std::memory_order_relaxed); }
    int64_t bytes_total() const { return total_.load(std::memory_order_relaxed); }

private:
    struct Tensor {
        GgufTensorInfo info;
        std::vector<uint8_t> bytes;              // owned bytes, or
        const GgufFile* from = nullptr;          // mapped bytes of `from` at `mapped`, or
        const uint8_t* mapped = nullptr;
        std::shared_ptr<const TensorRows> rows;  // rows produced during write()
    };
    Tensor& append(const std::string& name, int32_t type, const std::vector<int64_t>& dims);
    void write_data(int fd, const Tensor& t, const std::string& path, const std::string& tmp) const;
    std::vector<GgufKv> kvs_;
    std::vector<Tensor> tensors_;
    mutable std::atomic<int64_t> done_{0}, total_{0};
};

}  // namespace sl4j
