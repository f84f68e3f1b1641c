// Causal attention with GQA and document masks, flash-style: one warp per (row, head) streams
// that row's visible keys [first_pos, pos] in blocks of 32 (one key per lane), keeps the online
// softmax state (core/kernel_math.h) and the output accumulator in registers, and never writes
// the score matrix. The backward recomputes the probabilities from (max, sum) and adds dk/dv
// with atomics (rows that share a key add into it in any order: results agree with the CPU to
// rounding, not bits). The forward reads F32 or F16 caches (keys and values decoded as they are
// read, with the CPU's decoder, quant/fp16.h).
#include "cuda/common.cuh"
#include "cuda/kernels.h"
#include "quant/fp16.h"

namespace sl4j::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int kDimsPerLane = int(kMaxHeadDim / kWarp);

struct AttnShape {
    const int32_t* seq;
    const int64_t* pos;
    const int64_t* first_pos;
    int64_t n_rows, n_heads, n_kv_heads, head_dim, seq_stride;
    float scale;
};

// A cached key or value element as F32.
__device__ inline float kv_load(const float* p) { return *p; }
__device__ inline float kv_load(const uint16_t* p) { return half_to_f32(*p); }

// Scaled score of this lane's key j against the query in shared memory (-inf past hi).
template <typename T>
__device__ inline float lane_score(const float* qs, const T* kbase, int64_t kv_dim, int64_t j, int64_t hi,
                                   int64_t head_dim, float scale) {
    if (j > hi) return -INFINITY;
    const T* kr = kbase + j * kv_dim;
    float dot = 0.f;
    for (int64_t d = 0; d < head_dim; ++d) dot += qs[d] * kv_load(kr + d);
    return dot * scale;
}

__device__ inline float lane_dot(const float* a, const float* b, int64_t n) {
    float dot = 0.f;
    for (int64_t d = 0; d < n; ++d) dot += a[d] * b[d];
    return dot;
}

template <typename T>
__global__ void attention_forward_kernel(float* out, const float* q, const T* k_cache, const T* v_cache, AttnShape s) {
    __shared__ float q_sh[kWarpsPerBlock][kMaxHeadDim];
    const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
    const int64_t task = int64_t(blockIdx.x) * kWarpsPerBlock + warp;
    if (task >= s.n_rows * s.n_heads) return;  // whole warps leave; no block-wide barrier follows
    const int64_t r = task / s.n_heads, h = task % s.n_heads;
    const int64_t kv_dim = s.n_kv_heads * s.head_dim, group = s.n_heads / s.n_kv_heads;
    const int64_t lo = s.first_pos ? s.first_pos[r] : 0, hi = s.pos[r];
    const T* kbase = k_cache + s.seq[r] * s.seq_stride + (h / group) * s.head_dim;
    const T* vbase = v_cache + s.seq[r] * s.seq_stride + (h / group) * s.head_dim;
    float* qs = q_sh[warp];
    for (int64_t d = lane; d < s.head_dim; d += kWarp) qs[d] = q[task * s.head_dim + d];
    __syncwarp();
    float m = -INFINITY, l = 0.f, acc[kDimsPerLane];
#pragma unroll
    for (int t = 0; t < kDimsPerLane; ++t) acc[t] = 0.f;
    for (int64_t j0 = lo; j0 <= hi; j0 += kWarp) {
        const float sc = lane_score(qs, kbase, kv_dim, j0 + lane, hi, s.head_dim, s.scale);
        const float a = online_softmax_rescale(&m, &l, warp_max(sc));
        const float p = sc == -INFINITY ? 0.f : expf(sc - m);
        l += warp_sum(p);
        const int count = int(hi - j0 + 1 < kWarp ? hi - j0 + 1 : kWarp);
#pragma unroll
        for (int t = 0; t < kDimsPerLane; ++t) acc[t] *= a;
        for (int jj = 0; jj < count; ++jj) {
            const float pj = __shfl_sync(0xffffffffu, p, jj);
            const T* vr = vbase + (j0 + jj) * kv_dim;
#pragma unroll
            for (int t = 0; t < kDimsPerLane; ++t) {
                const int64_t d = lane + t * kWarp;
                if (d < s.head_dim) acc[t] += pj * kv_load(vr + d);
            }
        }
    }
    const float inv = 1.f / l;
#pragma unroll
    for (int t = 0; t < kDimsPerLane; ++t) {
        const int64_t d = lane + t * kWarp;
        if (d < s.head_dim) out[task * s.head_dim + d] = acc[t] * inv;
    }
}

__global__ void attention_backward_kernel(float* dq, float* dk_cache, float* dv_cache, const float* dout,
                                          const float* q, const float* k_cache, const float* v_cache, AttnShape s) {
    __shared__ float q_sh[kWarpsPerBlock][kMaxHeadDim];
    __shared__ float g_sh[kWarpsPerBlock][kMaxHeadDim];
    const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
    const int64_t task = int64_t(blockIdx.x) * kWarpsPerBlock + warp;
    if (task >= s.n_rows * s.n_heads) return;
    const int64_t r = task / s.n_heads, h = task % s.n_heads;
    const int64_t kv_dim = s.n_kv_heads * s.head_dim, group = s.n_heads / s.n_kv_heads;
    const int64_t lo = s.first_pos ? s.first_pos[r] : 0, hi = s.pos[r];
    const int64_t base = s.seq[r] * s.seq_stride + (h / group) * s.head_dim;
    const float *kbase = k_cache + base, *vbase = v_cache + base;
    float *dkbase = dk_cache + base, *dvbase = dv_cache + base;
    float *qs = q_sh[warp], *gs = g_sh[warp];
    for (int64_t d = lane; d < s.head_dim; d += kWarp) {
        qs[d] = q[task * s.head_dim + d];
        gs[d] = dout[task * s.head_dim + d];
    }
    __syncwarp();
    // Pass 1: the softmax's max and sum.
    float m = -INFINITY, l = 0.f;
    for (int64_t j0 = lo; j0 <= hi; j0 += kWarp) {
        const float sc = lane_score(qs, kbase, kv_dim, j0 + lane, hi, s.head_dim, s.scale);
        online_softmax_rescale(&m, &l, warp_max(sc));
        l += warp_sum(sc == -INFINITY ? 0.f : expf(sc - m));
    }
    const float inv_l = 1.f / l;
    // Pass 2: Σ_j p_j·dp_j with dp_j = g·v_j.
    float pdp = 0.f;
    for (int64_t j0 = lo; j0 <= hi; j0 += kWarp) {
        const int64_t j = j0 + lane;
        const float sc = lane_score(qs, kbase, kv_dim, j, hi, s.head_dim, s.scale);
        const float p = sc == -INFINITY ? 0.f : expf(sc - m) * inv_l;
        const float dp = j <= hi ? lane_dot(gs, vbase + j * kv_dim, s.head_dim) : 0.f;
        pdp += warp_sum(p * dp);
    }
    // Pass 3: ds_j = p_j·(dp_j - pdp)·scale; dq += ds_j·k_j; dk_j += ds_j·q; dv_j += p_j·g.
    float dqa[kDimsPerLane];
#pragma unroll
    for (int t = 0; t < kDimsPerLane; ++t) dqa[t] = 0.f;
    for (int64_t j0 = lo; j0 <= hi; j0 += kWarp) {
        const int64_t j = j0 + lane;
        const float sc = lane_score(qs, kbase, kv_dim, j, hi, s.head_dim, s.scale);
        const float p = sc == -INFINITY ? 0.f : expf(sc - m) * inv_l;
        const float dp = j <= hi ? lane_dot(gs, vbase + j * kv_dim, s.head_dim) : 0.f;
        const float ds = p * (dp - pdp) * s.scale;
        const int count = int(hi - j0 + 1 < kWarp ? hi - j0 + 1 : kWarp);
        for (int jj = 0; jj < count; ++jj) {
            const float dsj = __shfl_sync(0xffffffffu, ds, jj), pj = __shfl_sync(0xffffffffu, p, jj);
            const int64_t off = (j0 + jj) * kv_dim;
#pragma unroll
            for (int t = 0; t < kDimsPerLane; ++t) {
                const int64_t d = lane + t * kWarp;
                if (d < s.head_dim) {
                    dqa[t] += dsj * kbase[off + d];
                    atomicAdd(dkbase + off + d, dsj * qs[d]);
                    atomicAdd(dvbase + off + d, pj * gs[d]);
                }
            }
        }
    }
#pragma unroll
    for (int t = 0; t < kDimsPerLane; ++t) {
        const int64_t d = lane + t * kWarp;
        if (d < s.head_dim) dq[task * s.head_dim + d] = dqa[t];
    }
}

AttnShape shape(const int32_t* seq, const int64_t* pos, const int64_t* first_pos, int64_t n_rows, int64_t n_heads,
                int64_t n_kv_heads, int64_t head_dim, int64_t seq_stride) {
    SL4J_CHECK_ARG(head_dim > 0 && head_dim <= kMaxHeadDim, "CUDA attention supports head_dim up to %lld, got %lld",
                   (long long)kMaxHeadDim, (long long)head_dim);
    SL4J_CHECK_ARG(n_kv_heads > 0 && n_heads % n_kv_heads == 0, "attention: %lld heads do not split into %lld kv heads",
                   (long long)n_heads, (long long)n_kv_heads);
    return AttnShape{seq, pos, first_pos, n_rows, n_heads, n_kv_heads, head_dim, seq_stride,
                     float(1.0 / std::sqrt(double(head_dim)))};
}

template <typename T>
void attention_forward_any(float* out, const float* q, const T* k_cache, const T* v_cache, const int32_t* seq,
                           const int64_t* pos, const int64_t* first_pos, int64_t n_rows, int64_t n_heads,
                           int64_t n_kv_heads, int64_t head_dim, int64_t seq_stride) {
    const AttnShape s = shape(seq, pos, first_pos, n_rows, n_heads, n_kv_heads, head_dim, seq_stride);
    if (n_rows * n_heads == 0) return;
    attention_forward_kernel<T><<<blocks_for(n_rows * n_heads, kWarpsPerBlock), kWarpsPerBlock * kWarp>>>(
        out, q, k_cache, v_cache, s);
    check_launch("attention");
}

}  // namespace

void attention_forward(float* out, const float* q, const float* k_cache, const float* v_cache, const int32_t* seq,
                       const int64_t* pos, const int64_t* first_pos, int64_t n_rows, int64_t n_heads,
                       int64_t n_kv_heads, int64_t head_dim, int64_t seq_stride) {
    attention_forward_any(out, q, k_cache, v_cache, seq, pos, first_pos, n_rows, n_heads, n_kv_heads, head_dim,
                          seq_stride);
}

void attention_forward_f16(float* out, const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
                           const int32_t* seq, const int64_t* pos, const int64_t* first_pos, int64_t n_rows,
                           int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t seq_stride) {
    attention_forward_any(out, q, k_cache, v_cache, seq, pos, first_pos, n_rows, n_heads, n_kv_heads, head_dim,
                          seq_stride);
}

void attention_backward(float* dq, float* dk_cache, float* dv_cache, const float* dout, const float* q,
                        const float* k_cache, const float* v_cache, const int32_t* seq, const int64_t* pos,
                        const int64_t* first_pos, int64_t n_rows, int64_t n_heads, int64_t n_kv_heads,
                        int64_t head_dim, int64_t seq_stride) {
    const AttnShape s = shape(seq, pos, first_pos, n_rows, n_heads, n_kv_heads, head_dim, seq_stride);
    if (n_rows * n_heads == 0) return;
    attention_backward_kernel<<<blocks_for(n_rows * n_heads, kWarpsPerBlock), kWarpsPerBlock * kWarp>>>(
        dq, dk_cache, dv_cache, dout, q, k_cache, v_cache, s);
    check_launch("attention_backward");
}

}  // namespace sl4j::cuda
