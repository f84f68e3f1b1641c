#include "model/hparams.h"

#include "core/error.h"
#include "gguf/gguf.h"

namespace sl4j {

namespace {

int64_t positive(const GgufFile& f, const std::string& key, int64_t v) {
    if (v <= 0 || v > (int64_t(1) << 31))
        SL4J_FAIL(SL4J_ERR_FORMAT, "%s: metadata %s = %lld, expected a positive count", f.path().c_str(), key.c_str(),
                  (long long)v);
    return v;
}

}  // namespace

LlamaHparams read_llama_hparams(const GgufFile& f) {
    const std::string arch = f.find_key("general.architecture") >= 0 ? f.get_str("general.architecture") : "";
    if (arch != "llama")
        SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "%s: general.architecture is '%s', this engine runs 'llama' models only",
                  f.path().c_str(), arch.c_str());
    LlamaHparams h;
    h.dim = positive(f, "llama.embedding_length", f.get_i64("llama.embedding_length"));
    h.n_layers = positive(f, "llama.block_count", f.get_i64("llama.block_count"));
    h.n_heads = positive(f, "llama.attention.head_count", f.get_i64("llama.attention.head_count"));
    h.n_kv_heads = positive(f, "llama.attention.head_count_kv", f.get_i64_or("llama.attention.head_count_kv", h.n_heads));
    h.ffn = positive(f, "llama.feed_forward_length", f.get_i64("llama.feed_forward_length"));
    h.n_ctx_train = positive(f, "llama.context_length", f.get_i64_or("llama.context_length", 2048));
    h.rms_eps = f.get_f64_or("llama.attention.layer_norm_rms_epsilon", 1e-5);
    h.rope_base = f.get_f64_or("llama.rope.freq_base", 10000.0);
    if (h.dim % h.n_heads != 0)
        SL4J_FAIL(SL4J_ERR_FORMAT, "%s: embedding_length %lld is not a multiple of head_count %lld", f.path().c_str(),
                  (long long)h.dim, (long long)h.n_heads);
    if (h.n_heads % h.n_kv_heads != 0)
        SL4J_FAIL(SL4J_ERR_FORMAT, "%s: head_count %lld is not a multiple of head_count_kv %lld", f.path().c_str(),
                  (long long)h.n_heads, (long long)h.n_kv_heads);
    h.head_dim = h.dim / h.n_heads;
    h.n_rot = f.get_i64_or("llama.rope.dimension_count", h.head_dim);
    if (h.n_rot <= 0 || h.n_rot > h.head_dim || h.n_rot % 2 != 0)
        SL4J_FAIL(SL4J_ERR_FORMAT, "%s: llama.rope.dimension_count %lld, expected an even number <= head size %lld",
                  f.path().c_str(), (long long)h.n_rot, (long long)h.head_dim);
    if (!(h.rms_eps > 0) || !(h.rope_base > 0))
        SL4J_FAIL(SL4J_ERR_FORMAT, "%s: rms epsilon and rope.freq_base must be positive", f.path().c_str());

    std::string scaling = f.find_key("llama.rope.scaling.type") >= 0 ? f.get_str("llama.rope.scaling.type") : "none";
    if (scaling == "linear") {
        h.rope_linear_factor = f.get_f64("llama.rope.scaling.factor");
        if (!(h.rope_linear_factor > 0))
            SL4J_FAIL(SL4J_ERR_FORMAT, "%s: llama.rope.scaling.factor must be positive", f.path().c_str());
    } else if (scaling != "none") {
        SL4J_FAIL(SL4J_ERR_UNSUPPORTED,
                  "%s: llama.rope.scaling.type '%s' is not supported (supported: none, linear, and Llama-3 "
                  "frequency factors in rope_freqs.weight)",
                  f.path().c_str(), scaling.c_str());
    }

    // Vocabulary size: the metadata key when present, else the token list, else the embedding.
    int64_t tok = f.find_tensor("token_embd.weight");
    if (tok < 0) SL4J_FAIL(SL4J_ERR_FORMAT, "%s: tensor token_embd.weight is missing", f.path().c_str());
    const GgufTensorInfo& emb = f.tensors()[tok];
    if (emb.dims.size() != 2 || emb.dims[0] != h.dim)
        SL4J_FAIL(SL4J_ERR_FORMAT, "%s: token_embd.weight must be {%lld, n_vocab}", f.path().c_str(), (long long)h.dim);
    h.n_vocab = emb.dims[1];
    return h;
}

}  // namespace sl4j
