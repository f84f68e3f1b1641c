// Row and elementwise ops on the GPU: RMSNorm (and its weight gradient), the embedding gradient, RoPE, SwiGLU, residual/scaled adds, dropout,
// cross-entropy and log-probs (reduced on the device: no vocabulary row reaches the host), AdamW
// and the sum of squares behind gradient-norm clipping. Formulas: core/kernel_math.h.
#include "backend/backend.h"
#include "cuda/common.cuh"
#include "cuda/kernels.h"
#include "quant/fp16.h"

namespace sl4j::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void rmsnorm_forward_kernel(float* out, float* inv_rms, const float* x, const float* w, int64_t dim,
                                       float eps) {
    __shared__ double scratch[kWarp];
    const float* xr = x + int64_t(blockIdx.x) * dim;
    double ss = 0;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) ss += double(xr[i]) * xr[i];
    ss = block_sum(ss, scratch);
    const float s = rmsnorm_inv_rms(ss, dim, eps);
    if (inv_rms != nullptr && threadIdx.x == 0) inv_rms[blockIdx.x] = s;
    float* o = out + int64_t(blockIdx.x) * dim;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) o[i] = rmsnorm_elem(xr[i], s, w[i]);
}

__global__ void rmsnorm_backward_kernel(float* dx, const float* dout, const float* x, const float* w,
                                        const float* inv_rms, int64_t dim) {
    __shared__ double scratch[kWarp];
    const int64_t off = int64_t(blockIdx.x) * dim;
    const float *xr = x + off, *g = dout + off;
    double dot = 0;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) dot += double(g[i]) * w[i] * xr[i];
    dot = block_sum(dot, scratch);
    const double s = inv_rms[blockIdx.x];
    const double c = rmsnorm_backward_coef(dot, s, dim);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) dx[off + i] += rmsnorm_backward_elem(g[i], w[i], xr[i], s, c);
}

// One thread per column i, rows in order: the CPU's summation order, so the sum (in double) is
// deterministic and needs no atomics; reads of a row are coalesced across the threads.
__global__ void rmsnorm_weight_backward_kernel(float* dw, const float* dout, const float* x, const float* inv_rms,
                                               int64_t n_rows, int64_t dim, float alpha) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= dim) return;
    double s = 0;
    for (int64_t r = 0; r < n_rows; ++r) s += rmsnorm_weight_grad_term(dout[r * dim + i], x[r * dim + i], inv_rms[r]);
    dw[i] += float(alpha * s);
}

// Scatter-add without atomics: one thread per column i walks the rows in order, so rows naming
// the same token add into its table row in the CPU's order (deterministic, run to run).
__global__ void embedding_backward_kernel(float* dtable, const float* dout, const int32_t* tokens, int64_t n_rows,
                                          int64_t dim, float alpha) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= dim) return;
    for (int64_t r = 0; r < n_rows; ++r) {
        float* d = dtable + int64_t(tokens[r]) * dim + i;
        *d = embedding_grad_elem(*d, dout[r * dim + i], alpha);
    }
}

__global__ void rope_cache_kernel(float* cs, const int64_t* pos, int64_t n_rows, int64_t n_rot, double base,
                                  double linear_factor, const float* freq_factors) {
    const int64_t half = n_rot / 2;
    const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= n_rows * half) return;
    const int64_t r = idx / half, i = idx % half;
    const double theta = rope_theta(pos[r], i, n_rot, base, linear_factor, freq_factors ? freq_factors[i] : 1.f);
    cs[r * n_rot + 2 * i] = float(cos(theta));
    cs[r * n_rot + 2 * i + 1] = float(sin(theta));
}

__global__ void rope_kernel(float* x, const float* cs, int64_t n_rows, int64_t n_heads, int64_t head_dim,
                            int64_t n_rot, float sin_sign) {
    const int64_t half = n_rot / 2;
    const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= n_rows * n_heads * half) return;
    const int64_t i = idx % half, rh = idx / half, r = rh / n_heads;
    float* v = x + rh * head_dim + 2 * i;
    const float* c = cs + r * n_rot + 2 * i;
    rope_rotate_pair(v, v + 1, c[0], sin_sign * c[1]);
}

__global__ void swiglu_kernel(float* out, const float* gate, const float* up, int64_t n) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) out[i] = swiglu_elem(gate[i], up[i]);
}

__global__ void swiglu_backward_kernel(float* dgate, float* dup, const float* dout, const float* gate,
                                       const float* up, int64_t n) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) swiglu_backward_elem(dout[i], gate[i], up[i], dgate + i, dup + i);
}

__global__ void add_scaled_kernel(float* y, const float* x, float alpha, int64_t n) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) y[i] += alpha == 1.f ? x[i] : alpha * x[i];
}

__global__ void copy_rows_kernel(float* dst, const int64_t* offsets, const float* src, int64_t n_rows,
                                 int64_t row_len) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n_rows * row_len) dst[offsets[i / row_len] + i % row_len] = src[i];
}

__global__ void copy_rows_f16_kernel(uint16_t* dst, const int64_t* offsets, const float* src, int64_t n_rows,
                                     int64_t row_len) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n_rows * row_len) dst[offsets[i / row_len] + i % row_len] = f32_to_half(src[i]);
}

__global__ void scale_kernel(float* x, float alpha, int64_t n) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) x[i] *= alpha;
}

__global__ void dropout_kernel(float* xd, const float* x, float keep_scale, uint64_t threshold, uint64_t seed,
                               int64_t n) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) xd[i] = dropout_kept(threshold, seed, i) ? x[i] * keep_scale : 0.f;
}

__global__ void dropout_backward_kernel(float* dx, const float* dxd, float keep_scale, uint64_t threshold,
                                        uint64_t seed, int64_t n) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n && dropout_kept(threshold, seed, i)) dx[i] += dxd[i] * keep_scale;
}

__global__ void crossentropy_kernel(float* losses, const float* logits, const int32_t* targets, int64_t n_vocab) {
    const int32_t t = targets[blockIdx.x];
    if (t == kIgnoreIndex) {
        if (threadIdx.x == 0) losses[blockIdx.x] = 0.f;
        return;
    }
    const float* l = logits + int64_t(blockIdx.x) * n_vocab;
    float mx;
    double sum;
    row_max_and_exp_sum(l, n_vocab, &mx, &sum);
    if (threadIdx.x == 0) losses[blockIdx.x] = crossentropy_loss(sum, mx, l[t]);
}

__global__ void crossentropy_backward_kernel(float* dlogits, const float* logits, const int32_t* targets,
                                             const float* dlosses, int64_t n_vocab) {
    const int64_t off = int64_t(blockIdx.x) * n_vocab;
    const int32_t t = targets[blockIdx.x];
    float* d = dlogits + off;
    if (t == kIgnoreIndex) {
        for (int64_t i = threadIdx.x; i < n_vocab; i += blockDim.x) d[i] = 0.f;
        return;
    }
    const float* l = logits + off;
    float mx;
    double sum;
    row_max_and_exp_sum(l, n_vocab, &mx, &sum);
    __syncthreads();  // every thread has read the row before an aliased dlogits overwrites it
    const float inv = float(1.0 / sum), g = dlosses[blockIdx.x];
    for (int64_t i = threadIdx.x; i < n_vocab; i += blockDim.x) {
        const float v = g * expf(l[i] - mx) * inv;
        d[i] = i == t ? v - g : v;
    }
}

// log softmax(l)[target] = -(cross-entropy of the row at target), from the same reductions.
__global__ void log_softmax_at_kernel(float* out, const float* l, int64_t n, int32_t target) {
    float mx;
    double sum;
    row_max_and_exp_sum(l, n, &mx, &sum);
    if (threadIdx.x == 0) out[0] = -crossentropy_loss(sum, mx, l[target]);
}

// One block per row: the first maximum (a tree over (value, index) pairs, ties to the lower
// index), then log softmax at it from the same reductions as log_softmax_at.
__global__ void argmax_logprob_kernel(int32_t* tokens, float* logprobs, const float* logits, int64_t n_vocab) {
    __shared__ float sv[kThreads];
    __shared__ int64_t si[kThreads];
    const float* l = logits + int64_t(blockIdx.x) * n_vocab;
    float best = -INFINITY;
    int64_t bi = n_vocab;
    for (int64_t i = threadIdx.x; i < n_vocab; i += blockDim.x)
        if (l[i] > best || (bi == n_vocab && l[i] == best)) best = l[i], bi = i;
    const int64_t top = block_argmax(best, bi, sv, si);
    const int64_t pick = top < n_vocab ? top : 0;
    float mx;
    double sum;
    row_max_and_exp_sum(l, n_vocab, &mx, &sum);
    if (threadIdx.x == 0) {
        tokens[blockIdx.x] = int32_t(pick);
        logprobs[blockIdx.x] = -crossentropy_loss(sum, mx, l[pick]);
    }
}

// Entropy of a row (formulas: core/kernel_math.h): the max, then Σ e and Σ e·d in double.
__global__ void entropy_kernel(float* out, const float* logits, const int32_t* targets, int64_t n_vocab) {
    __shared__ float fscratch[kWarp];
    __shared__ double s1[kWarp], s2[kWarp];
    if (targets != nullptr && targets[blockIdx.x] == kIgnoreIndex) {
        if (threadIdx.x == 0) out[blockIdx.x] = 0.f;
        return;
    }
    const float* l = logits + int64_t(blockIdx.x) * n_vocab;
    float mx = -INFINITY;
    for (int64_t i = threadIdx.x; i < n_vocab; i += blockDim.x) mx = fmaxf(mx, l[i]);
    mx = block_max(mx, fscratch);
    double sum = 0, weighted = 0;
    for (int64_t i = threadIdx.x; i < n_vocab; i += blockDim.x) {
        const float d = l[i] - mx, e = expf(d);
        sum += e;
        weighted += entropy_term(e, d);
    }
    sum = block_sum(sum, s1);
    weighted = block_sum(weighted, s2);
    if (threadIdx.x == 0) out[blockIdx.x] = softmax_entropy(sum, weighted);
}

// KL(softmax(a) ‖ softmax(b)) of a row pair: both maxes, then Σ ea, Σ eb and Σ ea·(da - db) in double.
__global__ void kl_kernel(float* out, const float* logits_p, const float* logits_q, int64_t n_vocab) {
    __shared__ float fa[kWarp], fb[kWarp];
    __shared__ double s1[kWarp], s2[kWarp], s3[kWarp];
    const float* a = logits_p + int64_t(blockIdx.x) * n_vocab;
    const float* b = logits_q + int64_t(blockIdx.x) * n_vocab;
    float ma = -INFINITY, mb = -INFINITY;
    for (int64_t i = threadIdx.x; i < n_vocab; i += blockDim.x) {
        ma = fmaxf(ma, a[i]);
        mb = fmaxf(mb, b[i]);
    }
    ma = block_max(ma, fa);
    mb = block_max(mb, fb);
    double sa = 0, sb = 0, u = 0;
    for (int64_t i = threadIdx.x; i < n_vocab; i += blockDim.x) {
        const float da = a[i] - ma, db = b[i] - mb, ea = expf(da);
        sa += ea;
        sb += expf(db);
        u += kl_term(ea, da, db);
    }
    sa = block_sum(sa, s1);
    sb = block_sum(sb, s2);
    u = block_sum(u, s3);
    if (threadIdx.x == 0) out[blockIdx.x] = softmax_kl(sa, sb, u);
}

__global__ void adamw_kernel(float* p, const float* g, float* m, float* v, int64_t n, AdamWStep s) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) adamw_elem(p + i, g[i], m + i, v + i, s);
}

__global__ void sum_squares_kernel(double* out, const float* x, int64_t n) {
    __shared__ double scratch[kWarp];
    double ss = 0;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        ss += double(x[i]) * x[i];
    ss = block_sum(ss, scratch);
    if (threadIdx.x == 0) atomicAdd(out, ss);
}

}  // namespace

void rmsnorm_forward(float* out, float* inv_rms, const float* x, const float* w, int64_t n_rows, int64_t dim,
                     float eps) {
    if (n_rows == 0) return;
    rmsnorm_forward_kernel<<<unsigned(n_rows), kThreads>>>(out, inv_rms, x, w, dim, eps);
    check_launch("rmsnorm");
}

void rmsnorm_backward(float* dx, const float* dout, const float* x, const float* w, const float* inv_rms,
                      int64_t n_rows, int64_t dim) {
    if (n_rows == 0) return;
    rmsnorm_backward_kernel<<<unsigned(n_rows), kThreads>>>(dx, dout, x, w, inv_rms, dim);
    check_launch("rmsnorm_backward");
}

void rmsnorm_weight_backward(float* dw, const float* dout, const float* x, const float* inv_rms, int64_t n_rows,
                             int64_t dim, float alpha) {
    if (dim == 0) return;
    rmsnorm_weight_backward_kernel<<<blocks_for(dim, kThreads), kThreads>>>(dw, dout, x, inv_rms, n_rows, dim, alpha);
    check_launch("rmsnorm_weight_backward");
}

void embedding_backward(float* dtable, const float* dout, const int32_t* tokens, int64_t n_rows, int64_t dim,
                        float alpha) {
    if (dim == 0 || n_rows == 0) return;
    embedding_backward_kernel<<<blocks_for(dim, kThreads), kThreads>>>(dtable, dout, tokens, n_rows, dim, alpha);
    check_launch("embedding_backward");
}

void rope_cache(float* cs, const int64_t* pos, int64_t n_rows, int64_t n_rot, double base, double linear_factor,
                const float* freq_factors) {
    const int64_t work = n_rows * (n_rot / 2);
    if (work == 0) return;
    rope_cache_kernel<<<blocks_for(work, kThreads), kThreads>>>(cs, pos, n_rows, n_rot, base, linear_factor,
                                                                 freq_factors);
    check_launch("rope_cache");
}

void rope_rotate(float* x, const float* cs, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t n_rot,
                 float sin_sign) {
    const int64_t work = n_rows * n_heads * (n_rot / 2);
    if (work == 0) return;
    rope_kernel<<<blocks_for(work, kThreads), kThreads>>>(x, cs, n_rows, n_heads, head_dim, n_rot, sin_sign);
    check_launch("rope");
}

#define SL4J_ELEMENTWISE(n, kernel, ...)                                            \
    do {                                                                            \
        if ((n) == 0) return;                                                       \
        kernel<<<blocks_for((n), kThreads), kThreads>>>(__VA_ARGS__);               \
        check_launch(#kernel);                                                      \
    } while (0)

void swiglu_forward(float* out, const float* gate, const float* up, int64_t n) {
    SL4J_ELEMENTWISE(n, swiglu_kernel, out, gate, up, n);
}
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) {
    SL4J_ELEMENTWISE(n, swiglu_backward_kernel, dgate, dup, dout, gate, up, n);
}
void add_scaled(float* y, const float* x, float alpha, int64_t n) { SL4J_ELEMENTWISE(n, add_scaled_kernel, y, x, alpha, n); }
void copy_rows(float* dst, const int64_t* offsets, const float* src, int64_t n_rows, int64_t row_len) {
    SL4J_ELEMENTWISE(n_rows * row_len, copy_rows_kernel, dst, offsets, src, n_rows, row_len);
}
void copy_rows_f16(uint16_t* dst, const int64_t* offsets, const float* src, int64_t n_rows, int64_t row_len) {
    SL4J_ELEMENTWISE(n_rows * row_len, copy_rows_f16_kernel, dst, offsets, src, n_rows, row_len);
}
void scale(float* x, float alpha, int64_t n) { SL4J_ELEMENTWISE(n, scale_kernel, x, alpha, n); }
void dropout_forward(float* xd, const float* x, float p, uint64_t seed, int64_t n) {
    SL4J_ELEMENTWISE(n, dropout_kernel, xd, x, 1.f / (1.f - p), dropout_keep_threshold(p), seed, n);
}
void dropout_backward(float* dx, const float* dxd, float p, uint64_t seed, int64_t n) {
    SL4J_ELEMENTWISE(n, dropout_backward_kernel, dx, dxd, 1.f / (1.f - p), dropout_keep_threshold(p), seed, n);
}
void adamw(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& s) {
    SL4J_ELEMENTWISE(n, adamw_kernel, p, g, m, v, n, s);
}

void crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int64_t n_rows,
                          int64_t n_vocab) {
    if (n_rows == 0) return;
    crossentropy_kernel<<<unsigned(n_rows), kThreads>>>(losses, logits, targets, n_vocab);
    check_launch("crossentropy");
}

void crossentropy_backward(float* dlogits, const float* logits, const int32_t* targets, const float* dlosses,
                           int64_t n_rows, int64_t n_vocab) {
    if (n_rows == 0) return;
    crossentropy_backward_kernel<<<unsigned(n_rows), kThreads>>>(dlogits, logits, targets, dlosses, n_vocab);
    check_launch("crossentropy_backward");
}

void log_softmax_at(float* out, const float* logits, int64_t n, int32_t target) {
    log_softmax_at_kernel<<<1, 1024>>>(out, logits, n, target);
    check_launch("log_softmax_at");
}

void argmax_logprob(int32_t* tokens, float* logprobs, const float* logits, int64_t n_rows, int64_t n_vocab) {
    if (n_rows == 0) return;
    argmax_logprob_kernel<<<unsigned(n_rows), kThreads>>>(tokens, logprobs, logits, n_vocab);
    check_launch("argmax_logprob");
}

void entropy(float* out, const float* logits, const int32_t* targets, int64_t n_rows, int64_t n_vocab) {
    if (n_rows == 0) return;
    entropy_kernel<<<unsigned(n_rows), kThreads>>>(out, logits, targets, n_vocab);
    check_launch("entropy");
}

void kl_div(float* out, const float* logits_p, const float* logits_q, int64_t n_rows, int64_t n_vocab) {
    if (n_rows == 0) return;
    kl_kernel<<<unsigned(n_rows), kThreads>>>(out, logits_p, logits_q, n_vocab);
    check_launch("kl_div");
}

void sum_squares(double* out, const float* x, int64_t n) {
    check(cudaMemsetAsync(out, 0, sizeof(double)), "memset (sum_squares)");
    if (n == 0) return;
    const unsigned blocks = unsigned(std::min<int64_t>(1024, (n + kThreads - 1) / kThreads));
    sum_squares_kernel<<<blocks, kThreads>>>(out, x, n);
    check_launch("sum_squares");
}

}  // namespace sl4j::cuda
