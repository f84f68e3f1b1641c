// Streamed GGUF writing: tensors produced while the file is written (random init, re-encoding a
// file's tensors, LoRA merges), checked against the same tensors built in memory.
#include <dirent.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/normal.h"
#include "core/types.h"
#include "cpu/threadpool.h"
#include "gguf/gguf.h"
#include "gguf/gguf_rows.h"
#include "quant/quant.h"
#include "stackllama4j.h"
#include "testing.h"
#include "train/merge.h"

using namespace sl4j;

namespace {

std::string scratch(const std::string& name) {
    static std::string dir = [] {
        char tmpl[] = "/tmp/sl4j_stream_test_XXXXXX";
        const char* d = mkdtemp(tmpl);
        return std::string(d ? d : "/tmp");
    }();
    return dir + "/" + name;
}

std::vector<uint8_t> read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<uint8_t> encode(int32_t type, const std::vector<float>& x) {
    std::vector<uint8_t> q((size_t)(x.size() / type_traits(type)->block_size * type_traits(type)->type_size));
    quantize_row(type, x.data(), q.data(), (int64_t)x.size());
    return q;
}

std::vector<uint8_t> bytes_of(const GgufFile& f, const std::string& name) {
    const int64_t i = f.find_tensor(name);
    CHECK(i >= 0);
    if (i < 0) return {};
    const uint8_t* p = f.tensor_data(i);
    return std::vector<uint8_t>(p, p + f.tensors()[(size_t)i].n_bytes);
}

// Standard normal CDF.
double phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace

TEST(normal_stream_is_standard_normal_and_deterministic) {
    const int64_t n = 2000000;
    NormalStream g(normal_row_key(7, "t", 0));
    std::vector<double> x((size_t)n);
    double mean = 0, m2 = 0, m4 = 0;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = g.next();
        mean += x[i];
    }
    mean /= n;
    for (double v : x) m2 += (v - mean) * (v - mean), m4 += std::pow(v - mean, 4);
    m2 /= n;
    m4 /= n;
    // 5 standard errors: se(mean) = 1/√n, se(var) = √(2/n), se(kurtosis 3) ≈ √(24/n)
    CHECK_NEAR(mean, 0.0, 5 / std::sqrt((double)n));
    CHECK_NEAR(m2, 1.0, 5 * std::sqrt(2.0 / n));
    CHECK_NEAR(m4 / (m2 * m2), 3.0, 5 * std::sqrt(24.0 / n));
    // the empirical CDF at points across the body and both tails (binomial standard errors)
    for (double t : {-4.0, -3.5, -3.0, -2.0, -1.0, -0.3, 0.0, 0.5, 1.5, 3.0, 3.44, 3.6, 4.0}) {
        int64_t below = 0;
        for (double v : x) below += v < t;
        const double p = phi(t), se = std::sqrt(p * (1 - p) / n);
        CHECK_NEAR((double)below / n, p, 5 * se + 1e-7);
    }
    NormalStream a(normal_row_key(7, "t", 0)), b(normal_row_key(7, "t", 0)), c(normal_row_key(7, "t", 1));
    int same_c = 0;
    for (int i = 0; i < 1000; ++i) {
        const float va = a.next();
        CHECK_EQ(va, b.next());
        same_c += va == c.next();
    }
    CHECK(same_c < 5);
    CHECK(normal_row_key(7, "t", 0) != normal_row_key(8, "t", 0));
    CHECK(normal_row_key(7, "t", 0) != normal_row_key(7, "u", 0));
}

// A streamed random tensor equals the same rows produced and encoded in memory, for every type,
// with 1 or 2 threads, in a tensor larger than one chunk (8M floats).
TEST(gguf_stream_normal_tensor_equals_in_memory_encoding) {
    const int prev = cpu::threads();
    std::vector<std::vector<uint8_t>> files;
    const std::vector<int64_t> big = {4096, 2100};  // 8.6M elements: two chunks
    for (int threads : {1, 2}) {
        cpu::set_threads(threads);
        sl4j_gguf_writer* w = nullptr;
        CHECK_EQ(sl4j_gguf_writer_init(&w), 0);
        CHECK_EQ(sl4j_gguf_writer_set_str(w, "general.architecture", "llama"), 0);
        const int64_t d2[2] = {512, 3};
        int k = 0;
        for (int32_t t : {SL4J_TYPE_F32, SL4J_TYPE_F16, SL4J_TYPE_BF16, SL4J_TYPE_Q8_0, SL4J_TYPE_Q4_0, SL4J_TYPE_Q4_K,
                          SL4J_TYPE_Q5_K, SL4J_TYPE_Q6_K}) {
            const std::string name = "w" + std::to_string(k++);
            CHECK_EQ(sl4j_gguf_writer_add_tensor_normal(w, name.c_str(), t, 2, d2, 0.1f, 0.02f, 11), 0);
        }
        const int64_t d1[1] = {96};
        CHECK_EQ(sl4j_gguf_writer_add_tensor_normal(w, "norm", SL4J_TYPE_F32, 1, d1, 1.0f, 0.0f, 11), 0);
        CHECK_EQ(sl4j_gguf_writer_add_tensor_normal(w, "big", SL4J_TYPE_Q8_0, 2, big.data(), 0.0f, 1.0f, 12), 0);
        const std::string path = scratch("normal" + std::to_string(threads) + ".gguf");
        CHECK_EQ(sl4j_gguf_writer_write(w, path.c_str()), 0);
        int64_t done = -1, total = -1;
        CHECK_EQ(sl4j_gguf_writer_progress(w, &done, &total), 0);
        CHECK(done == total && total > 4096 * 2100);
        sl4j_gguf_writer_free(w);
        files.push_back(read_all(path));

        auto f = GgufFile::open(path);
        k = 0;
        for (int32_t t : {SL4J_TYPE_F32, SL4J_TYPE_F16, SL4J_TYPE_BF16, SL4J_TYPE_Q8_0, SL4J_TYPE_Q4_0, SL4J_TYPE_Q4_K,
                          SL4J_TYPE_Q5_K, SL4J_TYPE_Q6_K}) {
            const std::string name = "w" + std::to_string(k++);
            std::vector<float> x(512 * 3);
            normal_rows(name, 512, 0.1f, 0.02f, 11)->rows(0, 3, x.data());
            CHECK(bytes_of(*f, name) == encode(t, x));
            CHECK_EQ(f->tensors()[(size_t)f->find_tensor(name)].type, t);
        }
        std::vector<float> ones(96, 1.0f);
        CHECK(bytes_of(*f, "norm") == encode(SL4J_TYPE_F32, ones));
        std::vector<float> xb(4096 * 2100);
        normal_rows("big", 4096, 0.0f, 1.0f, 12)->rows(0, 2100, xb.data());
        CHECK(bytes_of(*f, "big") == encode(SL4J_TYPE_Q8_0, xb));
    }
    cpu::set_threads(prev);
    CHECK(files[0] == files[1]);
    // a type without an encoder is refused when the tensor is added, naming it
    sl4j_gguf_writer* w = nullptr;
    CHECK_EQ(sl4j_gguf_writer_init(&w), 0);
    const int64_t d[2] = {256, 2};
    CHECK_EQ(sl4j_gguf_writer_add_tensor_normal(w, "x", SL4J_TYPE_Q3_K, 2, d, 0, 1, 1), (int32_t)SL4J_ERR_UNSUPPORTED);
    CHECK(std::string(sl4j_last_error()).find("'x'") != std::string::npos);
    const int64_t odd[2] = {100, 2};
    CHECK_EQ(sl4j_gguf_writer_add_tensor_normal(w, "y", SL4J_TYPE_Q8_0, 2, odd, 0, 1, 1),
             (int32_t)SL4J_ERR_INVALID_ARGUMENT);
    CHECK(std::string(sl4j_last_error()).find("block size 32") != std::string::npos);
    sl4j_gguf_writer_free(w);
}

// Re-encoding the tensors of a file: decoded and encoded rows equal the in-memory path; the same
// type is a byte copy; every metadata key copies over.
TEST(gguf_stream_from_file_reencodes_and_copies) {
    const std::string src_path = scratch("src.gguf"), out_path = scratch("requant.gguf");
    std::vector<float> a(256 * 4), b(64);
    normal_rows("a", 256, 0.0f, 0.05f, 3)->rows(0, 4, a.data());
    normal_rows("b", 64, 1.0f, 0.1f, 3)->rows(0, 1, b.data());
    {
        GgufWriter w;
        w.set("general.name", GgufValue::of_str("src"));
        w.set("x.u32", GgufValue::of_uint(SL4J_GGUF_UINT32, 7));
        const auto fa = encode(SL4J_TYPE_F16, a);
        w.add_tensor("a", SL4J_TYPE_F16, {256, 4}, fa.data(), fa.size());
        w.add_tensor("b", SL4J_TYPE_F32, {64}, b.data(), b.size() * 4);
        w.write(src_path);
    }
    sl4j_gguf* src = nullptr;
    CHECK_EQ(sl4j_gguf_open(src_path.c_str(), &src), 0);
    sl4j_gguf_writer* w = nullptr;
    CHECK_EQ(sl4j_gguf_writer_init(&w), 0);
    for (int64_t i = 0; i < sl4j_gguf_n_kv(src); ++i) CHECK_EQ(sl4j_gguf_writer_copy_kv(w, src, i), 0);
    CHECK_EQ(sl4j_gguf_writer_add_tensor_from(w, "a", SL4J_TYPE_Q4_K, src, 0), 0);
    CHECK_EQ(sl4j_gguf_writer_add_tensor_from(w, "b", SL4J_TYPE_F32, src, 1), 0);
    CHECK_EQ(sl4j_gguf_writer_add_tensor_from(w, "c", SL4J_TYPE_Q8_0, src, 9), (int32_t)SL4J_ERR_INVALID_ARGUMENT);
    CHECK_EQ(sl4j_gguf_writer_write(w, out_path.c_str()), 0);
    sl4j_gguf_writer_free(w);
    auto in = GgufFile::open(src_path), out = GgufFile::open(out_path);
    CHECK_EQ(out->get_i64("x.u32"), (int64_t)7);
    CHECK(out->get_str("general.name") == "src");
    std::vector<float> a16(a.size());
    dequantize_row(SL4J_TYPE_F16, in->tensor_data(0), a16.data(), (int64_t)a16.size());
    CHECK(bytes_of(*out, "a") == encode(SL4J_TYPE_Q4_K, a16));
    CHECK(bytes_of(*out, "b") == bytes_of(*in, "b"));
    sl4j_gguf_free(src);
}

TEST(lora_merge_rows_matches_float64_reference) {
    const int64_t in = 40, out = 12, r = 3;
    std::vector<float> w(in * out), a(r * in), b(out * r);
    normal_rows("w", in, 0.0f, 1.0f, 1)->rows(0, out, w.data());
    normal_rows("a", in, 0.0f, 0.3f, 1)->rows(0, r, a.data());
    normal_rows("b", r, 0.0f, 0.3f, 1)->rows(0, out, b.data());
    b[5] = 0.0f;  // skipped terms change nothing
    const double scale = 32.0 / 3.0;
    std::vector<float> got(w.begin() + 4 * in, w.begin() + 9 * in);
    lora_merge_rows(got.data(), a.data(), b.data(), in, r, scale, 4, 9);
    for (int64_t o = 4; o < 9; ++o)
        for (int64_t i = 0; i < in; ++i) {
            long double ref = 0;
            for (int64_t k = 0; k < r; ++k) ref += (long double)b[o * r + k] * a[k * in + i];
            const double delta = (double)(scale * ref), want = (double)w[o * in + i] + delta;
            // one float rounding of the delta (relative to it) and one of the sum (relative to the result)
            CHECK_NEAR(got[(o - 4) * in + i], want, (std::fabs(delta) + std::fabs(want)) * 0x1p-24 * 1.01 + 1e-12);
        }
}

// A streamed merge: tensor rows of a file plus scale·B·A, equal to the in-memory computation, and
// a shape mismatch names the tensor.
TEST(gguf_stream_lora_merge_equals_in_memory) {
    const std::string src_path = scratch("base.gguf"), out_path = scratch("merged.gguf");
    const int64_t in = 64, out = 96, r = 4;
    std::vector<float> w(in * out);
    normal_rows("w", in, 0.0f, 0.05f, 5)->rows(0, out, w.data());
    {
        GgufWriter g;
        g.add_tensor("blk.0.attn_q.weight", SL4J_TYPE_F32, {in, out}, w.data(), w.size() * 4);
        g.write(src_path);
    }
    LoraTensor A = make_param_tensor(host_backend(), "A", r, in), B = make_param_tensor(host_backend(), "B", out, r);
    normal_rows("A", in, 0.0f, 0.2f, 6)->rows(0, r, A.w.data());
    normal_rows("B", r, 0.0f, 0.2f, 6)->rows(0, out, B.w.data());
    auto f = GgufFile::open(src_path);
    GgufWriter g;
    g.add_tensor_rows("blk.0.attn_q.weight", SL4J_TYPE_Q8_0, {in, out}, lora_merged_rows(*f, 0, A, B, 2.0));
    g.write(out_path);
    std::vector<float> want = w;
    lora_merge_rows(want.data(), A.w.data(), B.w.data(), in, r, 2.0, 0, out);
    auto m = GgufFile::open(out_path);
    CHECK(bytes_of(*m, "blk.0.attn_q.weight") == encode(SL4J_TYPE_Q8_0, want));
    LoraTensor bad = make_param_tensor(host_backend(), "B", out - 1, r);
    try {
        lora_merged_rows(*f, 0, A, bad, 2.0);
        CHECK(false);
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("blk.0.attn_q.weight") != std::string::npos);
    }
}

namespace {
struct FailingRows : TensorRows {
    void rows(int64_t r0, int64_t, float* dst) const override {
        if (r0 >= 0) SL4J_FAIL(SL4J_ERR_INTERNAL, "row source failed on purpose");
        dst[0] = 0;
    }
};
}  // namespace

// A failure while streaming leaves neither the target nor a temporary file.
TEST(gguf_stream_failure_leaves_no_file) {
    const std::string path = scratch("fail.gguf");
    GgufWriter g;
    g.add_tensor_rows("t", SL4J_TYPE_F32, {8, 2}, std::make_shared<FailingRows>());
    EXPECT_THROWS(g.write(path));
    CHECK(access(path.c_str(), F_OK) != 0);
    const std::string dir = path.substr(0, path.rfind('/'));
    int left = 0;
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* e = readdir(d)) left += std::strncmp(e->d_name, "fail.gguf.tmp", 13) == 0;
        closedir(d);
    }
    CHECK_EQ(left, 0);
}
