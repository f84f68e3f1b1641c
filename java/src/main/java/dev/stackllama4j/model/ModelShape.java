package dev.stackllama4j.model;

/**
 * The hyper-parameters of a LLaMA-architecture model, validated on construction.
 *
 * @param dim embedding width ({@code llama.embedding_length})
 * @param layers transformer blocks ({@code llama.block_count})
 * @param heads query heads ({@code llama.attention.head_count})
 * @param kvHeads key/value heads, a divisor of heads ({@code llama.attention.head_count_kv})
 * @param ffn SwiGLU hidden width ({@code llama.feed_forward_length})
 * @param vocab vocabulary size
 * @param ctx context length ({@code llama.context_length})
 * @param ropeBase RoPE frequency base ({@code llama.rope.freq_base})
 * @param rmsEps RMSNorm epsilon ({@code llama.attention.layer_norm_rms_epsilon})
 * @param tiedEmbeddings true when there is no {@code output.weight} (the embedding is reused)
 */
public record ModelShape(int dim, int layers, int heads, int kvHeads, int ffn, int vocab, int ctx, double ropeBase,
                         double rmsEps, boolean tiedEmbeddings) {
    public ModelShape {
        require(dim > 0, "dim must be positive, got " + dim);
        require(layers > 0, "layers must be positive, got " + layers);
        require(heads > 0 && dim % heads == 0, "heads (" + heads + ") must divide dim (" + dim + ")");
        require(kvHeads > 0 && heads % kvHeads == 0, "kv-heads (" + kvHeads + ") must divide heads (" + heads + ")");
        require((dim / heads) % 2 == 0, "head size dim/heads (" + dim / heads + ") must be even for RoPE");
        require(ffn > 0, "ffn must be positive, got " + ffn);
        require(vocab > 0, "vocab must be positive, got " + vocab);
        require(ctx > 0, "ctx must be positive, got " + ctx);
        require(ropeBase > 0, "rope-base must be positive, got " + ropeBase);
        require(rmsEps > 0, "rms epsilon must be positive, got " + rmsEps);
    }

    public int headDim() {
        return dim / heads;
    }

    public int kvDim() {
        return kvHeads * headDim();
    }

    /** Parameter count (norm weights included). */
    public long parameters() {
        long perLayer = 2L * dim + (long) dim * dim * 2 + 2L * dim * kvDim() + 3L * dim * ffn;
        return (long) vocab * dim * (tiedEmbeddings ? 1 : 2) + dim + layers * perLayer;
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }
}
