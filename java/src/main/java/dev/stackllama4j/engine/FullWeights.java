package dev.stackllama4j.engine;

import dev.stackllama4j.bridge.global.sl4j;
import dev.stackllama4j.bridge.sl4j_lora;

/**
 * Every weight of a model as trainable F32 tensors, for full-parameter training (pretraining, or
 * fine-tuning a small model without PEFT): {@code token_embd.weight}, per layer the norms and
 * projections, {@code output_norm.weight} and, when untied, {@code output.weight}, named and
 * shaped as in the GGUF (norms have dims {dim, 1} here). A tied output is the embedding table, so
 * it receives both gradients. The model file is not changed; {@code train.Merge#saveFull} writes
 * the values as a new model. Must be closed before its model.
 */
public final class FullWeights extends Trainable {
    private FullWeights(sl4j_lora handle) {
        super(handle, "FullWeights");
    }

    /** The model's weights, decoded to F32 whatever their stored type. */
    public static FullWeights create(LlamaModel model) {
        sl4j_lora h = new sl4j_lora();
        Native.check(sl4j.sl4j_lora_init_full(model.handle(), h));
        return new FullWeights(h);
    }
}
