// Token picks on the GPU, one block per pick (the rules and formulas: core/sample_math.h, the
// CPU's twin: cpu/sample.cpp). Only the pick and its log-prob leave the device.
//
// Per pick, in the pick's scratch (keys, then ids: P = the vocabulary rounded up to a power of
// two, 8·P bytes):
//  1. the raw row's max and Σ exp (the log-prob's), then the controlled logits into keys;
//  2. temperature 0: a block argmax (ties: the lower id);
//  3. else keys become the weights w (-1 marks a token out, and the padding); when top-k cuts or
//     top-p is on, a block bitonic sort puts (keys, ids) in the candidate order (sample_before);
//     top-p and the draw are block prefix sums in double over tiles of the block, in candidate
//     order (sorted, or id order), finding the first candidate whose running weight reaches the
//     threshold.
// Sums run in a different order than the CPU's sequential ones, so totals agree to double
// rounding and a pick can differ from the CPU's only when the draw lands within that rounding of
// a boundary between two candidates; the weights themselves use the device's expf (2 ulp).
#include <climits>

#include "backend/backend.h"
#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace sl4j::cuda {
namespace {

constexpr int kThreads = 512;

// Inclusive prefix sum over the block (blockDim a multiple of 32); *total gets the block's sum.
// scratch: 32 doubles.
__device__ double block_inclusive_scan(double v, double* scratch, double* total) {
    const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, n_warps = blockDim.x / kWarp;
    for (int o = 1; o < kWarp; o *= 2) {
        const double t = __shfl_up_sync(0xffffffffu, v, o);
        if (lane >= o) v += t;
    }
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == kWarp - 1) scratch[warp] = v;
    __syncthreads();
    if (warp == 0) {
        double t = lane < n_warps ? scratch[lane] : 0.0;
        for (int o = 1; o < kWarp; o *= 2) {
            const double u = __shfl_up_sync(0xffffffffu, t, o);
            if (lane >= o) t += u;
        }
        if (lane < n_warps) scratch[lane] = t;
    }
    __syncthreads();
    *total = scratch[n_warps - 1];
    return v + (warp > 0 ? scratch[warp - 1] : 0.0);
}

// Over candidates c = 0 .. n-1 with weight weight(c) (< 0: not a candidate), in that order: the
// first c whose running sum of candidate weights through c satisfies reached(cum), or -1;
// *last gets the last candidate (-1: none). Every thread gets the results.
template <typename Weight, typename Reached>
__device__ int64_t block_first_reaching(int64_t n, Weight weight, Reached reached, int64_t* last) {
    __shared__ double scan[kWarp];
    __shared__ int found, last_s;
    __syncthreads();
    if (threadIdx.x == 0) found = INT_MAX, last_s = -1;
    __syncthreads();
    double carry = 0;
    for (int64_t base = 0; base < n; base += blockDim.x) {
        const int64_t c = base + threadIdx.x;
        const double w = c < n ? double(weight(c)) : -1.0;
        const bool cand = w >= 0;
        double tile;
        const double cum = carry + block_inclusive_scan(cand ? w : 0.0, scan, &tile);
        if (cand) {
            atomicMax(&last_s, int(c));
            if (reached(cum)) atomicMin(&found, int(c));
        }
        carry += tile;
        __syncthreads();
        if (found != INT_MAX) break;  // the same value in every thread
    }
    // A found candidate stops the walk early: the last one is then not needed (the fallback is
    // for a walk that found none, which visited every tile).
    *last = last_s;
    return found == INT_MAX ? -1 : found;
}

// Σ of the candidate weights of c < n (weight < 0: not a candidate), in double.
template <typename Weight>
__device__ double block_weight_sum(int64_t n, Weight weight) {
    __shared__ double scratch[kWarp];
    double s = 0;
    for (int64_t c = threadIdx.x; c < n; c += blockDim.x) {
        const float w = weight(c);
        if (w >= 0) s += w;
    }
    return block_sum(s, scratch);
}

// Sorts (keys, ids) of length P (a power of two) into the candidate order: sample_before first.
__device__ void block_bitonic_sort(float* keys, int32_t* ids, int64_t P) {
    for (int64_t k = 2; k <= P; k <<= 1) {
        for (int64_t j = k >> 1; j > 0; j >>= 1) {
            for (int64_t i = threadIdx.x; i < P; i += blockDim.x) {
                const int64_t o = i ^ j;
                if (o <= i) continue;
                const float ka = keys[i], kb = keys[o];
                const int32_t ia = ids[i], ib = ids[o];
                const bool swap = (i & k) == 0 ? sample_before(kb, ib, ka, ia) : sample_before(ka, ia, kb, ib);
                if (swap) keys[i] = kb, keys[o] = ka, ids[i] = ib, ids[o] = ia;
            }
            __syncthreads();
        }
    }
}

__global__ void sample_kernel(int32_t* tokens, float* logprobs, const float* logits, const SampleRowParams* params,
                              const SampleAdjust* adjust, char* scratch, int64_t n_vocab, int64_t P) {
    __shared__ float fscratch[kWarp];
    __shared__ int count_s[2];
    const SampleRowParams p = params[blockIdx.x];
    const float* l = logits + int64_t(p.row) * n_vocab;
    float* keys = reinterpret_cast<float*>(scratch + int64_t(blockIdx.x) * P * 8);
    int32_t* ids = reinterpret_cast<int32_t*>(keys + P);
    const int64_t V = n_vocab;

    float m;
    double sum;
    row_max_and_exp_sum(l, V, &m, &sum);
    if (!isfinite(m)) {
        if (threadIdx.x == 0) tokens[blockIdx.x] = kSampleNoFiniteLogit, logprobs[blockIdx.x] = 0.f;
        return;
    }
    // 1. The controlled logits.
    for (int64_t i = threadIdx.x; i < V; i += blockDim.x) keys[i] = l[i];
    __syncthreads();
    for (int32_t a = p.adj_begin + int32_t(threadIdx.x); a < p.adj_begin + p.adj_count; a += blockDim.x) {
        const SampleAdjust e = adjust[a];
        keys[e.token] = sample_control_logit(l[e.token], e.bias, e.count, p);
    }
    __syncthreads();
    if (threadIdx.x == 0 && p.banned >= 0 && p.banned < V) keys[p.banned] = -INFINITY;
    __syncthreads();

    int64_t pick = -1;
    if (p.temperature == 0.0f) {
        // 2. Greedy: the largest finite controlled logit, the lower id on ties.
        __shared__ float sv[kThreads];
        __shared__ int64_t si[kThreads];
        float best = -INFINITY;
        int64_t bi = INT64_MAX;  // no finite candidate seen
        for (int64_t i = threadIdx.x; i < V; i += blockDim.x)
            if (keys[i] != -INFINITY && (keys[i] > best || bi == INT64_MAX)) best = keys[i], bi = i;
        const int64_t top = block_argmax(best, bi, sv, si);
        pick = top == INT64_MAX ? -1 : top;
    } else {
        // 3. Weights of the candidates (finite controlled logits), -1 for the rest and the padding.
        const float inv_t = 1.0f / p.temperature;
        float ymax = -INFINITY;
        int n_fin = 0;
        for (int64_t i = threadIdx.x; i < V; i += blockDim.x)
            if (keys[i] != -INFINITY) {
                keys[i] *= inv_t;
                ymax = fmaxf(ymax, keys[i]);
                ++n_fin;
            }
        ymax = block_max(ymax, fscratch);
        if (threadIdx.x == 0) count_s[0] = 0;
        __syncthreads();
        atomicAdd(&count_s[0], n_fin);
        __syncthreads();
        const int64_t n_cand = count_s[0];
        for (int64_t i = threadIdx.x; i < P; i += blockDim.x) {
            keys[i] = i < V && keys[i] != -INFINITY ? sample_weight(keys[i], ymax) : -1.f;
            ids[i] = int32_t(i);
        }
        __syncthreads();
        if (n_cand > 0) {
            const bool cut_k = p.top_k > 0 && p.top_k < n_cand;
            const bool sorted = cut_k || p.top_p < 1.0f;
            int64_t n = V;  // candidates are keys[0, n) with weight >= 0, in order
            if (sorted) {
                block_bitonic_sort(keys, ids, P);
                n = cut_k ? p.top_k : n_cand;
            }
            auto weight = [keys](int64_t c) { return keys[c]; };
            int64_t last = -1;
            if (p.top_p < 1.0f) {
                const double total = block_weight_sum(n, weight);
                const int64_t cut = block_first_reaching(
                    n, weight, [total, &p](double cum) { return sample_top_p_reached(cum, total, p.top_p); }, &last);
                if (cut >= 0) n = cut + 1;
            }
            const float min_p = p.min_p;
            auto kept = [keys, min_p](int64_t c) {
                const float w = keys[c];
                return w >= 0 && (min_p <= 0.0f || sample_min_p_keeps(w, min_p)) ? w : -1.f;
            };
            const double target = p.u * block_weight_sum(n, kept);
            const int64_t c = block_first_reaching(
                n, kept, [target](double cum) { return sample_draw_reached(cum, target); }, &last);
            const int64_t at = c >= 0 ? c : last;
            pick = at < 0 ? -1 : (sorted ? ids[at] : at);
        }
    }
    if (threadIdx.x == 0) {
        tokens[blockIdx.x] = pick < 0 ? kSampleAllExcluded : int32_t(pick);
        logprobs[blockIdx.x] = pick < 0 ? 0.f : sample_logprob(sum, m, l[pick]);
    }
}

}  // namespace

int64_t sample_scratch_bytes(int64_t n_rows, int64_t n_vocab) {
    int64_t P = 1;
    while (P < n_vocab) P <<= 1;
    return n_rows * P * 8;
}

void sample_rows(int32_t* tokens, float* logprobs, const float* logits, const SampleRowParams* params,
                 const SampleAdjust* adjust, void* scratch, int64_t n_rows, int64_t n_vocab) {
    if (n_rows == 0) return;
    int64_t P = 1;
    while (P < n_vocab) P <<= 1;
    sample_kernel<<<unsigned(n_rows), kThreads>>>(tokens, logprobs, logits, params, adjust, static_cast<char*>(scratch),
                                                  n_vocab, P);
    check_launch("sample_rows");
}

}  // namespace sl4j::cuda
