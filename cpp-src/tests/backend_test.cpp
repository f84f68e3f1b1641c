#include <vector>

#include "stackllama4j.h"
#include "testing.h"

// The C API boundary: failures come back as status codes with a message, never a crash.
TEST(api_reports_errors_as_status_and_message) {
    sl4j_tensor* t = nullptr;
    int64_t dims[2] = {4, 0};
    sl4j_backend* b = nullptr;
    CHECK_EQ(sl4j_backend_init(nullptr, &b), SL4J_OK);
    CHECK_EQ(sl4j_tensor_init(b, SL4J_TYPE_F32, 2, dims, &t), SL4J_ERR_INVALID_ARGUMENT);
    CHECK(std::string(sl4j_last_error()).find("dim 1 is 0") != std::string::npos);
    CHECK(t == nullptr);
    CHECK_EQ(sl4j_tensor_init(b, 99, 2, dims, &t), SL4J_ERR_UNSUPPORTED);
    sl4j_backend_free(b);
}

TEST(auto_backend_falls_back_to_cpu_with_notice_when_no_gpu) {
    sl4j_backend_params p = sl4j_backend_default_params();
    CHECK_EQ(p.device, SL4J_DEVICE_AUTO);
    sl4j_backend* b = nullptr;
    CHECK_EQ(sl4j_backend_init(&p, &b), SL4J_OK);
    if (sl4j_cuda_device_count() == 0) {
        CHECK_EQ(sl4j_backend_device(b), SL4J_DEVICE_CPU);
        CHECK(std::string(sl4j_backend_notice(b)).find("CPU") != std::string::npos);
    } else {
        CHECK_EQ(sl4j_backend_device(b), SL4J_DEVICE_CUDA);
    }
    sl4j_backend_free(b);
}

// Runs the F32 matmul on every backend present and compares with a float64 loop.
TEST(matmul_f32_through_backend_matches_reference) {
    const int64_t n = 3, k = 37, m = 19;
    std::vector<float> w(k * m), x(k * n), out(m * n);
    for (size_t i = 0; i < w.size(); ++i) w[i] = float((i * 37 % 101) - 50) / 50.f;
    for (size_t i = 0; i < x.size(); ++i) x[i] = float((i * 53 % 97) - 48) / 48.f;
    std::vector<int> devices = {SL4J_DEVICE_CPU};
    if (sl4j_cuda_device_count() > 0) devices.push_back(SL4J_DEVICE_CUDA);
    for (int dev : devices) {
        sl4j_backend_params p = sl4j_backend_default_params();
        p.device = dev;
        sl4j_backend* b = nullptr;
        CHECK_EQ(sl4j_backend_init(&p, &b), SL4J_OK);
        int64_t wd[2] = {k, m}, xd[2] = {k, n}, od[2] = {m, n};
        sl4j_tensor *W = nullptr, *X = nullptr, *O = nullptr;
        CHECK_EQ(sl4j_tensor_init(b, SL4J_TYPE_F32, 2, wd, &W), SL4J_OK);
        CHECK_EQ(sl4j_tensor_init(b, SL4J_TYPE_F32, 2, xd, &X), SL4J_OK);
        CHECK_EQ(sl4j_tensor_init(b, SL4J_TYPE_F32, 2, od, &O), SL4J_OK);
        CHECK_EQ(sl4j_tensor_set_f32(W, w.data(), k * m), SL4J_OK);
        CHECK_EQ(sl4j_tensor_set_f32(X, x.data(), k * n), SL4J_OK);
        CHECK_EQ(sl4j_matmul(O, W, X), SL4J_OK);
        CHECK_EQ(sl4j_tensor_get_f32(O, out.data(), m * n), SL4J_OK);
        for (int64_t i = 0; i < n; ++i)
            for (int64_t r = 0; r < m; ++r) {
                double ref = 0, mag = 0;
                for (int64_t j = 0; j < k; ++j) {
                    ref += double(x[i * k + j]) * double(w[r * k + j]);
                    mag += std::fabs(double(x[i * k + j]) * double(w[r * k + j]));
                }
                CHECK_NEAR(out[i * m + r], ref, 1e-6 * mag + 1e-7);
            }
        // mismatched shapes are rejected with a message
        CHECK_EQ(sl4j_matmul(O, X, W), SL4J_ERR_INVALID_ARGUMENT);
        sl4j_tensor_free(W);
        sl4j_tensor_free(X);
        sl4j_tensor_free(O);
        sl4j_backend_free(b);
    }
}
