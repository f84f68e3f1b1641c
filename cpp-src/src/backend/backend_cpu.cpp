#include <cstdlib>
#include <cstring>
#include <new>

#include "backend/backend.h"
#include "backend/cuda_plugin.h"
#include "core/error.h"
#include "cpu/matmul.h"
#include "cpu/ops.h"
#include "cpu/ops_backward.h"
#include "cpu/ops_lora.h"
#include "cpu/sample.h"
#include "cpu/threadpool.h"
#include "quant/quant.h"

namespace sl4j {
namespace {

static_assert(kIgnoreIndex == cpu::kIgnoreIndex, "the engine and the CPU kernels must agree on ignored targets");

// Every op forwards to its cpu:: kernel: the CPU backend adds no computation of its own.
class CpuBackend : public Backend {
    static constexpr std::align_val_t kAlign{64};

public:
    CpuBackend() : name_(format("CPU: %d threads, %s", cpu::threads(), cpu::simd_level())) {}
    int32_t device() const override { return SL4J_DEVICE_CPU; }
    const std::string& name() const override { return name_; }
    bool host_memory() const override { return true; }

    void* alloc(int64_t n_bytes) override {
        // 64-byte alignment suits AVX-512 loads and ggml's 32-byte GGUF alignment. Through the
        // aligned operator new, so an allocation-counting test sees backend memory too.
        size_t rounded = (static_cast<size_t>(n_bytes) + 63) / 64 * 64;
        try {
            return ::operator new(rounded == 0 ? 64 : rounded, kAlign);
        } catch (const std::bad_alloc&) {
            SL4J_FAIL(SL4J_ERR_OUT_OF_MEMORY, "could not allocate %lld bytes of host memory", (long long)n_bytes);
        }
    }
    void release(void* p) override { ::operator delete(p, kAlign); }
    void upload(void* dst, const void* src, int64_t n) override { std::memcpy(dst, src, static_cast<size_t>(n)); }
    void download(void* dst, const void* src, int64_t n) override { std::memcpy(dst, src, static_cast<size_t>(n)); }

    using Backend::matmul;
    void matmul(float* out, const void* w, int32_t wtype, const float* x, int64_t n, int64_t k,
                int64_t m) override {
        cpu::matmul(out, w, wtype, x, n, k, m);
    }
    void matmul_parts(const cpu::MatmulPart* parts, int n_parts, const float* x, int64_t n, int64_t k,
                      cpu::Precision precision) override {
        cpu::matmul_parts(parts, n_parts, x, n, k, precision);
    }
    void matmul_transposed(float* out, const void* w, int32_t wtype, const float* dy, int64_t n, int64_t k,
                           int64_t m) override {
        cpu::matmul_transposed(out, w, wtype, dy, n, k, m);
    }
    void embedding(float* out, const int32_t* tokens, const void* table, int32_t type, int64_t n_rows, int64_t dim,
                   int64_t n_vocab) override {
        cpu::embedding_forward(out, tokens, table, type, n_rows, dim, n_vocab);
    }
    void embedding_backward(float* dtable, const float* dout, const int32_t* tokens, int64_t n_rows, int64_t dim,
                            float alpha) override {
        cpu::embedding_backward(dtable, dout, tokens, n_rows, dim, alpha);
    }
    void rmsnorm(float* out, float* inv_rms, const float* x, const float* w, int64_t n_rows, int64_t dim,
                 float eps, bool ggml_rounding) override {
        cpu::rmsnorm_forward(out, inv_rms, x, w, n_rows, dim, eps, ggml_rounding);
    }
    void rmsnorm_backward(float* dx, const float* dout, const float* x, const float* w, const float* inv_rms,
                          int64_t n_rows, int64_t dim) override {
        cpu::rmsnorm_backward(dx, dout, x, w, inv_rms, n_rows, dim);
    }
    void rmsnorm_weight_backward(float* dw, const float* dout, const float* x, const float* inv_rms, int64_t n_rows,
                                 int64_t dim, float alpha) override {
        cpu::rmsnorm_weight_backward(dw, dout, x, inv_rms, n_rows, dim, alpha);
    }
    void rope_cache(float* cs, const int64_t* pos, int64_t n_rows, int64_t n_rot, double base, double linear_factor,
                    const float* freq_factors) override {
        cpu::rope_cache_forward(cs, pos, n_rows, n_rot, base, linear_factor, freq_factors);
    }
    void rope(float* x, const float* cs, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t n_rot) override {
        cpu::rope_forward(x, cs, n_rows, n_heads, head_dim, n_rot);
    }
    void rope_backward(float* dx, const float* cs, int64_t n_rows, int64_t n_heads, int64_t head_dim,
                       int64_t n_rot) override {
        cpu::rope_backward(dx, cs, n_rows, n_heads, head_dim, n_rot);
    }
    void swiglu(float* out, const float* gate, const float* up, int64_t n, bool fast) override {
        cpu::swiglu_forward(out, gate, up, n, fast);
    }
    void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                         int64_t n) override {
        cpu::swiglu_backward(dgate, dup, dout, gate, up, n);
    }
    void residual(float* x, const float* y, int64_t n) override { cpu::residual_forward(x, y, n); }
    void residual_backward(float* dy, const float* dx, int64_t n) override { cpu::residual_backward(dy, dx, n); }
    void attention(float* out, const float* q, const float* k_cache, const float* v_cache, const int32_t* seq,
                   const int64_t* pos, const int64_t* first_pos, int64_t n_rows, int64_t n_heads, int64_t n_kv_heads,
                   int64_t head_dim, int64_t seq_stride) override {
        cpu::attention_forward(out, q, k_cache, v_cache, seq, pos, first_pos, n_rows, n_heads, n_kv_heads, head_dim,
                               seq_stride);
    }
    void attention_f16(float* out, const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
                       const int32_t* seq, const int64_t* pos, const int64_t* first_pos, int64_t n_rows,
                       int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t seq_stride) override {
        cpu::attention_forward_f16(out, q, k_cache, v_cache, seq, pos, first_pos, n_rows, n_heads, n_kv_heads,
                                   head_dim, seq_stride);
    }
    void attention_backward(float* dq, float* dk_cache, float* dv_cache, const float* dout, const float* q,
                            const float* k_cache, const float* v_cache, const int32_t* seq, const int64_t* pos,
                            const int64_t* first_pos, int64_t n_rows, int64_t n_seq, int64_t n_heads,
                            int64_t n_kv_heads, int64_t head_dim, int64_t seq_stride) override {
        cpu::attention_backward(dq, dk_cache, dv_cache, dout, q, k_cache, v_cache, seq, pos, first_pos, n_rows, n_seq,
                                n_heads, n_kv_heads, head_dim, seq_stride);
    }
    int64_t crossentropy(float* losses, const float* logits, const int32_t* targets, int64_t n_rows,
                         int64_t n_vocab) override {
        return cpu::crossentropy_forward(losses, logits, targets, n_rows, n_vocab);
    }
    void crossentropy_backward(float* dlogits, const float* logits, const int32_t* targets, const float* dlosses,
                               int64_t n_rows, int64_t n_vocab) override {
        cpu::crossentropy_backward(dlogits, logits, targets, dlosses, n_rows, n_vocab);
    }
    float log_softmax_at(const float* logits, int64_t n, int32_t target) override {
        return cpu::log_softmax_at(logits, n, target);
    }
    void entropy(float* out, const float* logits, const int32_t* targets, int64_t n_rows, int64_t n_vocab) override {
        cpu::entropy_forward(out, logits, targets, n_rows, n_vocab);
    }
    void kl_div(float* out, const float* logits_p, const float* logits_q, int64_t n_rows, int64_t n_vocab) override {
        cpu::kl_forward(out, logits_p, logits_q, n_rows, n_vocab);
    }
    void dropout(float* xd, const float* x, float p, uint64_t seed, int64_t n) override {
        cpu::dropout_forward(xd, x, p, seed, n);
    }
    void dropout_backward(float* dx, const float* dxd, float p, uint64_t seed, int64_t n) override {
        cpu::dropout_backward(dx, dxd, p, seed, n);
    }
    void add_scaled(float* y, const float* x, float alpha, int64_t n) override { cpu::add_scaled(y, x, alpha, n); }
    void scale(float* x, float alpha, int64_t n) override { cpu::scale(x, alpha, n); }
    void outer_accumulate(float* out, const float* a, const float* b, int64_t n, int64_t P, int64_t Q,
                          float alpha) override {
        cpu::outer_accumulate(out, a, b, n, P, Q, alpha);
    }

protected:
    std::string name_;
};

// The CPU kernels in separate "device" allocations, every transfer counted (backend.h).
class DeviceSimBackend final : public CpuBackend {
public:
    explicit DeviceSimBackend(TransferCounts* counts) : counts_(counts) { name_ = "device-sim over " + name_; }
    bool host_memory() const override { return false; }
    void upload(void* dst, const void* src, int64_t n) override {
        ++counts_->uploads;
        counts_->upload_bytes += n;
        CpuBackend::upload(dst, src, n);
    }
    void download(void* dst, const void* src, int64_t n) override {
        count_download(n);
        CpuBackend::download(dst, src, n);
    }
    // What a GPU reads back for the ops that look at values on the host.
    void embedding(float* out, const int32_t* tokens, const void* table, int32_t type, int64_t n_rows, int64_t dim,
                   int64_t n_vocab) override {
        count_download(n_rows * 4);
        CpuBackend::embedding(out, tokens, table, type, n_rows, dim, n_vocab);
    }
    int64_t crossentropy(float* losses, const float* logits, const int32_t* targets, int64_t n_rows,
                         int64_t n_vocab) override {
        count_download(n_rows * 4);
        return CpuBackend::crossentropy(losses, logits, targets, n_rows, n_vocab);
    }
    float log_softmax_at(const float* logits, int64_t n, int32_t target) override {
        count_download(4);
        return CpuBackend::log_softmax_at(logits, n, target);
    }
    double sum_squares(const float* x, int64_t n) override {
        count_download(8);
        return CpuBackend::sum_squares(x, n);
    }

private:
    void count_download(int64_t n) {
        ++counts_->downloads;
        counts_->download_bytes += n;
    }
    TransferCounts* counts_;
};

}  // namespace

std::unique_ptr<Backend> make_device_sim_backend(TransferCounts* counts) {
    SL4J_CHECK_ARG(counts != nullptr, "the device-sim backend needs a TransferCounts to count into");
    return std::make_unique<DeviceSimBackend>(counts);
}

void Backend::attention_f16(float*, const float*, const uint16_t*, const uint16_t*, const int32_t*, const int64_t*,
                            const int64_t*, int64_t, int64_t, int64_t, int64_t, int64_t) {
    SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "backend %s has no attention over an F16 KV cache: create the session with an "
              "F32 cache (kv_type f32)", name().c_str());
}

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

Backend& host_backend() {
    static Backend* be = make_cpu_backend().release();  // never destroyed: outlives every static user
    return *be;
}

void Backend::copy_rows(float* dst, const int64_t* offsets, const float* src, int64_t n_rows, int64_t row_len) {
    for (int64_t r = 0; r < n_rows; ++r) std::memcpy(dst + offsets[r], src + r * row_len, size_t(row_len) * 4);
}

void Backend::copy_rows_f16(uint16_t* dst, const int64_t* offsets, const float* src, int64_t n_rows,
                            int64_t row_len) {
    cpu::copy_rows_f16(dst, offsets, src, n_rows, row_len);
}

void Backend::argmax_logprob(int32_t* tokens, float* logprobs, const float* logits, int64_t n_rows,
                             int64_t n_vocab) {
    for (int64_t r = 0; r < n_rows; ++r) {
        const float* l = logits + r * n_vocab;
        int32_t best = 0;
        for (int64_t i = 1; i < n_vocab; ++i)
            if (l[i] > l[best]) best = int32_t(i);
        tokens[r] = best;
        logprobs[r] = cpu::log_softmax_at(l, n_vocab, best);
    }
}

void Backend::sample_rows(int32_t* tokens, float* logprobs, const float* logits, const SampleRowParams* params,
                          const SampleAdjust* adjust, void* scratch, int64_t n_rows, int64_t n_vocab) {
    float* z = static_cast<float*>(scratch);
    int32_t* idx = reinterpret_cast<int32_t*>(z + n_vocab);
    for (int64_t r = 0; r < n_rows; ++r)
        tokens[r] = cpu::sample_row(logits + int64_t(params[r].row) * n_vocab, n_vocab, params[r], adjust, z, idx,
                                    logprobs + r);
}

int64_t Backend::sample_scratch_bytes(int64_t n_rows, int64_t n_vocab) const {
    (void)n_rows;
    return n_vocab * int64_t(sizeof(float) + sizeof(int32_t));
}

void Backend::copy(void* dst, const void* src, int64_t n_bytes) {
    if (n_bytes > 0) std::memcpy(dst, src, static_cast<size_t>(n_bytes));
}

void Backend::adamw(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& step) {
    for (int64_t i = 0; i < n; ++i) adamw_elem(p + i, g[i], m + i, v + i, step);
}

double Backend::sum_squares(const float* x, int64_t n) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += double(x[i]) * x[i];
    return ss;
}

void Backend::fill_zero(void* dst, int64_t n_bytes) {
    if (n_bytes > 0) std::memset(dst, 0, static_cast<size_t>(n_bytes));
}

std::unique_ptr<Backend> choose_backend(int32_t device, int cuda_device, std::string* notice) {
    if (device == SL4J_DEVICE_CPU) return make_cpu_backend();
    SL4J_CHECK_ARG(device == SL4J_DEVICE_CUDA || device == SL4J_DEVICE_AUTO,
                   "unknown device %d (expected 0 cpu, 1 cuda, 2 auto)", device);
    std::string why_not;
    const int count = cuda_device_count(&why_not);
    if (count > 0 && (cuda_device < 0 || cuda_device >= count))
        why_not = format("CUDA device %d is not one of the %d usable", cuda_device, count);
    if (count == 0 && why_not.empty()) why_not = "no usable CUDA GPU";
    const bool usable = count > 0 && why_not.empty();
    if (device == SL4J_DEVICE_CUDA) {
        if (!usable) SL4J_FAIL(SL4J_ERR_BACKEND, "device cuda asked, but %s: use device cpu or auto", why_not.c_str());
        return make_cuda_backend(cuda_device);
    }
    std::unique_ptr<Backend> be = usable ? make_cuda_backend(cuda_device) : make_cpu_backend();
    if (notice != nullptr)
        *notice = usable ? "device auto: running on the GPU, " + be->name()
                         : "device auto: running on the CPU: " + why_not;
    return be;
}

}  // namespace sl4j
