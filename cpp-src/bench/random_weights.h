// Random LLaMA weights in any supported type, for the CUDA test suite (whole-model comparisons on
// GGUF files) and the GPU benchmark (its 7B-shaped GGUF, streamed; its BF16 GEMM peer). Two ways:
// quantize_row of random floats (types with an encoder; exact ggml blocks), or random block bits
// with finite scales written in place (any type; fast enough for billions of weights).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/hash.h"
#include "core/types.h"
#include "gguf/gguf.h"
#include "gguf/gguf_rows.h"
#include "quant/blocks.h"
#include "quant/quant.h"
#include "stackllama4j.h"

namespace sl4j::bench {

// Uniform in [-amp, amp) from (seed, i).
inline float random_uniform(uint64_t seed, uint64_t i, float amp) {
    return amp * (float(double(mix64(seed ^ mix64(i)) >> 11) / double(1ull << 53)) * 2.f - 1.f);
}

// `rows` rows of `cols` weights of magnitude about amp in `type`.
inline std::vector<uint8_t> random_weight_bytes(int32_t type, int64_t rows, int64_t cols, float amp, uint64_t seed,
                                                bool fast) {
    const int64_t row_bytes = type_row_bytes(type, cols);
    std::vector<uint8_t> out(static_cast<size_t>(row_bytes * rows));
    if (!fast && can_quantize(type)) {
        std::vector<float> row(static_cast<size_t>(cols));
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t j = 0; j < cols; ++j) row[size_t(j)] = random_uniform(seed, uint64_t(r * cols + j), amp);
            quantize_row(type, row.data(), out.data() + r * row_bytes, cols);
        }
        return out;
    }
    if (type == SL4J_TYPE_F32 || type == SL4J_TYPE_F16 || type == SL4J_TYPE_BF16) {
        for (int64_t i = 0; i < rows * cols; ++i) {
            const float v = random_uniform(seed, uint64_t(i), amp);
            if (type == SL4J_TYPE_F32) std::memcpy(out.data() + 4 * i, &v, 4);
            const uint16_t h = type == SL4J_TYPE_F16 ? f32_to_fp16(v) : f32_to_bf16(v);
            if (type != SL4J_TYPE_F32) std::memcpy(out.data() + 2 * i, &h, 2);
        }
        return out;
    }
    for (size_t i = 0; i + 8 <= out.size(); i += 8) {
        const uint64_t bits = mix64(seed + i);
        std::memcpy(out.data() + i, &bits, 8);
    }
    for (size_t i = out.size() / 8 * 8; i < out.size(); ++i) out[i] = uint8_t(mix64(seed + i));
    // Scales so that |x| stays about amp: q4_0 |q| <= 8, q8_0 <= 127, K-quants 6-bit scale x 4..6-bit q.
    const int64_t block = type_traits(type)->type_size;
    auto put_half = [&](size_t at, float v) {
        const uint16_t h = f32_to_fp16(v);
        std::memcpy(out.data() + at, &h, 2);
    };
    for (size_t b = 0; b < out.size(); b += size_t(block)) {
        switch (type) {
            case SL4J_TYPE_Q8_0: put_half(b, amp / 127.f); break;
            case SL4J_TYPE_Q4_0: put_half(b, amp / 8.f); break;
            case SL4J_TYPE_Q4_K:
            case SL4J_TYPE_Q5_K:
                put_half(b, 2.f * amp / (63.f * (type == SL4J_TYPE_Q4_K ? 15.f : 31.f)));
                put_half(b + 2, amp / 63.f);
                break;
            case SL4J_TYPE_Q6_K: put_half(b + offsetof(block_q6_K, d), amp / (127.f * 32.f)); break;
            default: SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "random weights: type %d is not supported", type);
        }
    }
    return out;
}

// A LLaMA GGUF with random weights: every matrix in `type` (random block bits for types without
// an encoder), F32 norms near 1, optional untied output, RoPE linear scaling and frequency factors.
// `stream` (types with an encoder only): the matrices are N(0, amp²/3) rows (the uniform draw's
// variance) produced and encoded while the file is written, so memory stays at one chunk of rows
// whatever the shape (the GPU benchmark's 7B model).
struct RandomLlama {
    int64_t dim = 64, n_layers = 2, n_heads = 4, n_kv_heads = 2, ffn = 96, n_vocab = 300, n_ctx = 64;
    int32_t type = SL4J_TYPE_F32;
    bool tied = true;
    double rope_base = 10000.0, rope_linear = 0.0;  // 0: no scaling
    bool freq_factors = false;
    bool stream = false;
    float amp_scale = 1.f;  // multiplies every matrix's magnitude (wide shapes: keep the logits' spread)
    uint64_t seed = 1;
};

// A small GQA shape whose rows suit every weight type (dim 256: K-quant rows need whole
// 256-element blocks), for tests comparing backends.
inline RandomLlama small_gqa(int32_t type) {
    RandomLlama s;
    s.dim = 256;
    s.n_heads = 4;
    s.n_kv_heads = 2;
    s.ffn = 512;
    s.n_vocab = 300;
    s.type = type;
    return s;
}

inline void write_random_llama(const std::string& path, const RandomLlama& s) {
    GgufWriter w;
    auto u32 = [&](const char* k, int64_t v) { w.set(k, GgufValue::of_uint(SL4J_GGUF_UINT32, uint64_t(v))); };
    w.set("general.architecture", GgufValue::of_str("llama"));
    u32("llama.embedding_length", s.dim);
    u32("llama.block_count", s.n_layers);
    u32("llama.attention.head_count", s.n_heads);
    u32("llama.attention.head_count_kv", s.n_kv_heads);
    u32("llama.feed_forward_length", s.ffn);
    u32("llama.context_length", s.n_ctx);
    w.set("llama.rope.freq_base", GgufValue::of_float(SL4J_GGUF_FLOAT32, s.rope_base));
    if (s.rope_linear > 0) {
        w.set("llama.rope.scaling.type", GgufValue::of_str("linear"));
        w.set("llama.rope.scaling.factor", GgufValue::of_float(SL4J_GGUF_FLOAT32, s.rope_linear));
    }
    uint64_t seed = s.seed * 1000;
    const bool fast = !can_quantize(s.type);
    if (s.stream && fast) SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "random weights: type %d has no encoder to stream", s.type);
    auto matrix = [&](const std::string& name, int64_t cols, int64_t rows, float amp) {
        amp *= s.amp_scale;
        if (s.stream) {
            w.add_tensor_rows(name, s.type, {cols, rows}, normal_rows(name, cols, 0.f, amp / std::sqrt(3.f), ++seed));
            return;
        }
        const auto bytes = random_weight_bytes(s.type, rows, cols, amp, ++seed, fast);
        w.add_tensor(name, s.type, {cols, rows}, bytes.data(), bytes.size());
    };
    auto norm = [&](const std::string& name, int64_t n) {
        std::vector<float> v(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) v[size_t(i)] = 1.f + random_uniform(++seed, 0, 0.2f);
        w.add_tensor(name, SL4J_TYPE_F32, {n}, v.data(), v.size() * 4);
    };
    const int64_t kv = s.dim / s.n_heads * s.n_kv_heads;
    matrix("token_embd.weight", s.dim, s.n_vocab, 1.f);
    for (int64_t l = 0; l < s.n_layers; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        norm(p + "attn_norm.weight", s.dim);
        matrix(p + "attn_q.weight", s.dim, s.dim, 0.3f);
        matrix(p + "attn_k.weight", s.dim, kv, 0.3f);
        matrix(p + "attn_v.weight", s.dim, kv, 0.3f);
        matrix(p + "attn_output.weight", s.dim, s.dim, 0.2f);
        norm(p + "ffn_norm.weight", s.dim);
        matrix(p + "ffn_gate.weight", s.dim, s.ffn, 0.2f);
        matrix(p + "ffn_up.weight", s.dim, s.ffn, 0.2f);
        matrix(p + "ffn_down.weight", s.ffn, s.dim, 0.2f);
    }
    norm("output_norm.weight", s.dim);
    if (!s.tied) matrix("output.weight", s.dim, s.n_vocab, 0.2f);
    if (s.freq_factors) {  // Llama-3 shape: 1 for high frequencies, up to 8 for low ones
        const int64_t half = s.dim / s.n_heads / 2;
        std::vector<float> f(static_cast<size_t>(half));
        for (int64_t i = 0; i < half; ++i) f[size_t(i)] = 1.f + 7.f * float(i) / float(half - 1);
        w.add_tensor("rope_freqs.weight", SL4J_TYPE_F32, {half}, f.data(), f.size() * 4);
    }
    w.write(path);
}

}  // namespace sl4j::bench
