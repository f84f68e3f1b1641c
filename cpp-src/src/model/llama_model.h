// A LLaMA model bound to a memory-mapped GGUF and a backend. Weights keep their stored type (a
// Q4_K file stays Q4_K in memory); only the small norm vectors are decoded to F32 at load. On a
// host-memory backend (the CPU) the weights are used in place in the mapped file; on a device
// each tensor is uploaded once at load and every pointer in LlamaWeights names device memory.
#pragma once
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "gguf/gguf.h"
#include "model/hparams.h"

namespace sl4j {

// A weight matrix of `out` rows of `in` elements (ggml dims {in, out}).
struct Weight {
    const void* data = nullptr;
    // The same rows repacked for the fast precision's integer kernels (cpu/repack.h), owned by the
    // model; set by LlamaModel::prepare_fast for the types that have a layout, else nullptr.
    const void* packed = nullptr;
    int32_t type = 0;
    int64_t in = 0;
    int64_t out = 0;
};

struct LayerWeights {
    const float* attn_norm = nullptr; // (dim), in LlamaWeights::norms
    Weight wq;                    // (dim) -> (dim)
    Weight wk;                    // (dim) -> (kv_dim)
    Weight wv;                    // (dim) -> (kv_dim)
    Weight wo;                    // (dim) -> (dim)
    const float* ffn_norm = nullptr;  // (dim), in LlamaWeights::norms
    Weight gate;                  // (dim) -> (ffn)
    Weight up;                    // (dim) -> (ffn)
    Weight down;                  // (ffn) -> (dim)
};

struct LlamaWeights {
    Weight tok_embd;                 // (vocab) rows of (dim)
    std::vector<LayerWeights> layers;
    const float* output_norm = nullptr; // (dim), in LlamaWeights::norms
    std::vector<float> norms;            // (2·n_layers + 1) × dim: the norm weights decoded to F32
    Weight output;                   // (dim) -> (vocab); tok_embd when tied
    bool tied_output = false;
    const float* rope_freqs = nullptr;   // (n_rot / 2) RoPE frequency factors, or NULL when absent
};

class LlamaModel {
public:
    // Throws sl4j::Error naming the file and tensor for a missing tensor, a wrong shape or an
    // unsupported type. The model runs on the CPU backend (weights stay in the mmapped file).
    static std::unique_ptr<LlamaModel> load(const std::string& path);
    // The same on `backend`, which the model owns: weights uploaded once unless its memory is
    // host memory.
    static std::unique_ptr<LlamaModel> load(const std::string& path, std::unique_ptr<Backend> backend);

    // The backend sessions and trainers of this model dispatch their ops to by default.
    Backend& backend() const { return *backend_; }
    // Bytes of the weights held in backend allocations (0 when used in place from the file).
    int64_t device_bytes() const;

    // Readies the weights for the fast precision, once (thread-safe; later calls return at once):
    // on a host-memory backend, every projection matrix whose type has a repacked layout
    // (cpu/repack.h; Q4_0) is repacked into memory the model owns, and the mapped pages of the
    // original are released (GgufFile::release), so the matrix is held once, not twice. Everything
    // else (the exact precision, the embedding lookup, LoRA merge, quantize, training) keeps reading
    // the mapped original, whose pages come back from the file when read. The embedding table
    // keeps its pages when it is also the (tied) output. SL4J_REPACK=0 in the environment turns it
    // off (the fast kernels then read the stored rows, with the same results).
    void prepare_fast() const;
    // Bytes of the repacked copies (0 before prepare_fast or when nothing was repacked).
    int64_t repacked_bytes() const;

    const LlamaHparams& hparams() const { return hp_; }
    const LlamaWeights& weights() const { return w_; }
    const GgufFile& file() const { return *file_; }

private:
    void upload_weights();

    std::unique_ptr<Backend> backend_;
    std::vector<DeviceBuffer> device_;  // uploaded tensors and norms (device backends); before w_'s users go
    std::unique_ptr<GgufFile> file_;
    LlamaHparams hp_;
    LlamaWeights w_;
    // prepare_fast: the repacked matrices (64-byte aligned), made once.
    struct FreeDeleter {
        void operator()(void* p) const { std::free(p); }
    };
    mutable std::once_flag fast_once_;
    mutable std::vector<std::unique_ptr<void, FreeDeleter>> packed_;
};

}  // namespace sl4j
