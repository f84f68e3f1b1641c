// LLaMA hyper-parameters as llama.cpp stores them in GGUF ("llama.*" keys).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sl4j {

class GgufFile;

struct LlamaHparams {
    int64_t n_vocab = 0;
    int64_t dim = 0;         // llama.embedding_length
    int64_t n_layers = 0;    // llama.block_count
    int64_t n_heads = 0;     // llama.attention.head_count
    int64_t n_kv_heads = 0;  // llama.attention.head_count_kv (GQA when < n_heads)
    int64_t head_dim = 0;    // dim / n_heads
    int64_t ffn = 0;         // llama.feed_forward_length
    int64_t n_rot = 0;       // llama.rope.dimension_count (dims of each head that RoPE rotates)
    int64_t n_ctx_train = 0; // llama.context_length
    double rope_base = 10000.0;
    double rope_linear_factor = 1.0;   // rope.scaling.type = linear: positions divided by this
    std::vector<float> rope_freq_factors; // rope_freqs.weight (Llama 3.1): theta_i divided by factor i
    double rms_eps = 1e-5;

    int64_t kv_dim() const { return n_kv_heads * head_dim; }
};

// Reads and validates the hyper-parameters; throws SL4J_ERR_UNSUPPORTED for another architecture
// or an unknown rope scaling type, SL4J_ERR_FORMAT for inconsistent values (naming key and file).
LlamaHparams read_llama_hparams(const GgufFile& file);

}  // namespace sl4j
