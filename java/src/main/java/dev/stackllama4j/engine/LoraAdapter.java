package dev.stackllama4j.engine;

import dev.stackllama4j.bridge.global.sl4j;
import dev.stackllama4j.bridge.sl4j_lora;
import dev.stackllama4j.bridge.sl4j_lora_params;
import dev.stackllama4j.train.LoraConfig;

/**
 * A LoRA adapter over a model's projections, held natively with its gradients and AdamW moments.
 * Tensor names and shapes are those of llama.cpp's LoRA GGUF ({@code blk.N.attn_q.weight.lora_a},
 * dims {in, r}; {@code .lora_b}, dims {r, out}).
 *
 * <p>Thread-safety: decoding only reads an adapter, so several sessions (on several threads) may
 * use one adapter at once; training, {@link #set} and the optimizer steps mutate it and need the
 * caller's exclusion. It must outlive the sessions and trainers it is attached to. One that is
 * garbage-collected open is freed with a warning.
 */
public final class LoraAdapter extends Trainable {
    private final LoraConfig config;
    private final LlamaModel model;

    private LoraAdapter(sl4j_lora handle, LoraConfig config, LlamaModel model) {
        super(handle, "LoraAdapter");
        this.config = config;
        this.model = model;
    }

    /** A fresh adapter: A random (seeded), B zero. */
    public static LoraAdapter create(LlamaModel model, LoraConfig c) {
        sl4j_lora h = new sl4j_lora();
        try (sl4j_lora_params p = sl4j.sl4j_lora_default_params()) {
            p.r(c.r()).alpha(c.alpha()).dropout(c.dropout()).targets(c.targetBits()).seed(c.seed());
            Native.check(sl4j.sl4j_lora_init(model.handle(), p, h));
        }
        return new LoraAdapter(h, c, model);
    }

    public LoraConfig config() {
        return config;
    }

    /** The {@link TrunkId} of the model this adapter was made for (what its files record). */
    public String trunkId() {
        return model.trunkId();
    }
}
