package dev.stackllama4j.model;

import dev.stackllama4j.engine.GgufWriter;
import dev.stackllama4j.engine.TensorType;
import java.nio.file.Path;

/**
 * Writes a random-initialised LLaMA-architecture GGUF with llama.cpp's tensor names and metadata
 * keys, so tests and benchmarks can make models of any shape. Linear weights are N(0, 0.02²) (the
 * output projections scaled by 1/√(2·layers), as GPT-2 does), norm weights 1. Each row of each
 * tensor has its own random stream derived from the seed, the tensor's name and the row, so a
 * tensor's values depend neither on the shape of the others nor on the thread count. Norm weights
 * stay F32 whatever the type, as in llama.cpp's files. The weights are generated, encoded and
 * written natively a chunk of rows at a time on every core (a 7B model needs tens of MB).
 */
public final class RandomModel {
    private RandomModel() {}

    /** GPT-2's initialisation scale, the default: weights N(0, 0.02²). */
    public static final double DEFAULT_STD = 0.02;

    public static void write(ModelShape s, TensorType type, long seed, Path out) {
        write(s, type, seed, DEFAULT_STD, out, null);
    }

    /**
     * Writes a random model, reporting bytes written to {@code progress} (may be null).
     *
     * @param std standard deviation of the embeddings and of q, k, v, gate, up; attn_output and
     *     ffn_down get std / sqrt(2·layers) (GPT-2's residual scaling). 0.02 suits wide models; a
     *     narrow one trains much faster from a larger scale (about 0.8 / sqrt(dim)): at 0.02 a
     *     64-wide model's attention logits and their gradients stay near zero, and it learns no
     *     attention pattern in hundreds of steps.
     */
    public static void write(ModelShape s, TensorType type, long seed, double std, Path out,
            GgufWriter.Progress progress) {
        if (!(std > 0 && std < 1)) throw new IllegalArgumentException("init std must be in (0, 1), got " + std);
        if (!type.canQuantize())
            throw new IllegalArgumentException(
                    "init cannot write type " + type + " (use f32, f16, bf16, q8_0, q4_0, q4_k, q5_k or q6_k)");
        long block = type.blockSize();
        if (s.dim() % block != 0 || s.ffn() % block != 0)
            throw new IllegalArgumentException("type " + type + " needs dim and ffn to be multiples of " + block
                    + " (got dim " + s.dim() + ", ffn " + s.ffn() + ")");
        InitVocabulary vocab = InitVocabulary.of(s.vocab());
        double projStd = std / Math.sqrt(2.0 * s.layers());
        try (GgufWriter w = new GgufWriter()) {
            writeMetadata(w, s, type, vocab);
            w.addTensorNormal("token_embd.weight", type, dims(s.dim(), s.vocab()), 0f, (float) std, seed);
            for (int l = 0; l < s.layers(); l++) {
                String p = "blk." + l + ".";
                ones(w, p + "attn_norm.weight", s.dim(), seed);
                linear(w, seed, p + "attn_q.weight", type, s.dim(), s.dim(), std);
                linear(w, seed, p + "attn_k.weight", type, s.dim(), s.kvDim(), std);
                linear(w, seed, p + "attn_v.weight", type, s.dim(), s.kvDim(), std);
                linear(w, seed, p + "attn_output.weight", type, s.dim(), s.dim(), projStd);
                ones(w, p + "ffn_norm.weight", s.dim(), seed);
                linear(w, seed, p + "ffn_gate.weight", type, s.dim(), s.ffn(), std);
                linear(w, seed, p + "ffn_up.weight", type, s.dim(), s.ffn(), std);
                linear(w, seed, p + "ffn_down.weight", type, s.ffn(), s.dim(), projStd);
            }
            ones(w, "output_norm.weight", s.dim(), seed);
            if (!s.tiedEmbeddings())
                linear(w, seed, "output.weight", type, s.dim(), s.vocab(), std);
            w.write(out, progress);
        }
    }

    private static void writeMetadata(GgufWriter w, ModelShape s, TensorType type, InitVocabulary vocab) {
        w.putString("general.architecture", "llama");
        w.putString("general.name", "stackllama4j-random-" + s.dim() + "x" + s.layers());
        w.putU32("general.file_type", fileType(type));
        if (type.blockSize() > 1) w.putU32("general.quantization_version", 2);
        w.putU32("llama.context_length", s.ctx());
        w.putU32("llama.embedding_length", s.dim());
        w.putU32("llama.block_count", s.layers());
        w.putU32("llama.feed_forward_length", s.ffn());
        w.putU32("llama.rope.dimension_count", s.headDim());
        w.putU32("llama.attention.head_count", s.heads());
        w.putU32("llama.attention.head_count_kv", s.kvHeads());
        w.putF32("llama.attention.layer_norm_rms_epsilon", (float) s.rmsEps());
        w.putF32("llama.rope.freq_base", (float) s.ropeBase());
        w.putU32("llama.vocab_size", s.vocab());
        w.putString("tokenizer.ggml.model", "llama");
        w.putStringArray("tokenizer.ggml.tokens", vocab.tokens);
        w.putFloatArray("tokenizer.ggml.scores", vocab.scores);
        w.putIntArray("tokenizer.ggml.token_type", vocab.types);
        w.putU32("tokenizer.ggml.unknown_token_id", 0);
        w.putU32("tokenizer.ggml.bos_token_id", 1);
        w.putU32("tokenizer.ggml.eos_token_id", 2);
        w.putBool("tokenizer.ggml.add_bos_token", true);
        w.putBool("tokenizer.ggml.add_eos_token", false);
    }

    /** llama.cpp's llama_ftype for a file whose big tensors are all {@code type}. */
    static int fileType(TensorType type) {
        return switch (type) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 7;
            case Q4_K -> 15;
            case Q5_K -> 17;
            case Q6_K -> 18;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException("no llama.cpp file type for " + type);
        };
    }

    private static void linear(GgufWriter w, long seed, String name, TensorType type, int in, int out, double std) {
        w.addTensorNormal(name, type, dims(in, out), 0f, (float) std, seed);
    }

    private static void ones(GgufWriter w, String name, int n, long seed) {
        w.addTensorNormal(name, TensorType.F32, dims(n), 1f, 0f, seed);
    }

    private static long[] dims(long... d) {
        return d;
    }
}
