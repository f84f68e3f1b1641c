// GGUF reader: maps the file read-only and validates every field before it is
// used, so a truncated or corrupted file becomes an sl4j::Error naming the
// path, the byte offset and what was expected, never a crash or an absurd
// allocation (every count is checked against the bytes left before reserving).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/types.h"
#include "gguf/gguf.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the GGUF reader assumes a little-endian host");

namespace sl4j {

namespace {

constexpr uint64_t kMinKvBytes = 8 + 4 + 1;              // empty key, type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8; // empty name, 1 dim, type, offset
// Decoded metadata and tensor infos may take at most this much memory. Counts are already
// bounded by the file size, but decoding expands them (a u8 array element becomes 8 bytes, a
// string ~40): without a cap, a corrupted count in a multi-GB model could take tens of GB.
// Real files need a few tens of MB (a 256K-token vocabulary with merges).
constexpr uint64_t kDecodeBudget = 1ull << 30;

// Keys and names can be as long as the file; keep messages readable.
std::string quoted(const std::string& s) {
    if (s.size() <= 80) return "'" + s + "'";
    return "'" + s.substr(0, 77) + "...'";
}

// A bounds-checked read position over the mapping. `ctx` says what is being
// parsed (a key, a tensor) and `elem` the array element, for messages.
struct Cursor {
    const std::string& path;
    const uint8_t* base;
    uint64_t size;
    uint64_t pos = 0;
    std::string ctx;
    int64_t elem = -1;
    uint64_t budget = kDecodeBudget;

    Cursor(const std::string& p, const uint8_t* b, uint64_t n) : path(p), base(b), size(n) {}
    uint64_t left() const { return size - pos; }

    [[noreturn]] void fail(int32_t status, uint64_t at, const std::string& msg) const {
        std::string where = ctx;
        if (elem >= 0) where += format(" element %lld", (long long)elem);
        throw Error(status, format("%s: offset %llu: %s%s%s", path.c_str(), (unsigned long long)at,
                                   where.c_str(), where.empty() ? "" : ": ", msg.c_str()));
    }

    void need(uint64_t n, const char* what) const {
        if (n > left())
            fail(SL4J_ERR_FORMAT, pos,
                 format("file truncated reading %s: need %llu bytes, only %llu remain (file size %llu)",
                        what, (unsigned long long)n, (unsigned long long)left(), (unsigned long long)size));
    }

    template <typename T>
    T read(const char* what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, base + pos, sizeof v);
        pos += sizeof v;
        return v;
    }

    std::string str(const char* what) {
        uint64_t at = pos;
        uint64_t len = read<uint64_t>(what);
        if (len > left())
            fail(SL4J_ERR_FORMAT, at,
                 format("%s has length %llu but only %llu bytes remain in the file", what,
                        (unsigned long long)len, (unsigned long long)left()));
        charge(at, 1, len + 1);
        std::string s(reinterpret_cast<const char*>(base + pos), (size_t)len);
        pos += len;
        return s;
    }

    // Accounts for count decoded items of item_bytes each, before they are allocated.
    void charge(uint64_t at, uint64_t count, uint64_t item_bytes) {
        if (count > budget / item_bytes)
            fail(SL4J_ERR_UNSUPPORTED, at,
                 format("decoding %llu items would exceed the %llu MiB limit on in-memory metadata",
                        (unsigned long long)count, (unsigned long long)(kDecodeBudget >> 20)));
        budget -= count * item_bytes;
    }

    // A count of items each at least min_bytes long must fit in what is left:
    // this bounds every allocation by the file size.
    void check_count(uint64_t at, uint64_t count, uint64_t min_bytes, const char* what) const {
        if (count > left() / min_bytes)
            fail(SL4J_ERR_FORMAT, at,
                 format("%s is %llu, but %llu remaining bytes hold at most %llu", what,
                        (unsigned long long)count, (unsigned long long)left(),
                        (unsigned long long)(left() / min_bytes)));
    }
};

// One scalar of a numeric/bool type into raw bits (sign-extended) or a double.
void read_scalar(Cursor& c, int32_t type, uint64_t* raw, double* real) {
    switch (type) {
        case SL4J_GGUF_UINT8: *raw = c.read<uint8_t>("a uint8"); return;
        case SL4J_GGUF_INT8: *raw = (uint64_t)(int64_t)c.read<int8_t>("an int8"); return;
        case SL4J_GGUF_UINT16: *raw = c.read<uint16_t>("a uint16"); return;
        case SL4J_GGUF_INT16: *raw = (uint64_t)(int64_t)c.read<int16_t>("an int16"); return;
        case SL4J_GGUF_UINT32: *raw = c.read<uint32_t>("a uint32"); return;
        case SL4J_GGUF_INT32: *raw = (uint64_t)(int64_t)c.read<int32_t>("an int32"); return;
        case SL4J_GGUF_UINT64: *raw = c.read<uint64_t>("a uint64"); return;
        case SL4J_GGUF_INT64: *raw = (uint64_t)c.read<int64_t>("an int64"); return;
        case SL4J_GGUF_FLOAT32: *real = c.read<float>("a float32"); return;
        case SL4J_GGUF_FLOAT64: *real = c.read<double>("a float64"); return;
        case SL4J_GGUF_BOOL: {
            uint64_t at = c.pos;
            uint8_t b = c.read<uint8_t>("a bool");
            if (b > 1) c.fail(SL4J_ERR_FORMAT, at, format("bool byte is %u, expected 0 or 1", b));
            *raw = b;
            return;
        }
        default: c.fail(SL4J_ERR_INTERNAL, c.pos, format("read_scalar of type %d", type));
    }
}

void read_value(Cursor& c, uint64_t type_at, uint32_t type, GgufValue* out) {
    if (type > SL4J_GGUF_FLOAT64)
        c.fail(SL4J_ERR_FORMAT, type_at, format("unknown value type %u, expected 0..12", type));
    out->type = (int32_t)type;
    if (type == SL4J_GGUF_STRING) {
        out->str = c.str("a string value");
        return;
    }
    if (type != SL4J_GGUF_ARRAY) {
        read_scalar(c, out->type, &out->num, &out->real);
        return;
    }
    uint64_t elem_at = c.pos;
    uint32_t et = c.read<uint32_t>("the array element type");
    if (et == SL4J_GGUF_ARRAY)
        c.fail(SL4J_ERR_UNSUPPORTED, elem_at, "arrays of arrays are not supported");
    if (et > SL4J_GGUF_FLOAT64)
        c.fail(SL4J_ERR_FORMAT, elem_at, format("unknown array element type %u, expected 0..12", et));
    out->arr_type = (int32_t)et;
    uint64_t count_at = c.pos;
    uint64_t n = c.read<uint64_t>("the array length");
    uint64_t min_bytes = et == SL4J_GGUF_STRING ? 8 : gguf_scalar_size((int32_t)et);
    c.check_count(count_at, n, min_bytes, "array length");
    c.charge(count_at, n, et == SL4J_GGUF_STRING ? sizeof(std::string) : sizeof(uint64_t));
    if (et == SL4J_GGUF_STRING) {
        out->arr_str.resize(n);
        for (uint64_t j = 0; j < n; ++j) {
            c.elem = (int64_t)j;
            out->arr_str[j] = c.str("a string element");
        }
    } else if (et == SL4J_GGUF_FLOAT32 || et == SL4J_GGUF_FLOAT64) {
        out->arr_real.resize(n);
        uint64_t unused = 0;
        for (uint64_t j = 0; j < n; ++j) {
            c.elem = (int64_t)j;
            read_scalar(c, out->arr_type, &unused, &out->arr_real[j]);
        }
    } else {
        out->arr_num.resize(n);
        double unused = 0;
        for (uint64_t j = 0; j < n; ++j) {
            c.elem = (int64_t)j;
            read_scalar(c, out->arr_type, &out->arr_num[j], &unused);
        }
    }
    c.elem = -1;
}

}  // namespace

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path) {
    std::unique_ptr<GgufFile> f(new GgufFile());
    f->path_ = path;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) SL4J_FAIL(SL4J_ERR_IO, "%s: cannot open: %s", path.c_str(), std::strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int err = errno;
        ::close(fd);
        SL4J_FAIL(SL4J_ERR_IO, "%s: not a regular file%s%s", path.c_str(), err ? ": " : "",
                  err ? std::strerror(err) : "");
    }
    f->file_size_ = (uint64_t)st.st_size;
    if (f->file_size_ == 0) {
        ::close(fd);
        SL4J_FAIL(SL4J_ERR_FORMAT, "%s: offset 0: file is empty, expected a GGUF header (24 bytes)",
                  path.c_str());
    }
    void* map = mmap(nullptr, (size_t)f->file_size_, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    ::close(fd);  // the mapping keeps the file alive
    if (map == MAP_FAILED)
        SL4J_FAIL(SL4J_ERR_IO, "%s: cannot map %llu bytes: %s", path.c_str(),
                  (unsigned long long)f->file_size_, std::strerror(err));
    f->map_ = map;
    f->map_size_ = (size_t)f->file_size_;
    f->parse();
    return f;
}

GgufFile::~GgufFile() {
    if (map_ != nullptr) munmap(map_, map_size_);
}

void GgufFile::parse() {
    Cursor c{path_, static_cast<const uint8_t*>(map_), file_size_};

    c.need(4, "the magic");
    if (std::memcmp(c.base, "GGUF", 4) != 0)
        c.fail(SL4J_ERR_FORMAT, 0,
               format("bad magic %02x %02x %02x %02x, expected \"GGUF\" (47 47 55 46): not a GGUF file",
                      c.base[0], c.base[1], c.base[2], c.base[3]));
    c.pos = 4;
    version_ = c.read<uint32_t>("the version");
    if (version_ == 1)
        c.fail(SL4J_ERR_UNSUPPORTED, 4,
               "GGUF version 1 (32-bit counts) is not supported, expected version 2 or 3; "
               "re-convert the model with a current llama.cpp");
    if (version_ != 2 && version_ != 3) {
        uint32_t swapped = __builtin_bswap32(version_);
        if (swapped >= 1 && swapped <= 3)
            c.fail(SL4J_ERR_UNSUPPORTED, 4,
                   format("big-endian GGUF (version %u byte-swapped) is not supported, expected a "
                          "little-endian version 2 or 3", swapped));
        c.fail(version_ == 0 ? SL4J_ERR_FORMAT : SL4J_ERR_UNSUPPORTED, 4,
               format("GGUF version %u is not supported, expected 2 or 3", version_));
    }
    uint64_t n_tensors_at = c.pos;
    uint64_t n_tensors = c.read<uint64_t>("the tensor count");
    uint64_t n_kv_at = c.pos;
    uint64_t n_kv = c.read<uint64_t>("the metadata count");
    c.check_count(n_kv_at, n_kv, kMinKvBytes, "metadata count");

    // Reserve modestly: a lying count must not allocate before entries are actually parsed.
    kvs_.reserve(std::min<uint64_t>(n_kv, 1024));
    for (uint64_t i = 0; i < n_kv; ++i) {
        c.charge(c.pos, 1, sizeof(GgufKv) + 64);  // the entry and its index slot
        c.ctx = format("metadata entry %llu", (unsigned long long)i);
        uint64_t key_at = c.pos;
        GgufKv kv;
        kv.key = c.str("the key");
        c.ctx = "key " + quoted(kv.key);
        if (key_index_.count(kv.key))
            c.fail(SL4J_ERR_FORMAT, key_at, "duplicate key, expected each key once");
        uint64_t type_at = c.pos;
        uint32_t type = c.read<uint32_t>("the value type");
        read_value(c, type_at, type, &kv.value);
        key_index_.emplace(kv.key, (int64_t)kvs_.size());
        kvs_.push_back(std::move(kv));
    }
    c.ctx.clear();

    auto al = key_index_.find("general.alignment");
    if (al != key_index_.end()) {
        const GgufValue& v = kvs_[al->second].value;
        if (v.type != SL4J_GGUF_UINT32)
            SL4J_FAIL(SL4J_ERR_FORMAT, "%s: key 'general.alignment' is %s, expected uint32", path_.c_str(),
                      gguf_type_name(v.type));
        if (v.num == 0 || (v.num & (v.num - 1)) != 0)
            SL4J_FAIL(SL4J_ERR_FORMAT, "%s: key 'general.alignment' is %llu, expected a non-zero power of two",
                      path_.c_str(), (unsigned long long)v.num);
        alignment_ = (uint32_t)v.num;
    }

    c.check_count(n_tensors_at, n_tensors, kMinTensorInfoBytes, "tensor count");
    tensors_.reserve(std::min<uint64_t>(n_tensors, 1024));
    std::vector<uint64_t> offset_at;
    for (uint64_t i = 0; i < n_tensors; ++i) {
        c.charge(c.pos, 1, sizeof(GgufTensorInfo) + 4 * sizeof(int64_t) + 64 + 2 * sizeof(uint64_t));
        c.ctx = format("tensor info %llu", (unsigned long long)i);
        uint64_t name_at = c.pos;
        GgufTensorInfo t;
        t.name = c.str("the tensor name");
        c.ctx = "tensor " + quoted(t.name);
        if (tensor_index_.count(t.name))
            c.fail(SL4J_ERR_FORMAT, name_at, "duplicate tensor name, expected each name once");
        uint64_t dims_at = c.pos;
        uint32_t n_dims = c.read<uint32_t>("n_dims");
        if (n_dims == 0 || n_dims > 4)
            c.fail(SL4J_ERR_FORMAT, dims_at, format("n_dims is %u, expected 1 to 4", n_dims));
        int64_t n_elements = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            uint64_t at = c.pos;
            uint64_t dim = c.read<uint64_t>("a dimension");
            if (dim == 0 || dim > (uint64_t)INT64_MAX)
                c.fail(SL4J_ERR_FORMAT, at,
                       format("dims[%u] is %llu, expected 1 to 2^63-1", d, (unsigned long long)dim));
            if (__builtin_mul_overflow(n_elements, (int64_t)dim, &n_elements))
                c.fail(SL4J_ERR_FORMAT, at, "the element count overflows 64 bits");
            t.dims.push_back((int64_t)dim);
        }
        uint64_t type_at = c.pos;
        uint32_t type = c.read<uint32_t>("the tensor type");
        const TypeTraits* tt = type <= (uint32_t)INT32_MAX ? type_traits((int32_t)type) : nullptr;
        if (tt == nullptr)
            c.fail(SL4J_ERR_FORMAT, type_at, format("unknown tensor type id %u, expected a ggml type id", type));
        t.type = (int32_t)type;
        if (t.dims[0] % tt->block_size != 0)
            c.fail(SL4J_ERR_FORMAT, dims_at,
                   format("row of %lld elements is not a multiple of the %s block size %lld",
                          (long long)t.dims[0], tt->name, (long long)tt->block_size));
        int64_t row_bytes = t.dims[0] / tt->block_size * tt->type_size;
        int64_t n_bytes;
        if (__builtin_mul_overflow(row_bytes, n_elements / t.dims[0], &n_bytes))
            c.fail(SL4J_ERR_FORMAT, dims_at, "the byte size overflows 64 bits");
        t.n_bytes = (uint64_t)n_bytes;
        offset_at.push_back(c.pos);
        t.offset = c.read<uint64_t>("the tensor data offset");
        if (t.offset % alignment_ != 0)
            c.fail(SL4J_ERR_FORMAT, offset_at[i],
                   format("data offset %llu is not a multiple of the alignment %u",
                          (unsigned long long)t.offset, alignment_));
        tensor_index_.emplace(t.name, (int64_t)tensors_.size());
        tensors_.push_back(std::move(t));
    }
    c.ctx.clear();

    data_offset_ = (c.pos + alignment_ - 1) / alignment_ * alignment_;
    if (n_tensors > 0 && data_offset_ > file_size_)
        c.fail(SL4J_ERR_FORMAT, c.pos,
               format("the tensor data section starts at %llu (header end rounded up to alignment %u), "
                      "past the end of the file (%llu bytes)", (unsigned long long)data_offset_,
                      alignment_, (unsigned long long)file_size_));
    uint64_t data_size = n_tensors > 0 ? file_size_ - data_offset_ : 0;
    for (uint64_t i = 0; i < n_tensors; ++i) {
        const GgufTensorInfo& t = tensors_[i];
        if (t.offset > data_size || t.n_bytes > data_size - t.offset)
            SL4J_FAIL(SL4J_ERR_FORMAT,
                      "%s: offset %llu: tensor %s: %llu bytes of data at data offset %llu (file offset %llu) run "
                      "past the end of the file (%llu bytes, data section %llu bytes)", path_.c_str(),
                      (unsigned long long)offset_at[i], quoted(t.name).c_str(), (unsigned long long)t.n_bytes,
                      (unsigned long long)t.offset, (unsigned long long)(data_offset_ + t.offset),
                      (unsigned long long)file_size_, (unsigned long long)data_size);
    }
    std::vector<uint64_t> order(n_tensors);
    for (uint64_t i = 0; i < n_tensors; ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](uint64_t a, uint64_t b) { return tensors_[a].offset < tensors_[b].offset; });
    for (uint64_t k = 1; k < n_tensors; ++k) {
        const GgufTensorInfo& a = tensors_[order[k - 1]];
        const GgufTensorInfo& b = tensors_[order[k]];
        if (a.offset + a.n_bytes > b.offset)
            SL4J_FAIL(SL4J_ERR_FORMAT,
                      "%s: offset %llu: tensors %s [%llu, %llu) and %s [%llu, %llu) overlap in the data "
                      "section, expected disjoint ranges", path_.c_str(),
                      (unsigned long long)offset_at[order[k]], quoted(a.name).c_str(),
                      (unsigned long long)a.offset, (unsigned long long)(a.offset + a.n_bytes),
                      quoted(b.name).c_str(), (unsigned long long)b.offset,
                      (unsigned long long)(b.offset + b.n_bytes));
    }
}

int64_t GgufFile::find_key(const std::string& key) const {
    auto it = key_index_.find(key);
    return it == key_index_.end() ? -1 : it->second;
}

int64_t GgufFile::find_tensor(const std::string& name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? -1 : it->second;
}

const uint8_t* GgufFile::tensor_data(int64_t i) const {
    SL4J_CHECK_ARG(i >= 0 && i < (int64_t)tensors_.size(), "%s: tensor index %lld out of range [0, %zu)",
                   path_.c_str(), (long long)i, tensors_.size());
    return static_cast<const uint8_t*>(map_) + data_offset_ + tensors_[i].offset;
}

void GgufFile::release(const void* p, uint64_t n) const {
    const uintptr_t lo = (uintptr_t)map_, hi = lo + map_size_;
    uintptr_t a = (uintptr_t)p, b = a + n;
    if (map_ == nullptr || a < lo || b > hi || n == 0) return;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    a = (a + page - 1) / page * page;  // only whole pages inside the range
    b = b / page * page;
    if (b > a) madvise((void*)a, b - a, MADV_DONTNEED);  // a hint: failure changes nothing
}

const GgufValue& GgufFile::value_of(const std::string& key) const {
    int64_t i = find_key(key);
    if (i < 0) SL4J_FAIL(SL4J_ERR_NOT_FOUND, "%s: key '%s' not found", path_.c_str(), key.c_str());
    return kvs_[i].value;
}

int64_t GgufFile::get_i64(const std::string& key) const {
    const GgufValue& v = value_of(key);
    int64_t out;
    if (!gguf_as_i64(v.type, v.num, &out))
        SL4J_FAIL(SL4J_ERR_FORMAT, "%s: key '%s' is %s%s, expected an integer that fits int64", path_.c_str(),
                  key.c_str(), gguf_type_name(v.type), v.type == SL4J_GGUF_UINT64 ? " above 2^63-1" : "");
    return out;
}

double GgufFile::get_f64(const std::string& key) const {
    const GgufValue& v = value_of(key);
    double out;
    if (!gguf_as_f64(v.type, v.num, v.real, &out))
        SL4J_FAIL(SL4J_ERR_FORMAT, "%s: key '%s' is %s, expected a number", path_.c_str(), key.c_str(),
                  gguf_type_name(v.type));
    return out;
}

std::string GgufFile::get_str(const std::string& key) const {
    const GgufValue& v = value_of(key);
    if (v.type != SL4J_GGUF_STRING)
        SL4J_FAIL(SL4J_ERR_FORMAT, "%s: key '%s' is %s, expected a string", path_.c_str(), key.c_str(),
                  gguf_type_name(v.type));
    return v.str;
}

int64_t GgufFile::get_i64_or(const std::string& key, int64_t fallback) const {
    return find_key(key) < 0 ? fallback : get_i64(key);
}

double GgufFile::get_f64_or(const std::string& key, double fallback) const {
    return find_key(key) < 0 ? fallback : get_f64(key);
}

}  // namespace sl4j
