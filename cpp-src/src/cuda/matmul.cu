// Matrix products on the GPU with weights in any supported type:
//  - decode (n <= kGemvMaxRows activation rows): one warp per weight row, each lane dequantises
//    whole 32-element groups in registers and dots them with every activation row (F32);
//  - prefill and training: the weight is dequantised once into a scratch matrix (BF16 or F32)
//    and multiplied by a tiled GEMM: BF16 tensor cores (WMMA 16x16x16, F32 accumulation) or,
//    for reference accuracy, F32 FMA. The transposed product (input gradients) and the weight
//    gradients aᵀ·b run through the same tiles with other strides.
#include <cuda_bf16.h>
#include <mma.h>

#include "core/types.h"
#include "cuda/common.cuh"
#include "cuda/kernels.h"
#include "quant/dequant_group.h"

namespace sl4j::cuda {

Scratch::~Scratch() {
    if (p_ != nullptr) cudaFree(p_);
}

void* Scratch::get(size_t n_bytes) {
    if (n_bytes > bytes_) {
        if (p_ != nullptr) check(cudaFree(p_), "cudaFree (scratch)");
        p_ = nullptr;
        bytes_ = 0;
        if (cudaMalloc(&p_, n_bytes) != cudaSuccess) {
            cudaGetLastError();
            SL4J_FAIL(SL4J_ERR_OUT_OF_MEMORY, "GPU out of memory: the matmul scratch needs %zu bytes", n_bytes);
        }
        bytes_ = n_bytes;
    }
    return p_;
}

namespace {

// Element j of a row of a plain float type (F32/F16/BF16 rows need not be whole groups).
template <int TYPE>
__device__ inline float load_elem(const void* row, int64_t j) {
    if constexpr (TYPE == SL4J_TYPE_F32) return static_cast<const float*>(row)[j];
    else if constexpr (TYPE == SL4J_TYPE_F16) return half_to_f32(static_cast<const uint16_t*>(row)[j]);
    else return bf16_bits_to_f32(static_cast<const uint16_t*>(row)[j]);
}

template <typename OutT>
__device__ inline OutT to_out(float v) {
    if constexpr (sizeof(OutT) == 4) return v;
    else return __float2bfloat16_rn(v);
}

// ---- decode GEMV: out[i*m + r] = Σ_j x[i*k + j]·W[r][j], i < n <= kGemvMaxRows ----

constexpr int kGemvWarps = 4;

template <int TYPE>
__global__ void gemv_kernel(float* out, const uint8_t* w, int64_t row_bytes, const float* x, int64_t n, int64_t k,
                            int64_t m) {
    const int lane = threadIdx.x % kWarp;
    const int64_t r = int64_t(blockIdx.x) * kGemvWarps + threadIdx.x / kWarp;
    if (r >= m) return;
    const uint8_t* row = w + r * row_bytes;
    float acc[kGemvMaxRows];
#pragma unroll
    for (int i = 0; i < kGemvMaxRows; ++i) acc[i] = 0.f;
    const int64_t n_groups = k / kGroup;
    for (int64_t g = lane; g < n_groups; g += kWarp) {
        float y[kGroup];
        dequant_group<TYPE>(row, g, y);
#pragma unroll
        for (int i = 0; i < kGemvMaxRows; ++i) {
            if (i >= n) break;
            const float* xi = x + i * k + g * kGroup;  // any alignment: x may be a row inside a buffer
            float s = 0.f;
#pragma unroll
            for (int l = 0; l < kGroup; ++l) s += y[l] * xi[l];
            acc[i] += s;
        }
    }
    if constexpr (is_float_type(TYPE)) {  // the tail of a row that is not whole groups
        for (int64_t j = n_groups * kGroup + lane; j < k; j += kWarp) {
            const float wv = load_elem<TYPE>(row, j);
            for (int i = 0; i < n; ++i) acc[i] += wv * x[i * k + j];
        }
    }
#pragma unroll
    for (int i = 0; i < kGemvMaxRows; ++i) {
        if (i >= n) break;
        const float s = warp_sum(acc[i]);
        if (lane == 0) out[i * m + r] = s;
    }
}

// ---- dequantisation into a scratch matrix (or embedding rows) ----

// dst[r*k + j] = W[ids ? ids[r] : r][j], as OutT. One thread per group (per element for float types).
template <int TYPE, typename OutT>
__global__ void dequant_rows_kernel(OutT* dst, const uint8_t* w, int64_t row_bytes, int64_t k, int64_t n_rows,
                                    const int32_t* ids) {
    const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if constexpr (is_float_type(TYPE)) {
        if (idx >= n_rows * k) return;
        const int64_t r = idx / k, j = idx % k;
        const uint8_t* row = w + (ids ? int64_t(ids[r]) : r) * row_bytes;
        dst[idx] = to_out<OutT>(load_elem<TYPE>(row, j));
    } else {
        const int64_t n_groups = k / kGroup;
        if (idx >= n_rows * n_groups) return;
        const int64_t r = idx / n_groups, g = idx % n_groups;
        const uint8_t* row = w + (ids ? int64_t(ids[r]) : r) * row_bytes;
        float y[kGroup];
        dequant_group<TYPE>(row, g, y);
        OutT* d = dst + r * k + g * kGroup;
#pragma unroll
        for (int l = 0; l < kGroup; ++l) d[l] = to_out<OutT>(y[l]);
    }
}

template <typename OutT>
void dequant_rows(OutT* dst, const void* w, int32_t type, int64_t k, int64_t n_rows, const int32_t* ids,
                  const char* op) {
    const int64_t row_bytes = type_row_bytes(type, k);
    dispatch_type(type, op, [&](auto tag) {
        constexpr int T = decltype(tag)::value;
        const int64_t work = is_float_type(T) ? n_rows * k : n_rows * (k / kGroup);
        if (work == 0) return;
        dequant_rows_kernel<T, OutT><<<blocks_for(work, 256), 256>>>(dst, static_cast<const uint8_t*>(w), row_bytes,
                                                                       k, n_rows, ids);
        check_launch(op);
    });
}

// ---- tiled GEMM: C[i*ldc + j] (+)= alpha·Σ_p A(i, p)·B(p, j), i < M, j < N, p < K ----
// A(i, p) = A[i*a_i + p*a_p] (F32), B(p, j) = B[p*b_p + j*b_j] (BF16 or F32).

struct GemmArgs {
    float* c;
    int64_t ldc;
    const float* a;
    int64_t a_i, a_p;
    const void* b;
    int64_t b_p, b_j;
    int64_t M, N, K;
    float alpha;
    bool accumulate;
};

constexpr int kBM = 64, kBN = 64;

// Tensor cores: 4 warps, each a 32x32 quarter of the 64x64 tile as 2x2 WMMA fragments.
constexpr int kTcBK = 32, kTcPad = 8, kTcThreads = 128;

__global__ void gemm_bf16_kernel(GemmArgs g) {
    using namespace nvcuda;
    __shared__ __align__(32) __nv_bfloat16 As[kBM][kTcBK + kTcPad];  // As[i][p]
    __shared__ __align__(32) __nv_bfloat16 Bs[kBN][kTcBK + kTcPad];  // Bs[j][p]: B column-major
    __shared__ __align__(32) float Cs[kBM][kBN + 4];
    const __nv_bfloat16* B = static_cast<const __nv_bfloat16*>(g.b);
    const int64_t i0 = int64_t(blockIdx.y) * kBM, j0 = int64_t(blockIdx.x) * kBN;
    const int warp = threadIdx.x / kWarp, wm = warp / 2, wn = warp % 2;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
    for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b) wmma::fill_fragment(acc[a][b], 0.f);
    const __nv_bfloat16 zero = __float2bfloat16_rn(0.f);
    for (int64_t p0 = 0; p0 < g.K; p0 += kTcBK) {
        // Consecutive threads walk the operand's unit-stride dimension (coalesced loads).
        for (int e = threadIdx.x; e < kBM * kTcBK; e += kTcThreads) {
            const int ii = g.a_p == 1 ? e / kTcBK : e % kBM, pp = g.a_p == 1 ? e % kTcBK : e / kBM;
            const int64_t i = i0 + ii, p = p0 + pp;
            As[ii][pp] = (i < g.M && p < g.K) ? __float2bfloat16_rn(g.a[i * g.a_i + p * g.a_p]) : zero;
        }
        for (int e = threadIdx.x; e < kBN * kTcBK; e += kTcThreads) {
            const int jj = g.b_p == 1 ? e / kTcBK : e % kBN, pp = g.b_p == 1 ? e % kTcBK : e / kBN;
            const int64_t j = j0 + jj, p = p0 + pp;
            Bs[jj][pp] = (j < g.N && p < g.K) ? B[p * g.b_p + j * g.b_j] : zero;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kTcBK; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb[2];
            for (int a = 0; a < 2; ++a) wmma::load_matrix_sync(fa[a], &As[wm * 32 + a * 16][kk], kTcBK + kTcPad);
            for (int b = 0; b < 2; ++b) wmma::load_matrix_sync(fb[b], &Bs[wn * 32 + b * 16][kk], kTcBK + kTcPad);
            for (int a = 0; a < 2; ++a)
                for (int b = 0; b < 2; ++b) wmma::mma_sync(acc[a][b], fa[a], fb[b], acc[a][b]);
        }
        __syncthreads();
    }
    for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b)
            wmma::store_matrix_sync(&Cs[wm * 32 + a * 16][wn * 32 + b * 16], acc[a][b], kBN + 4, wmma::mem_row_major);
    __syncthreads();
    for (int e = threadIdx.x; e < kBM * kBN; e += kTcThreads) {
        const int ii = e / kBN, jj = e % kBN;
        const int64_t i = i0 + ii, j = j0 + jj;
        if (i < g.M && j < g.N) {
            float* c = g.c + i * g.ldc + j;
            *c = g.accumulate ? *c + g.alpha * Cs[ii][jj] : g.alpha * Cs[ii][jj];
        }
    }
}

// F32 FMA: 256 threads, each a 4x4 block of the 64x64 tile.
constexpr int kF32BK = 16, kF32Threads = 256;

__global__ void gemm_f32_kernel(GemmArgs g) {
    __shared__ float As[kF32BK][kBM + 4];  // As[p][i]
    __shared__ float Bs[kF32BK][kBN + 4];  // Bs[p][j]
    const float* B = static_cast<const float*>(g.b);
    const int64_t i0 = int64_t(blockIdx.y) * kBM, j0 = int64_t(blockIdx.x) * kBN;
    const int ti = threadIdx.x / 16, tj = threadIdx.x % 16;
    float acc[4][4] = {};
    for (int64_t p0 = 0; p0 < g.K; p0 += kF32BK) {
        for (int e = threadIdx.x; e < kBM * kF32BK; e += kF32Threads) {
            const int ii = g.a_p == 1 ? e / kF32BK : e % kBM, pp = g.a_p == 1 ? e % kF32BK : e / kBM;
            const int64_t i = i0 + ii, p = p0 + pp;
            As[pp][ii] = (i < g.M && p < g.K) ? g.a[i * g.a_i + p * g.a_p] : 0.f;
        }
        for (int e = threadIdx.x; e < kBN * kF32BK; e += kF32Threads) {
            const int jj = g.b_p == 1 ? e / kF32BK : e % kBN, pp = g.b_p == 1 ? e % kF32BK : e / kBN;
            const int64_t j = j0 + jj, p = p0 + pp;
            Bs[pp][jj] = (j < g.N && p < g.K) ? B[p * g.b_p + j * g.b_j] : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int pp = 0; pp < kF32BK; ++pp) {
            float av[4], bv[4];
            for (int a = 0; a < 4; ++a) av[a] = As[pp][ti * 4 + a];
            for (int b = 0; b < 4; ++b) bv[b] = Bs[pp][tj * 4 + b];
            for (int a = 0; a < 4; ++a)
                for (int b = 0; b < 4; ++b) acc[a][b] += av[a] * bv[b];
        }
        __syncthreads();
    }
    for (int a = 0; a < 4; ++a)
        for (int b = 0; b < 4; ++b) {
            const int64_t i = i0 + ti * 4 + a, j = j0 + tj * 4 + b;
            if (i < g.M && j < g.N) {
                float* c = g.c + i * g.ldc + j;
                *c = g.accumulate ? *c + g.alpha * acc[a][b] : g.alpha * acc[a][b];
            }
        }
}

void gemm(const GemmArgs& g, GemmPrecision precision) {
    if (g.M == 0 || g.N == 0) return;
    const dim3 grid(blocks_for(g.N, kBN), blocks_for(g.M, kBM));
    if (precision == GemmPrecision::kBf16) {
        gemm_bf16_kernel<<<grid, kTcThreads>>>(g);
        check_launch("gemm_bf16");
    } else {
        gemm_f32_kernel<<<grid, kF32Threads>>>(g);
        check_launch("gemm_f32");
    }
}

// The weight (m rows of k) as the GEMM's B operand: F32 weights used in place in F32 mode,
// everything else dequantised into scratch.
const void* weight_operand(const void* w, int32_t wtype, int64_t k, int64_t m, Scratch& scratch,
                           GemmPrecision precision, const char* op) {
    if (precision == GemmPrecision::kF32) {
        if (wtype == SL4J_TYPE_F32) return w;
        float* d = static_cast<float*>(scratch.get(size_t(m * k) * sizeof(float)));
        dequant_rows<float>(d, w, wtype, k, m, nullptr, op);
        return d;
    }
    __nv_bfloat16* d = static_cast<__nv_bfloat16*>(scratch.get(size_t(m * k) * sizeof(__nv_bfloat16)));
    dequant_rows<__nv_bfloat16>(d, w, wtype, k, m, nullptr, op);
    return d;
}

}  // namespace

void matmul(float* out, const void* w, int32_t wtype, const float* x, int64_t n, int64_t k, int64_t m,
            Scratch& scratch, GemmPrecision precision) {
    if (n == 0 || m == 0) return;
    if (n <= kGemvMaxRows) {
        const int64_t row_bytes = type_row_bytes(wtype, k);
        dispatch_type(wtype, "matmul", [&](auto tag) {
            constexpr int T = decltype(tag)::value;
            gemv_kernel<T><<<blocks_for(m, kGemvWarps), kGemvWarps * kWarp>>>(
                out, static_cast<const uint8_t*>(w), row_bytes, x, n, k, m);
            check_launch("matmul (gemv)");
        });
        return;
    }
    const void* b = weight_operand(w, wtype, k, m, scratch, precision, "matmul");
    // C (n×m) = X (n×k) · Wᵀ: A(i,p) = x[i*k + p], B(p,j) = W[j][p].
    gemm(GemmArgs{out, m, x, k, 1, b, 1, k, n, m, k, 1.f, false}, precision);
}

void matmul_transposed(float* out, const void* w, int32_t wtype, const float* dy, int64_t n, int64_t k, int64_t m,
                       Scratch& scratch, GemmPrecision precision) {
    if (n == 0 || k == 0) return;
    const void* b = weight_operand(w, wtype, k, m, scratch, precision, "matmul_transposed");
    // C (n×k) = dY (n×m) · W: A(i,p) = dy[i*m + p], B(p,j) = W[p][j].
    gemm(GemmArgs{out, k, dy, m, 1, b, k, 1, n, k, m, 1.f, false}, precision);
}

void embedding(float* out, const int32_t* ids, const void* table, int32_t type, int64_t n_rows, int64_t dim) {
    if (n_rows == 0) return;
    dequant_rows<float>(out, table, type, dim, n_rows, ids, "embedding");
}

void outer_accumulate(float* out, const float* a, const float* b, int64_t n, int64_t P, int64_t Q, float alpha) {
    // C (P×Q) += alpha·Aᵀ·B: A(i,p) = a[p*P + i] (i < P, p < n), B(p,j) = b[p*Q + j]. F32: these
    // are the LoRA weight gradients, small next to the base model's products.
    gemm(GemmArgs{out, Q, a, 1, P, b, Q, 1, P, Q, n, alpha, true}, GemmPrecision::kF32);
}

}  // namespace sl4j::cuda
