// Shared pieces of the CUDA kernels: error checks, launch sizes, warp/block reductions and the
// weight-type dispatch. Every kernel runs on the legacy default stream of the current device, so
// ops are ordered with each other and with cudaMemcpy (downloads synchronise).
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "core/error.h"
#include "stackllama4j.h"

namespace sl4j::cuda {

inline void check(cudaError_t err, const char* what) {
    if (err != cudaSuccess) SL4J_FAIL(SL4J_ERR_BACKEND, "CUDA %s failed: %s", what, cudaGetErrorString(err));
}
// After a launch: configuration errors now, execution errors at the next synchronising call.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

inline unsigned blocks_for(int64_t n, int threads) { return static_cast<unsigned>((n + threads - 1) / threads); }

constexpr int kWarp = 32;

template <typename T>
__device__ inline T warp_sum(T v) {
    for (int o = kWarp / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ inline float warp_max(float v) {
    for (int o = kWarp / 2; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over a block of up to 1024 threads (every thread gets the result). `scratch`: 32 T.
template <typename T>
__device__ inline T block_sum(T v, T* scratch) {
    const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, n_warps = (blockDim.x + kWarp - 1) / kWarp;
    v = warp_sum(v);
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    T t = lane < n_warps ? scratch[lane] : T(0);
    return warp_sum(t);
}
__device__ inline float block_max(float v, float* scratch) {
    const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, n_warps = (blockDim.x + kWarp - 1) / kWarp;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float t = lane < n_warps ? scratch[lane] : -INFINITY;
    return warp_max(t);
}

// Block argmax: each thread offers (v, i); the largest v wins, the lower i on ties (an offer of
// -inf with a sentinel index larger than any real one loses to every real offer). sv, si:
// blockDim entries. Every thread gets the winner's index.
__device__ inline int64_t block_argmax(float v, int64_t i, float* sv, int64_t* si) {
    sv[threadIdx.x] = v;
    si[threadIdx.x] = i;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            const float w = sv[threadIdx.x + s];
            const int64_t j = si[threadIdx.x + s];
            if (w > sv[threadIdx.x] || (w == sv[threadIdx.x] && j < si[threadIdx.x])) sv[threadIdx.x] = w, si[threadIdx.x] = j;
        }
        __syncthreads();
    }
    return si[0];
}

// The max of a row and Σ exp(l - max) (float exponentials summed in double), as the CPU's.
__device__ inline void row_max_and_exp_sum(const float* l, int64_t n, float* mx_out, double* sum_out) {
    __shared__ float fscratch[kWarp];
    __shared__ double dscratch[kWarp];
    float mx = -INFINITY;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) mx = fmaxf(mx, l[i]);
    mx = block_max(mx, fscratch);
    double sum = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) sum += expf(l[i] - mx);
    *sum_out = block_sum(sum, dscratch);
    *mx_out = mx;
}

// Calls f(TypeTag<TYPE>{}) for a supported weight type (TYPE a compile-time constant); throws otherwise.
template <int T>
struct TypeTag {
    static constexpr int value = T;
};
template <typename F>
void dispatch_type(int32_t type, const char* op, F&& f) {
    switch (type) {
        case SL4J_TYPE_F32: f(TypeTag<SL4J_TYPE_F32>{}); return;
        case SL4J_TYPE_F16: f(TypeTag<SL4J_TYPE_F16>{}); return;
        case SL4J_TYPE_BF16: f(TypeTag<SL4J_TYPE_BF16>{}); return;
        case SL4J_TYPE_Q8_0: f(TypeTag<SL4J_TYPE_Q8_0>{}); return;
        case SL4J_TYPE_Q4_0: f(TypeTag<SL4J_TYPE_Q4_0>{}); return;
        case SL4J_TYPE_Q4_K: f(TypeTag<SL4J_TYPE_Q4_K>{}); return;
        case SL4J_TYPE_Q5_K: f(TypeTag<SL4J_TYPE_Q5_K>{}); return;
        case SL4J_TYPE_Q6_K: f(TypeTag<SL4J_TYPE_Q6_K>{}); return;
        default: SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "CUDA %s: weight type %d is not supported", op, type);
    }
}
__host__ __device__ constexpr bool is_float_type(int t) { return t == SL4J_TYPE_F32 || t == SL4J_TYPE_F16 || t == SL4J_TYPE_BF16; }

}  // namespace sl4j::cuda
