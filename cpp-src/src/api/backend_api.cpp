// C API: system info, backends, tensors and the matmul op.
#include <cstring>
#include <string>

#include "api/guard.h"
#include "backend/backend.h"
#include "backend/cuda_plugin.h"
#include "core/types.h"
#include "cpu/amx.h"
#include "cpu/qdot.h"
#include "cpu/threadpool.h"
#include "quant/quant.h"

struct sl4j_backend {
    std::unique_ptr<sl4j::Backend> impl;
    std::string notice;
};

struct sl4j_tensor {
    sl4j::Tensor t;
};

using namespace sl4j;

namespace {

void check_tensor_shape(int32_t type, int32_t n_dims, const int64_t* dims) {
    SL4J_CHECK_ARG(n_dims >= 1 && n_dims <= 4, "a tensor has 1 to 4 dims, got %d", n_dims);
    SL4J_CHECK_ARG(dims != nullptr, "dims is NULL");
    const TypeTraits* tt = type_traits(type);
    if (tt == nullptr || !tt->supported) SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "tensor type %d is not supported", type);
    for (int i = 0; i < n_dims; ++i)
        SL4J_CHECK_ARG(dims[i] > 0 && dims[i] < (int64_t(1) << 40), "dim %d is %lld, expected 1..2^40", i,
                       (long long)dims[i]);
}

}  // namespace

extern "C" {

const char* sl4j_version(void) { return "0.1.0"; }

const char* sl4j_system_info(void) {
    static thread_local std::string info;
    std::string why;
    const int devices = cuda_device_count(&why);
    info = format("stackllama4j %s | SIMD %s | int8 dot %s | threads %d | CUDA: %d usable device(s)%s%s",
                  sl4j_version(), cpu::simd_level(), cpu::qkernels().name, cpu::threads(), devices,
                  why.empty() ? "" : ", ", why.c_str());
    return info.c_str();
}

const char* sl4j_kernels_ran(void) {
    static thread_local std::string ran;
    ran = cpu::kernels_ran_take();
    return ran.c_str();
}

const char* sl4j_amx_status(void) { return cpu::amx_status().reason.c_str(); }

int32_t sl4j_cuda_device_count(void) { return cuda_device_count(); }

int32_t sl4j_cuda_configure(const char* plugin_path, const char* runtime_hint) {
    return guard([&] { configure_cuda_plugin(plugin_path ? plugin_path : "", runtime_hint ? runtime_hint : ""); });
}

struct sl4j_backend_params sl4j_backend_default_params(void) {
    sl4j_backend_params p;
    p.device = SL4J_DEVICE_AUTO;
    p.cuda_device = 0;
    return p;
}

int32_t sl4j_backend_init(const struct sl4j_backend_params* params, sl4j_backend** out) {
    return guard([&] {
        SL4J_CHECK_HANDLE(out);
        *out = nullptr;
        sl4j_backend_params p = params ? *params : sl4j_backend_default_params();
        auto b = std::make_unique<sl4j_backend>();
        b->impl = choose_backend(p.device, p.cuda_device, &b->notice);
        *out = b.release();
    });
}

void sl4j_backend_free(sl4j_backend* backend) { delete backend; }
int32_t sl4j_backend_device(const sl4j_backend* b) { return b ? b->impl->device() : -1; }
const char* sl4j_backend_name(const sl4j_backend* b) { return b ? b->impl->name().c_str() : ""; }
const char* sl4j_backend_notice(const sl4j_backend* b) { return b ? b->notice.c_str() : ""; }

int32_t sl4j_tensor_init(sl4j_backend* backend, int32_t type, int32_t n_dims, const int64_t* dims,
                         sl4j_tensor** out) {
    return guard([&] {
        SL4J_CHECK_HANDLE(backend);
        SL4J_CHECK_HANDLE(out);
        *out = nullptr;
        check_tensor_shape(type, n_dims, dims);
        auto t = std::make_unique<sl4j_tensor>();
        t->t.backend = backend->impl.get();
        t->t.type = type;
        t->t.n_dims = n_dims;
        for (int i = 0; i < n_dims; ++i) t->t.dims[i] = dims[i];
        int64_t row_bytes = type_row_bytes(type, dims[0]);
        t->t.n_bytes = row_bytes * t->t.n_rows();
        t->t.data = t->t.backend->alloc(t->t.n_bytes);
        *out = t.release();
    });
}

void sl4j_tensor_free(sl4j_tensor* tensor) {
    if (tensor == nullptr) return;
    if (tensor->t.data) tensor->t.backend->release(tensor->t.data);
    delete tensor;
}

int32_t sl4j_tensor_type(const sl4j_tensor* t) { return t ? t->t.type : -1; }
int32_t sl4j_tensor_n_dims(const sl4j_tensor* t) { return t ? t->t.n_dims : 0; }
int64_t sl4j_tensor_dim(const sl4j_tensor* t, int32_t axis) {
    if (t == nullptr || axis < 0 || axis > 3) return 0;
    return t->t.dims[axis];
}
int64_t sl4j_tensor_n_elements(const sl4j_tensor* t) { return t ? t->t.n_elements() : 0; }
int64_t sl4j_tensor_n_bytes(const sl4j_tensor* t) { return t ? t->t.n_bytes : 0; }

int32_t sl4j_tensor_set_f32(sl4j_tensor* t, const float* src, int64_t n) {
    return guard([&] {
        SL4J_CHECK_HANDLE(t);
        SL4J_CHECK_HANDLE(src);
        SL4J_CHECK_ARG(n == t->t.n_elements(), "set_f32 got %lld floats for a tensor of %lld elements", (long long)n,
                       (long long)t->t.n_elements());
        std::vector<uint8_t> encoded(static_cast<size_t>(t->t.n_bytes));
        quantize_row(t->t.type, src, encoded.data(), n);
        t->t.backend->upload(t->t.data, encoded.data(), t->t.n_bytes);
    });
}

int32_t sl4j_tensor_get_f32(const sl4j_tensor* t, float* dst, int64_t n) {
    return guard([&] {
        SL4J_CHECK_HANDLE(t);
        SL4J_CHECK_HANDLE(dst);
        SL4J_CHECK_ARG(n == t->t.n_elements(), "get_f32 got room for %lld floats, the tensor has %lld", (long long)n,
                       (long long)t->t.n_elements());
        std::vector<uint8_t> encoded(static_cast<size_t>(t->t.n_bytes));
        t->t.backend->download(encoded.data(), t->t.data, t->t.n_bytes);
        dequantize_row(t->t.type, encoded.data(), dst, n);
    });
}

int32_t sl4j_tensor_set_bytes(sl4j_tensor* t, const void* src, int64_t n_bytes) {
    return guard([&] {
        SL4J_CHECK_HANDLE(t);
        SL4J_CHECK_HANDLE(src);
        SL4J_CHECK_ARG(n_bytes == t->t.n_bytes, "set_bytes got %lld bytes, the tensor holds %lld",
                       (long long)n_bytes, (long long)t->t.n_bytes);
        t->t.backend->upload(t->t.data, src, n_bytes);
    });
}

int32_t sl4j_tensor_get_bytes(const sl4j_tensor* t, void* dst, int64_t n_bytes) {
    return guard([&] {
        SL4J_CHECK_HANDLE(t);
        SL4J_CHECK_HANDLE(dst);
        SL4J_CHECK_ARG(n_bytes == t->t.n_bytes, "get_bytes got room for %lld bytes, the tensor holds %lld",
                       (long long)n_bytes, (long long)t->t.n_bytes);
        t->t.backend->download(dst, t->t.data, n_bytes);
    });
}

int32_t sl4j_matmul(sl4j_tensor* out, const sl4j_tensor* w, const sl4j_tensor* x) {
    return guard([&] {
        SL4J_CHECK_HANDLE(out);
        SL4J_CHECK_HANDLE(w);
        SL4J_CHECK_HANDLE(x);
        const Tensor &O = out->t, &W = w->t, &X = x->t;
        SL4J_CHECK_ARG(O.backend == W.backend && W.backend == X.backend, "matmul operands live on different backends");
        SL4J_CHECK_ARG(W.n_dims == 2, "matmul weight must be 2-D, got %d dims", W.n_dims);
        SL4J_CHECK_ARG(X.type == SL4J_TYPE_F32 && O.type == SL4J_TYPE_F32, "matmul x and out must be F32");
        SL4J_CHECK_ARG(X.dims[0] == W.dims[0], "matmul inner sizes differ: x has %lld, w has %lld",
                       (long long)X.dims[0], (long long)W.dims[0]);
        SL4J_CHECK_ARG(O.dims[0] == W.dims[1] && O.n_rows() == X.n_rows(),
                       "matmul out must be {%lld, %lld}, got {%lld, %lld}", (long long)W.dims[1],
                       (long long)X.n_rows(), (long long)O.dims[0], (long long)O.n_rows());
        O.backend->matmul(out->t, W, X);
    });
}

}  // extern "C"
