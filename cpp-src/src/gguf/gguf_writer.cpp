// GGUF writer: version 3, metadata in insertion order, each tensor's data at
// the next multiple of the alignment with zero padding. Tensor data is streamed:
// bytes held by the writer, bytes of a mapped source file, or rows produced and
// encoded while the file is written. The file appears
// atomically: it is written to a temporary file beside the target, fsynced and
// renamed, so a crash never leaves a half-written model under the real name.
// The temporary file has no name while it is written (O_TMPFILE: a killed write
// leaves nothing on disk); it is named PATH.tmp.XXXXXX only for the link and the
// rename at the end. Where the file system has no O_TMPFILE it is a named
// PATH.tmp.XXXXXX from the start, flock'ed by its writer; every write first
// deletes PATH.tmp.XXXXXX files that no live writer holds (a killed write's).
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/hash.h"
#include "core/types.h"
#include "cpu/threadpool.h"
#include "gguf/gguf.h"
#include "quant/quant.h"

namespace sl4j {

namespace {

constexpr uint32_t kDefaultAlignment = 32;

bool fits(int32_t type, uint64_t raw) {
    int64_t s = (int64_t)raw;
    switch (type) {
        case SL4J_GGUF_UINT8: return raw <= UINT8_MAX;
        case SL4J_GGUF_INT8: return s >= INT8_MIN && s <= INT8_MAX;
        case SL4J_GGUF_UINT16: return raw <= UINT16_MAX;
        case SL4J_GGUF_INT16: return s >= INT16_MIN && s <= INT16_MAX;
        case SL4J_GGUF_UINT32: return raw <= UINT32_MAX;
        case SL4J_GGUF_INT32: return s >= INT32_MIN && s <= INT32_MAX;
        case SL4J_GGUF_BOOL: return raw <= 1;
        default: return true;  // 64-bit types
    }
}

void check_value(const std::string& key, const GgufValue& v) {
    SL4J_CHECK_ARG(v.type >= 0 && v.type <= SL4J_GGUF_FLOAT64, "gguf writer: key '%s': unknown value type %d",
                   key.c_str(), v.type);
    if (v.type == SL4J_GGUF_ARRAY) {
        SL4J_CHECK_ARG(v.arr_type >= 0 && v.arr_type <= SL4J_GGUF_FLOAT64 && v.arr_type != SL4J_GGUF_ARRAY,
                       "gguf writer: key '%s': array element type %d is not a scalar or string type",
                       key.c_str(), v.arr_type);
        for (size_t j = 0; j < v.arr_num.size(); ++j)
            if (!fits(v.arr_type, v.arr_num[j]))
                SL4J_FAIL(SL4J_ERR_INVALID_ARGUMENT, "gguf writer: key '%s' element %zu does not fit %s",
                          key.c_str(), j, gguf_type_name(v.arr_type));
    } else if (!fits(v.type, v.num)) {
        SL4J_FAIL(SL4J_ERR_INVALID_ARGUMENT, "gguf writer: key '%s': value does not fit %s", key.c_str(),
                  gguf_type_name(v.type));
    }
}

struct Buf {
    std::vector<uint8_t> b;
    template <typename T>
    void put(T v) {
        size_t at = b.size();
        b.resize(at + sizeof v);
        std::memcpy(b.data() + at, &v, sizeof v);
    }
    void str(const std::string& s) {
        put<uint64_t>(s.size());
        b.insert(b.end(), s.begin(), s.end());
    }
    // Scalars are stored as raw bits (integers) or a double; write the low bytes.
    void scalar(int32_t type, uint64_t raw, double real) {
        switch (type) {
            case SL4J_GGUF_FLOAT32: put<float>((float)real); break;
            case SL4J_GGUF_FLOAT64: put<double>(real); break;
            default: {
                size_t n = gguf_scalar_size(type), at = b.size();
                b.resize(at + n);
                std::memcpy(b.data() + at, &raw, n);  // little-endian host: low bytes first
            }
        }
    }
    void value(const GgufValue& v) {
        put<uint32_t>((uint32_t)v.type);
        if (v.type == SL4J_GGUF_STRING) return str(v.str);
        if (v.type != SL4J_GGUF_ARRAY) return scalar(v.type, v.num, v.real);
        put<uint32_t>((uint32_t)v.arr_type);
        put<uint64_t>((uint64_t)v.arr_len());
        if (v.arr_type == SL4J_GGUF_STRING)
            for (const std::string& s : v.arr_str) str(s);
        else if (v.arr_type == SL4J_GGUF_FLOAT32 || v.arr_type == SL4J_GGUF_FLOAT64)
            for (double x : v.arr_real) scalar(v.arr_type, 0, x);
        else
            for (uint64_t x : v.arr_num) scalar(v.arr_type, x, 0);
    }
};

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

void write_all(int fd, const void* data, size_t n, const std::string& path, const std::string& tmp) {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    while (n > 0) {
        ssize_t k = ::write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) SL4J_FAIL(SL4J_ERR_IO, "%s: write to temporary %s failed: %s", path.c_str(), tmp.c_str(),
                                std::strerror(errno));
        p += k;
        n -= (size_t)k;
    }
}

// The folder of `path` ("." for a bare name) and its last component.
void split_path(const std::string& path, std::string* dir, std::string* base) {
    const size_t slash = path.rfind('/');
    *dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    *base = slash == std::string::npos ? path : path.substr(slash + 1);
}

// name is base + ".tmp." + 6 letters or digits (mkstemp's and temp_name's pattern).
bool is_temp_of(const std::string& name, const std::string& base) {
    const std::string prefix = base + ".tmp.";
    if (name.size() != prefix.size() + 6 || name.compare(0, prefix.size(), prefix) != 0) return false;
    for (size_t i = prefix.size(); i < name.size(); ++i)
        if (!std::isalnum((unsigned char)name[i])) return false;
    return true;
}

// Deletes the PATH.tmp.XXXXXX files beside `path` whose writer is gone: a live writer holds an
// exclusive flock on its temporary file (so the lock is free only once that process has ended).
void remove_stale_temporaries(const std::string& path) {
    std::string dir, base;
    split_path(path, &dir, &base);
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return;  // the write itself reports a missing or unreadable folder
    const int dfd = ::dirfd(d);
    while (const dirent* e = ::readdir(d)) {
        if (!is_temp_of(e->d_name, base)) continue;
        const int fd = ::openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) continue;
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0) ::unlinkat(dfd, e->d_name, 0);
        ::close(fd);
    }
    ::closedir(d);
}

// PATH.tmp.XXXXXX with six letters and digits drawn from the pid, the clock and `attempt`.
std::string temp_name(const std::string& path, uint64_t attempt) {
    static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = mix64((uint64_t(getpid()) << 32) ^ uint64_t(ts.tv_nsec) ^ (uint64_t(ts.tv_sec) << 20) ^ attempt);
    std::string name = path + ".tmp.";
    for (int i = 0; i < 6; ++i, x /= 62) name += kChars[x % 62];
    return name;
}

// The temporary file being written: unnamed (O_TMPFILE) or named `name`.
struct TempFile {
    int fd = -1;
    bool named = false;
    std::string name;  // the named file, or "an unnamed file in DIR" for messages
};

TempFile open_temp(const std::string& path) {
    std::string dir, base;
    split_path(path, &dir, &base);
    TempFile t;
    t.fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    if (t.fd >= 0) {
        t.name = "an unnamed temporary file in " + dir;
    } else {
        t.name = path + ".tmp.XXXXXX";
        t.fd = mkstemp(&t.name[0]);
        if (t.fd < 0) SL4J_FAIL(SL4J_ERR_IO, "%s: cannot create a temporary file beside it: %s", path.c_str(),
                                std::strerror(errno));
        t.named = true;
    }
    ::flock(t.fd, LOCK_EX);  // held until the file is renamed or the process ends
    fchmod(t.fd, 0644);      // mkstemp makes 0600, O_TMPFILE applies the umask; a model file is world-readable
    return t;
}

// Gives an unnamed temporary file its PATH.tmp.XXXXXX name (so that rename can replace PATH).
void name_temp(TempFile* t, const std::string& path) {
    const std::string proc = "/proc/self/fd/" + std::to_string(t->fd);
    for (uint64_t attempt = 0; attempt < 100; ++attempt) {
        const std::string name = temp_name(path, attempt);
        if (::linkat(t->fd, "", AT_FDCWD, name.c_str(), AT_EMPTY_PATH) == 0 ||
            ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) {
            t->named = true;
            t->name = name;
            return;
        }
        if (errno != EEXIST)
            SL4J_FAIL(SL4J_ERR_IO, "%s: cannot name the written temporary file %s: %s", path.c_str(), name.c_str(),
                      std::strerror(errno));
    }
    SL4J_FAIL(SL4J_ERR_IO, "%s: cannot name the written temporary file: 100 names taken", path.c_str());
}

}  // namespace

uint32_t GgufWriter::alignment() const {
    for (const GgufKv& kv : kvs_) {
        if (kv.key != "general.alignment") continue;
        const GgufValue& v = kv.value;
        SL4J_CHECK_ARG(v.type == SL4J_GGUF_UINT32 && v.num != 0 && (v.num & (v.num - 1)) == 0,
                       "gguf writer: general.alignment must be a non-zero power-of-two uint32");
        return (uint32_t)v.num;
    }
    return kDefaultAlignment;
}

void GgufWriter::set(const std::string& key, GgufValue value) {
    check_value(key, value);
    if (key == "general.alignment") {
        SL4J_CHECK_ARG(value.type == SL4J_GGUF_UINT32 && value.num != 0 && (value.num & (value.num - 1)) == 0,
                       "gguf writer: general.alignment must be a non-zero power-of-two uint32");
    }
    for (GgufKv& kv : kvs_)
        if (kv.key == key) {
            kv.value = std::move(value);
            return;
        }
    kvs_.push_back({key, std::move(value)});
}

GgufWriter::Tensor& GgufWriter::append(const std::string& name, int32_t type, const std::vector<int64_t>& dims) {
    for (const Tensor& t : tensors_)
        SL4J_CHECK_ARG(t.info.name != name, "gguf writer: tensor '%s' added twice", name.c_str());
    const TypeTraits* tt = type_traits(type);
    SL4J_CHECK_ARG(tt != nullptr, "gguf writer: tensor '%s': unknown type id %d", name.c_str(), type);
    SL4J_CHECK_ARG(!dims.empty() && dims.size() <= 4, "gguf writer: tensor '%s': %zu dims, expected 1 to 4",
                   name.c_str(), dims.size());
    int64_t n = 1;
    for (int64_t d : dims) {
        SL4J_CHECK_ARG(d > 0, "gguf writer: tensor '%s': dimension %lld, expected > 0", name.c_str(), (long long)d);
        SL4J_CHECK_ARG(!__builtin_mul_overflow(n, d, &n), "gguf writer: tensor '%s': element count overflows",
                       name.c_str());
    }
    SL4J_CHECK_ARG(dims[0] % tt->block_size == 0,
                   "gguf writer: tensor '%s': row of %lld elements is not a multiple of the %s block size %lld",
                   name.c_str(), (long long)dims[0], tt->name, (long long)tt->block_size);
    int64_t bytes;
    SL4J_CHECK_ARG(!__builtin_mul_overflow(dims[0] / tt->block_size * tt->type_size, n / dims[0], &bytes),
                   "gguf writer: tensor '%s': byte size overflows", name.c_str());
    Tensor t;
    t.info.name = name;
    t.info.type = type;
    t.info.dims = dims;
    t.info.n_bytes = (uint64_t)bytes;
    tensors_.push_back(std::move(t));
    return tensors_.back();
}

void GgufWriter::add_tensor(const std::string& name, int32_t type, const std::vector<int64_t>& dims,
                            const void* data, uint64_t n_bytes) {
    SL4J_CHECK_ARG(data != nullptr, "gguf writer: tensor '%s': data is NULL", name.c_str());
    Tensor& t = append(name, type, dims);
    if (n_bytes != t.info.n_bytes) {
        const uint64_t expect = t.info.n_bytes;
        tensors_.pop_back();
        SL4J_FAIL(SL4J_ERR_INVALID_ARGUMENT, "gguf writer: tensor '%s': %llu bytes given, %s shape needs %llu",
                  name.c_str(), (unsigned long long)n_bytes, type_traits(type)->name, (unsigned long long)expect);
    }
    const uint8_t* p = static_cast<const uint8_t*>(data);
    t.bytes.assign(p, p + n_bytes);
}

void GgufWriter::add_tensor_mapped(const std::string& name, int32_t type, const std::vector<int64_t>& dims,
                                   const GgufFile* from, const void* data, uint64_t n_bytes) {
    SL4J_CHECK_ARG(from != nullptr && data != nullptr, "gguf writer: tensor '%s': source is NULL", name.c_str());
    Tensor& t = append(name, type, dims);
    if (n_bytes != t.info.n_bytes) {
        tensors_.pop_back();
        SL4J_FAIL(SL4J_ERR_INVALID_ARGUMENT, "gguf writer: tensor '%s': %llu source bytes for a %s tensor of %llu",
                  name.c_str(), (unsigned long long)n_bytes, type_traits(type)->name,
                  (unsigned long long)t.info.n_bytes);
    }
    t.from = from;
    t.mapped = static_cast<const uint8_t*>(data);
}

void GgufWriter::add_tensor_rows(const std::string& name, int32_t type, const std::vector<int64_t>& dims,
                                 std::shared_ptr<const TensorRows> rows) {
    SL4J_CHECK_ARG(rows != nullptr, "gguf writer: tensor '%s': no row source", name.c_str());
    if (!can_quantize(type))
        SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "gguf writer: tensor '%s': cannot encode type %s", name.c_str(),
                  type_traits(type) ? type_traits(type)->name : "unknown");
    append(name, type, dims).rows = std::move(rows);
}

namespace {
// Floats produced per chunk of rows (and at most as many encoded bytes): 32 MB.
constexpr int64_t kChunkFloats = 8 << 20;
// Mapped bytes copied per write() call before their pages are released.
constexpr uint64_t kCopyBytes = 64 << 20;
}  // namespace

void GgufWriter::write_data(int fd, const Tensor& t, const std::string& path, const std::string& tmp) const {
    if (t.rows == nullptr) {
        const uint8_t* p = t.mapped != nullptr ? t.mapped : t.bytes.data();
        for (uint64_t at = 0; at < t.info.n_bytes; at += kCopyBytes) {
            const uint64_t k = std::min<uint64_t>(kCopyBytes, t.info.n_bytes - at);
            write_all(fd, p + at, (size_t)k, path, tmp);
            if (t.from != nullptr) t.from->release(p + at, k);
            done_.fetch_add((int64_t)k, std::memory_order_relaxed);
        }
        return;
    }
    const int64_t row = t.info.dims[0], n_rows = t.info.n_elements() / row;
    const int64_t row_bytes = type_row_bytes(t.info.type, row);
    const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(n_rows, kChunkFloats / row));
    std::vector<float> f((size_t)(chunk * row));
    std::vector<uint8_t> q((size_t)(chunk * row_bytes));
    for (int64_t r0 = 0; r0 < n_rows; r0 += chunk) {
        const int64_t nr = std::min(chunk, n_rows - r0);
        cpu::parallel_for(nr, 1, [&](int64_t b, int64_t e) {
            t.rows->rows(r0 + b, r0 + e, f.data() + b * row);
            quantize_row(t.info.type, f.data() + b * row, q.data() + b * row_bytes, (e - b) * row);
        });
        write_all(fd, q.data(), (size_t)(nr * row_bytes), path, tmp);
        t.rows->release(r0, r0 + nr);
        done_.fetch_add(nr * row_bytes, std::memory_order_relaxed);
    }
}

void GgufWriter::write(const std::string& path) const {
    const uint64_t align = alignment();
    Buf h;
    h.b.insert(h.b.end(), {'G', 'G', 'U', 'F'});
    h.put<uint32_t>(3);
    h.put<uint64_t>(tensors_.size());
    h.put<uint64_t>(kvs_.size());
    for (const GgufKv& kv : kvs_) {
        h.str(kv.key);
        h.value(kv.value);
    }
    uint64_t offset = 0;
    for (const Tensor& t : tensors_) {
        h.str(t.info.name);
        h.put<uint32_t>((uint32_t)t.info.dims.size());
        for (int64_t d : t.info.dims) h.put<uint64_t>((uint64_t)d);
        h.put<uint32_t>((uint32_t)t.info.type);
        h.put<uint64_t>(offset);
        offset = align_up(offset + t.info.n_bytes, align);
    }
    h.b.resize(align_up(h.b.size(), align), 0);
    int64_t total = 0;
    for (const Tensor& t : tensors_) total += (int64_t)t.info.n_bytes;
    done_.store(0, std::memory_order_relaxed);
    total_.store(total, std::memory_order_relaxed);

    remove_stale_temporaries(path);
    TempFile t = open_temp(path);
    const std::string& tmp = t.name;
    try {
        write_all(t.fd, h.b.data(), h.b.size(), path, tmp);
        static const uint8_t zeros[64] = {0};
        uint64_t pos = 0;
        for (const Tensor& x : tensors_) {
            write_data(t.fd, x, path, tmp);
            pos += x.info.n_bytes;
            for (uint64_t pad = align_up(pos, align) - pos; pad > 0;) {
                size_t k = pad < sizeof zeros ? (size_t)pad : sizeof zeros;
                write_all(t.fd, zeros, k, path, tmp);
                pad -= k;
                pos += k;
            }
        }
        if (fsync(t.fd) != 0) SL4J_FAIL(SL4J_ERR_IO, "%s: fsync of temporary %s failed: %s", path.c_str(),
                                           tmp.c_str(), std::strerror(errno));
        if (!t.named) name_temp(&t, path);
        if (std::rename(tmp.c_str(), path.c_str()) != 0)
            SL4J_FAIL(SL4J_ERR_IO, "%s: cannot rename %s over it: %s", path.c_str(), tmp.c_str(),
                      std::strerror(errno));
        t.named = false;  // renamed: nothing to remove on a failure below
        const int fd = t.fd;
        t.fd = -1;
        if (::close(fd) != 0)
            SL4J_FAIL(SL4J_ERR_IO, "%s: close of the written file failed: %s", path.c_str(), std::strerror(errno));
    } catch (...) {
        if (t.named) ::unlink(tmp.c_str());
        if (t.fd >= 0) ::close(t.fd);
        throw;
    }
    // Make the rename itself durable; failing here loses nothing already written.
    std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/') + 1);
    int dfd = ::open(dir.empty() ? "/" : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace sl4j
