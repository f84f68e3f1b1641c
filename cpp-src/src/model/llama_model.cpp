#include "model/llama_model.h"

#include <unistd.h>

#include <algorithm>

#include "core/error.h"
#include "core/types.h"
#include "cpu/repack.h"
#include "quant/quant.h"

namespace sl4j {

namespace {

const GgufTensorInfo& find(const GgufFile& f, const std::string& name, int64_t* index) {
    int64_t i = f.find_tensor(name);
    if (i < 0) SL4J_FAIL(SL4J_ERR_FORMAT, "%s: tensor %s is missing", f.path().c_str(), name.c_str());
    *index = i;
    return f.tensors()[i];
}

void check_supported(const GgufFile& f, const GgufTensorInfo& t) {
    const TypeTraits* tt = type_traits(t.type);
    if (tt == nullptr || !tt->supported)
        SL4J_FAIL(SL4J_ERR_UNSUPPORTED,
                  "%s: tensor %s has type %s, which this engine cannot compute with (supported: f32, f16, bf16, "
                  "q8_0, q4_0, q4_K, q5_K, q6_K)",
                  f.path().c_str(), t.name.c_str(), tt ? tt->name : "unknown");
}

Weight matrix(const GgufFile& f, const std::string& name, int64_t in, int64_t out) {
    int64_t i;
    const GgufTensorInfo& t = find(f, name, &i);
    if (t.dims.size() != 2 || t.dims[0] != in || t.dims[1] != out)
        SL4J_FAIL(SL4J_ERR_FORMAT, "%s: tensor %s has shape {%lld%s}, expected {%lld, %lld}", f.path().c_str(),
                  name.c_str(), (long long)t.dims[0], t.dims.size() > 1 ? format(", %lld", (long long)t.dims[1]).c_str() : "",
                  (long long)in, (long long)out);
    check_supported(f, t);
    Weight w;
    w.data = f.tensor_data(i);
    w.type = t.type;
    w.in = in;
    w.out = out;
    return w;
}

// Decodes a vector tensor of n elements into dst.
void vector_f32(const GgufFile& f, const std::string& name, int64_t n, float* dst) {
    int64_t i;
    const GgufTensorInfo& t = find(f, name, &i);
    if (t.dims.size() != 1 || t.dims[0] != n)
        SL4J_FAIL(SL4J_ERR_FORMAT, "%s: tensor %s must be a vector of %lld", f.path().c_str(), name.c_str(), (long long)n);
    check_supported(f, t);
    dequantize_row(t.type, f.tensor_data(i), dst, n);
}

}  // namespace

std::unique_ptr<LlamaModel> LlamaModel::load(const std::string& path) { return load(path, make_cpu_backend()); }

std::unique_ptr<LlamaModel> LlamaModel::load(const std::string& path, std::unique_ptr<Backend> backend) {
    SL4J_CHECK_ARG(backend != nullptr, "loading %s: no backend given", path.c_str());
    auto m = std::unique_ptr<LlamaModel>(new LlamaModel());
    m->backend_ = std::move(backend);
    m->file_ = GgufFile::open(path);
    const GgufFile& f = *m->file_;
    m->hp_ = read_llama_hparams(f);
    LlamaHparams& h = m->hp_;
    LlamaWeights& w = m->w_;
    w.tok_embd = matrix(f, "token_embd.weight", h.dim, h.n_vocab);
    w.norms.assign(size_t((2 * h.n_layers + 1) * h.dim), 0.f);
    for (int64_t l = 0; l < h.n_layers; ++l) {
        std::string p = "blk." + std::to_string(l) + ".";
        LayerWeights L;
        float* norm = w.norms.data() + 2 * l * h.dim;
        vector_f32(f, p + "attn_norm.weight", h.dim, norm);
        L.attn_norm = norm;
        L.wq = matrix(f, p + "attn_q.weight", h.dim, h.dim);
        L.wk = matrix(f, p + "attn_k.weight", h.dim, h.kv_dim());
        L.wv = matrix(f, p + "attn_v.weight", h.dim, h.kv_dim());
        L.wo = matrix(f, p + "attn_output.weight", h.dim, h.dim);
        vector_f32(f, p + "ffn_norm.weight", h.dim, norm + h.dim);
        L.ffn_norm = norm + h.dim;
        L.gate = matrix(f, p + "ffn_gate.weight", h.dim, h.ffn);
        L.up = matrix(f, p + "ffn_up.weight", h.dim, h.ffn);
        L.down = matrix(f, p + "ffn_down.weight", h.ffn, h.dim);
        w.layers.push_back(std::move(L));
    }
    vector_f32(f, "output_norm.weight", h.dim, w.norms.data() + 2 * h.n_layers * h.dim);
    w.output_norm = w.norms.data() + 2 * h.n_layers * h.dim;
    w.tied_output = f.find_tensor("output.weight") < 0;
    w.output = w.tied_output ? w.tok_embd : matrix(f, "output.weight", h.dim, h.n_vocab);
    if (f.find_tensor("rope_freqs.weight") >= 0) {
        h.rope_freq_factors.assign(size_t(h.n_rot / 2), 0.f);
        vector_f32(f, "rope_freqs.weight", h.n_rot / 2, h.rope_freq_factors.data());
        w.rope_freqs = h.rope_freq_factors.data();
    }
    if (!m->backend_->host_memory()) m->upload_weights();
    return m;
}

// Each tensor once, in its stored type (a tied output shares the embedding's copy), and the F32
// norms and RoPE factors; every pointer of w_ then names the device copy.
void LlamaModel::upload_weights() {
    Backend& be = *backend_;
    auto upload = [&](const void* src, int64_t n_bytes) {
        device_.emplace_back(be, n_bytes);
        be.upload(device_.back().data(), src, n_bytes);
        return device_.back().data();
    };
    auto matrix = [&](Weight& W) { W.data = upload(W.data, type_row_bytes(W.type, W.in) * W.out); };
    matrix(w_.tok_embd);
    for (LayerWeights& L : w_.layers)
        for (Weight* W : {&L.wq, &L.wk, &L.wv, &L.wo, &L.gate, &L.up, &L.down}) matrix(*W);
    if (w_.tied_output)
        w_.output = w_.tok_embd;
    else
        matrix(w_.output);
    const float* host_norms = w_.norms.data();
    const float* norms = static_cast<const float*>(upload(host_norms, int64_t(w_.norms.size() * sizeof(float))));
    for (LayerWeights& L : w_.layers) {
        L.attn_norm = norms + (L.attn_norm - host_norms);
        L.ffn_norm = norms + (L.ffn_norm - host_norms);
    }
    w_.output_norm = norms + (w_.output_norm - host_norms);
    if (w_.rope_freqs != nullptr)
        w_.rope_freqs = static_cast<const float*>(
            upload(hp_.rope_freq_factors.data(), int64_t(hp_.rope_freq_factors.size() * sizeof(float))));
}

void LlamaModel::prepare_fast() const {
    std::call_once(fast_once_, [this] {
        if (!backend_->host_memory()) return;  // a device computes every precision exactly
        const char* env = std::getenv("SL4J_REPACK");
        if (env != nullptr && std::string(env) == "0") return;
        // w_ is this model's own (non-const) member; only fast sessions read `packed`, and they
        // are made after this returns (call_once orders it before them)
        LlamaWeights& w = const_cast<LlamaWeights&>(w_);
        auto repack = [&](Weight& W, bool keep_original) {
            if (!cpu::repack_supported(W.type)) return;
            const int64_t bytes = cpu::repack_bytes(W.type, W.out, W.in);
            void* p = std::aligned_alloc(64, (size_t)((bytes + 63) / 64 * 64));
            if (p == nullptr) return;  // no memory for the copy: this matrix stays on the stored rows (same results)
            packed_.emplace_back(p);
            const int64_t rb = type_row_bytes(W.type, W.in);
            const uintptr_t src = (uintptr_t)W.data, page = (uintptr_t)sysconf(_SC_PAGESIZE);
            // the original's pages go as the copy is made, so at most a few MiB of both are
            // resident at once: each stretch of rows [r0, r1) from the page holding row r0 (a page
            // that straddles two stretches goes with the second), never a range twice
            cpu::repack(W.type, W.data, W.out, W.in, p, [&](int64_t r0, int64_t r1) {
                if (keep_original) return;
                const uintptr_t lo = std::max(src, (src + (uintptr_t)(r0 * rb)) / page * page);
                file_->release((const void*)lo, (uint64_t)(src + (uintptr_t)(r1 * rb) - lo));
            });
            W.packed = p;
        };
        for (LayerWeights& L : w.layers)
            for (Weight* W : {&L.wq, &L.wk, &L.wv, &L.wo, &L.gate, &L.up, &L.down}) repack(*W, false);
        repack(w.output, w.tied_output);
    });
}

int64_t LlamaModel::repacked_bytes() const {
    int64_t n = 0;
    auto add = [&](const Weight& W) {
        if (W.packed != nullptr) n += cpu::repack_bytes(W.type, W.out, W.in);
    };
    for (const LayerWeights& L : w_.layers)
        for (const Weight* W : {&L.wq, &L.wk, &L.wv, &L.wo, &L.gate, &L.up, &L.down}) add(*W);
    add(w_.output);
    return n;
}

int64_t LlamaModel::device_bytes() const {
    int64_t n = 0;
    for (const DeviceBuffer& b : device_) n += b.bytes();
    return n;
}

}  // namespace sl4j
