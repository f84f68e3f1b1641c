// The backend seam. A Backend owns device memory and runs ops on tensors that
// live in it; the CPU backend is always present, the CUDA backend when built
// with SL4J_WITH_CUDA (as a plugin, backend/cuda_plugin.h) and a usable GPU exists. Engine code calls ops through
// the tensors' backend, so a new device adds kernels, not a new engine.
//
// The ops below are the whole vocabulary of the LLaMA session and the trainer: model/ and
// train/ call nothing else that computes. Every pointer an op takes names backend memory,
// including the small index arrays (token ids, targets, row sequences, positions, offsets).
//
// Memory. Engine buffers are DeviceBuffers: allocations of one backend, released with it. A
// backend whose memory is host memory (host_memory(): the CPU backend) lets the engine use host
// data in place: the model's weights stay in the mmapped file, a batch's token ids are read from
// the caller's array, logits are written where the caller reads them. On any other backend the
// model uploads each weight tensor once, in its stored type, at load, and the engine moves data
// with upload()/download() only at these points:
//  - in: a batch's token ids and row metadata (sequence, position, document start, KV-cache
//    offsets) per decode or training forward; a training step's targets and loss gradients; the
//    controls, random draws and adjusted tokens of a sampled pick (sample_rows);
//  - out: a row of logits or hidden states when the caller asks for it, a picked token and its
//    log-prob (8 bytes per pick: argmax_logprob, sample_rows), a log-prob or a
//    gradient norm (one scalar), and whatever an op below says it reads back.
// The session, the model, the trainer and the trainable tensors (LoRA adapters, full parameters,
// their gradients and AdamW's moments: uploaded once at creation, downloaded only when saved or
// read through the API) follow this. A training step moves in its token ids, row metadata,
// targets and loss gradients, and out the row losses the caller reads (hidden states, entropies
// and KL when asked) and one scalar per sum_squares (gradient-norm clipping).
//
// What a caller may assume of any backend:
//  - ops run in call order; they may return before the work is done (CUDA queues kernels), and
//    download() waits for everything queued before it;
//  - only these ops look at values on the host: embedding (token ids, range-checked),
//    crossentropy (targets, range-checked, rows counted), log_softmax_at and sum_squares (their
//    scalar result); on a device they download exactly those values. Nothing else moves data
//    between host and device;
//  - a bad token id or target throws sl4j::Error naming it; nothing aborts.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/kernel_math.h"
#include "core/sample_math.h"
#include "cpu/matmul.h"

namespace sl4j {

class Backend;

struct Tensor {
    Backend* backend = nullptr;
    int32_t type = 0;
    int32_t n_dims = 0;
    int64_t dims[4] = {1, 1, 1, 1};  // ggml order: dims[0] contiguous
    void* data = nullptr;            // backend memory
    int64_t n_bytes = 0;

    int64_t n_elements() const { return dims[0] * dims[1] * dims[2] * dims[3]; }
    int64_t n_rows() const { return dims[1] * dims[2] * dims[3]; }
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual int32_t device() const = 0;        // enum sl4j_device
    virtual const std::string& name() const = 0;

    virtual void* alloc(int64_t n_bytes) = 0;  // throws SL4J_ERR_OUT_OF_MEMORY with the figure
    virtual void release(void* p) = 0;
    virtual void upload(void* dst, const void* host_src, int64_t n_bytes) = 0;
    virtual void download(void* host_dst, const void* src, int64_t n_bytes) = 0;
    // True when backend memory is host memory that host code may read and write in place (the
    // CPU backend): the engine then skips uploads and downloads. False by default.
    virtual bool host_memory() const { return false; }

    // out = x · wᵀ (see sl4j_matmul): w {k, m} any supported type, x F32 {k, n}, out F32 {m, n}.
    void matmul(Tensor& out, const Tensor& w, const Tensor& x) {
        matmul(static_cast<float*>(out.data), w.data, w.type, static_cast<const float*>(x.data), x.n_rows(),
               w.dims[0], w.dims[1]);
    }

    // ---- ops, llm.c style: (outputs, inputs, weights, sizes); see cpu/ops*.h for the semantics ----

    // out (n×m) = x (n×k) · wᵀ, w: m rows of k in type wtype.
    virtual void matmul(float* out, const void* w, int32_t wtype, const float* x, int64_t n, int64_t k,
                        int64_t m) = 0;
    // Several products that read the same x {k, n}: parts[i].out (n×m_i) = x · parts[i].wᵀ.
    // A backend may run them as one job (the CPU does in decode); by default one matmul each.
    // precision: cpu::Precision::kFast selects the CPU's integer path for quantized weights;
    // a backend without one (the default here, CUDA) computes every precision exactly.
    virtual void matmul_parts(const cpu::MatmulPart* parts, int n_parts, const float* x, int64_t n, int64_t k,
                              cpu::Precision precision = cpu::Precision::kExact) {
        for (int i = 0; i < n_parts; ++i) matmul(parts[i].out, parts[i].w, parts[i].wtype, x, n, k, parts[i].m);
    }
    // out (n×k) = dy (n×m) · w: the input gradient of a Linear layer (overwrites out).
    virtual void matmul_transposed(float* out, const void* w, int32_t wtype, const float* dy, int64_t n, int64_t k,
                                   int64_t m) = 0;
    // out[r] = row tokens[r] of the embedding table, dequantized.
    virtual void embedding(float* out, const int32_t* tokens, const void* table, int32_t type, int64_t n_rows,
                           int64_t dim, int64_t n_vocab) = 0;
    // dtable[tokens[r]] += alpha·dout[r]: scatter-add into an F32 table's gradient (n_vocab × dim).
    virtual void embedding_backward(float* dtable, const float* dout, const int32_t* tokens, int64_t n_rows,
                                    int64_t dim, float alpha) = 0;
    // out = x / rms(x) · w per row; inv_rms (optional) keeps 1/rms for the backward.
    // ggml_rounding: round 1/rms as ggml's rms_norm does (the fast precision, to match llama.cpp);
    // a backend without a fast precision (CUDA) computes it exactly either way.
    virtual void rmsnorm(float* out, float* inv_rms, const float* x, const float* w, int64_t n_rows, int64_t dim,
                         float eps, bool ggml_rounding = false) = 0;
    // dx += the input gradient of rmsnorm given dout.
    virtual void rmsnorm_backward(float* dx, const float* dout, const float* x, const float* w,
                                  const float* inv_rms, int64_t n_rows, int64_t dim) = 0;
    // dw += alpha·(the weight gradient of rmsnorm given dout).
    virtual void rmsnorm_weight_backward(float* dw, const float* dout, const float* x, const float* inv_rms,
                                         int64_t n_rows, int64_t dim, float alpha) = 0;
    // cs = cos/sin of RoPE per row position.
    virtual void rope_cache(float* cs, const int64_t* pos, int64_t n_rows, int64_t n_rot, double base,
                            double linear_factor, const float* freq_factors) = 0;
    // Rotates the first n_rot dims of every head of x in place.
    virtual void rope(float* x, const float* cs, int64_t n_rows, int64_t n_heads, int64_t head_dim,
                      int64_t n_rot) = 0;
    // The inverse rotation of dx, in place.
    virtual void rope_backward(float* dx, const float* cs, int64_t n_rows, int64_t n_heads, int64_t head_dim,
                               int64_t n_rot) = 0;
    // out = silu(gate)·up elementwise.
    // fast: the fast precision's vector exponential (cpu::swiglu_forward); a backend without one
    // computes as exact.
    virtual void swiglu(float* out, const float* gate, const float* up, int64_t n, bool fast = false) = 0;
    // dgate, dup (overwritten) from dout.
    virtual void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                                 int64_t n) = 0;
    // x += y.
    virtual void residual(float* x, const float* y, int64_t n) = 0;
    // dy += dx.
    virtual void residual_backward(float* dy, const float* dx, int64_t n) = 0;
    // Causal attention of each row over its sequence's cached keys/values (cpu/ops.h has the layout).
    virtual void attention(float* out, const float* q, const float* k_cache, const float* v_cache,
                           const int32_t* seq, const int64_t* pos, const int64_t* first_pos, int64_t n_rows,
                           int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t seq_stride) = 0;
    // The same over F16 caches (IEEE halves, same layout): the session's default KV cache. A backend
    // without it fails with SL4J_ERR_UNSUPPORTED (sessions then need the F32 cache).
    virtual void attention_f16(float* out, const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
                               const int32_t* seq, const int64_t* pos, const int64_t* first_pos, int64_t n_rows,
                               int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t seq_stride);
    // dq (overwritten), dk_cache and dv_cache (added into) of attention.
    virtual void attention_backward(float* dq, float* dk_cache, float* dv_cache, const float* dout, const float* q,
                                    const float* k_cache, const float* v_cache, const int32_t* seq,
                                    const int64_t* pos, const int64_t* first_pos, int64_t n_rows, int64_t n_seq,
                                    int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t seq_stride) = 0;
    // losses[r] = -log softmax(logits[r])[targets[r]] (0 for kIgnoreIndex); returns the counted rows.
    virtual int64_t crossentropy(float* losses, const float* logits, const int32_t* targets, int64_t n_rows,
                                 int64_t n_vocab) = 0;
    // dlogits = dlosses·(softmax(logits) - onehot(targets)); may alias logits.
    virtual void crossentropy_backward(float* dlogits, const float* logits, const int32_t* targets,
                                       const float* dlosses, int64_t n_rows, int64_t n_vocab) = 0;
    // log softmax(logits)[target] of one row.
    virtual float log_softmax_at(const float* logits, int64_t n, int32_t target) = 0;
    // out[r] = entropy -Σ p log p of p = softmax(logits[r]); 0 where targets[r] is kIgnoreIndex
    // (targets NULL: every row).
    virtual void entropy(float* out, const float* logits, const int32_t* targets, int64_t n_rows, int64_t n_vocab) = 0;
    // out[r] = KL(softmax(logits_p[r]) ‖ softmax(logits_q[r])).
    virtual void kl_div(float* out, const float* logits_p, const float* logits_q, int64_t n_rows, int64_t n_vocab) = 0;
    // xd = inverted dropout of x with the counter-based mask of seed (p > 0).
    virtual void dropout(float* xd, const float* x, float p, uint64_t seed, int64_t n) = 0;
    // dx += the same mask applied to dxd, scaled by 1/(1-p) (p > 0).
    virtual void dropout_backward(float* dx, const float* dxd, float p, uint64_t seed, int64_t n) = 0;
    // y += alpha·x.
    virtual void add_scaled(float* y, const float* x, float alpha, int64_t n) = 0;
    // x *= alpha.
    virtual void scale(float* x, float alpha, int64_t n) = 0;
    // out (P×Q) += alpha·aᵀ·b (a: n×P, b: n×Q): the weight gradient of a Linear layer.
    virtual void outer_accumulate(float* out, const float* a, const float* b, int64_t n, int64_t P, int64_t Q,
                                  float alpha) = 0;

    // ---- ops with defaults that run on host memory; a device backend overrides them ----

    // dst[offsets[r] + j] = src[r·row_len + j]: rows written into a KV cache at their positions.
    virtual void copy_rows(float* dst, const int64_t* offsets, const float* src, int64_t n_rows, int64_t row_len);
    // The same into an F16 cache: dst[offsets[r] + j] = f16(src[r·row_len + j]), rounded to nearest even.
    virtual void copy_rows_f16(uint16_t* dst, const int64_t* offsets, const float* src, int64_t n_rows,
                               int64_t row_len);
    // Greedy choice per row, on the device: tokens[r] = argmax of logits row r (ties: the lower id),
    // logprobs[r] = log softmax of the row at it. Outputs in backend memory.
    virtual void argmax_logprob(int32_t* tokens, float* logprobs, const float* logits, int64_t n_rows,
                                int64_t n_vocab);
    // Token picks on the device (the rules: core/sample_math.h): pick r draws from logits row
    // params[r].row (n_vocab wide) with params[r]'s controls and draw and its adjustments in
    // adjust; tokens[r] = the pick (or kSampleAllExcluded / kSampleNoFiniteLogit), logprobs[r] =
    // log softmax of the raw row at it. params, adjust, scratch (sample_scratch_bytes) and the
    // outputs in backend memory. The host-memory default runs cpu::sample_row pick by pick.
    virtual void sample_rows(int32_t* tokens, float* logprobs, const float* logits, const SampleRowParams* params,
                             const SampleAdjust* adjust, void* scratch, int64_t n_rows, int64_t n_vocab);
    // Bytes of scratch sample_rows needs for n_rows picks over n_vocab (the default: one row's
    // controlled logits and candidate ids).
    virtual int64_t sample_scratch_bytes(int64_t n_rows, int64_t n_vocab) const;
    // dst = src, n_bytes of backend memory (non-overlapping).
    virtual void copy(void* dst, const void* src, int64_t n_bytes);

    // One AdamW update of n parameters with the step's scalars (core/kernel_math.h: adamw_elem).
    virtual void adamw(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& step);
    // Σ x² over n values, accumulated in double (gradient-norm clipping scales with `scale`).
    virtual double sum_squares(const float* x, int64_t n);
    // dst = n_bytes of zeros in backend memory (a gradient reset, a fresh buffer).
    virtual void fill_zero(void* dst, int64_t n_bytes);
};

// One allocation of a backend, released when the buffer goes (move-only). Empty by default.
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    DeviceBuffer(Backend& be, int64_t n_bytes) : be_(&be), p_(be.alloc(n_bytes)), bytes_(n_bytes) {}
    ~DeviceBuffer() { reset(); }
    DeviceBuffer(DeviceBuffer&& o) noexcept : be_(o.be_), p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr, o.bytes_ = 0; }
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
        if (this != &o) {
            reset();
            be_ = o.be_, p_ = o.p_, bytes_ = o.bytes_;
            o.p_ = nullptr, o.bytes_ = 0;
        }
        return *this;
    }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;

    void reset() {
        if (p_ != nullptr) be_->release(p_);
        p_ = nullptr, bytes_ = 0;
    }
    // Holds at least n_bytes afterwards (contents lost when it grows).
    void ensure(Backend& be, int64_t n_bytes) {
        if (p_ != nullptr && be_ == &be && bytes_ >= n_bytes) return;
        reset();
        *this = DeviceBuffer(be, n_bytes);
    }
    void* data() const { return p_; }
    float* f() const { return static_cast<float*>(p_); }
    template <typename T>
    T* as() const { return static_cast<T*>(p_); }
    int64_t bytes() const { return bytes_; }
    Backend* backend() const { return be_; }

private:
    Backend* be_ = nullptr;
    void* p_ = nullptr;
    int64_t bytes_ = 0;
};

// Target of a row that does not count in the loss (PyTorch's ignore_index).
constexpr int32_t kIgnoreIndex = -100;

std::unique_ptr<Backend> make_cpu_backend();
// One CPU backend for the whole process: where host-memory state (a LoRA adapter made without a
// backend) lives. Never released.
Backend& host_backend();

// Bytes and calls of upload() and download() through a device-sim backend.
struct TransferCounts {
    int64_t uploads = 0, upload_bytes = 0, downloads = 0, download_bytes = 0;
};
// The CPU kernels behind a device's memory discipline: host_memory() is false, so the engine
// keeps every buffer in this backend's own allocations and moves data only through upload() and
// download(), which it counts into *counts (kept by the caller, outliving the backend). Ops that
// read values on the host (embedding's ids, crossentropy's targets, log_softmax_at, sum_squares)
// count the download a GPU makes for them.
std::unique_ptr<Backend> make_device_sim_backend(TransferCounts* counts);
// The CUDA backend, from the plugin libstackllama4j_cuda.so (backend/cuda_plugin.h). Throws
// SL4J_ERR_UNSUPPORTED when CUDA was not compiled in or the plugin is missing, SL4J_ERR_BACKEND when
// the CUDA runtime, the driver or the device cannot be used; the message says which.
std::unique_ptr<Backend> make_cuda_backend(int device_index);

// Settings of the CUDA backend.
struct CudaBackendOptions {
    // Products with more than 8 activation rows (prefill, training) in F32 FMA instead of BF16
    // tensor cores with F32 accumulation: reference accuracy at a fraction of the speed.
    bool f32_gemm = false;
};
std::unique_ptr<Backend> make_cuda_backend(int device_index, const CudaBackendOptions& options);
// Usable CUDA devices; 0 without CUDA, plugin, runtime, driver or GPU. Never throws.
int cuda_device_count();

// The backend of an enum sl4j_device: CPU; CUDA (fails with SL4J_ERR_BACKEND saying why when
// there is no usable GPU); AUTO, CUDA when a usable GPU is present, else the CPU. For AUTO,
// *notice gets one line naming the device picked (notice may be NULL).
std::unique_ptr<Backend> choose_backend(int32_t device, int cuda_device, std::string* notice);

}  // namespace sl4j
