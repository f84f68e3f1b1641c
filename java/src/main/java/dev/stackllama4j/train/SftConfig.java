package dev.stackllama4j.train;

/**
 * Settings of a supervised fine-tuning run, validated on construction. Defaults follow
 * StackLLaMA's SFT script.
 *
 * @param seqLength tokens per packed sequence. Default 1024.
 * @param batchSize sequences per micro-batch. Default 4.
 * @param gradAccum micro-batches per optimizer step. Default 1.
 * @param lr peak learning rate. Default 1e-4.
 * @param schedule learning-rate schedule. Default cosine.
 * @param warmupSteps linear warmup steps. Default 100.
 * @param weightDecay AdamW decoupled weight decay. Default 0.05.
 * @param maxSteps optimizer steps; 0 means one pass over the data. Default 0.
 * @param maxGradNorm global gradient-norm clip. Default 1.0.
 * @param lora adapter shape. Default r 16, alpha 32, dropout 0.05, targets q,v.
 * @param seed data shuffling and adapter init. Default 0.
 * @param shuffleBuffer example shuffle buffer; 0 keeps file order. Default 5000 (StackLLaMA).
 * @param evalEvery steps between evaluations; 0 evaluates at the end only. Default 0.
 * @param saveEvery steps between checkpoints; 0 checkpoints at the end only. Default 0.
 * @param crossDocAttention false masks attention at document boundaries inside a packed
 *     sequence ({@code --no-cross-doc-attention}). Default true (StackLLaMA).
 * @param checkpointing recompute activations per layer in backward (long sequences). Default false.
 * @param stopAfter stop (with a checkpoint) after this many steps in this invocation; 0 = never. Default 0.
 * @param full train every weight of the model instead of a LoRA adapter ({@code sft --full},
 *     {@code pretrain}); the run writes {@code model.gguf}; {@code lora} is unused. Default false.
 */
public record SftConfig(int seqLength, int batchSize, int gradAccum, double lr, LrSchedule.Kind schedule, int warmupSteps,
                        double weightDecay, int maxSteps, double maxGradNorm, LoraConfig lora, long seed, int shuffleBuffer,
                        int evalEvery, int saveEvery, boolean crossDocAttention, boolean checkpointing, int stopAfter,
                        boolean full) {
    /** A LoRA run. */
    public SftConfig(int seqLength, int batchSize, int gradAccum, double lr, LrSchedule.Kind schedule, int warmupSteps,
                     double weightDecay, int maxSteps, double maxGradNorm, LoraConfig lora, long seed, int shuffleBuffer,
                     int evalEvery, int saveEvery, boolean crossDocAttention, boolean checkpointing, int stopAfter) {
        this(seqLength, batchSize, gradAccum, lr, schedule, warmupSteps, weightDecay, maxSteps, maxGradNorm, lora, seed, shuffleBuffer,
                evalEvery, saveEvery, crossDocAttention, checkpointing, stopAfter, false);
    }

    public SftConfig {
        positive(seqLength, "seq-length", 2);
        positive(batchSize, "batch-size", 1);
        positive(gradAccum, "grad-accum", 1);
        if (!(lr > 0)) throw new IllegalArgumentException("--lr must be > 0, got " + lr);
        positive(warmupSteps, "warmup-steps", 0);
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("--weight-decay must be >= 0");
        positive(maxSteps, "max-steps", 0);
        if (!(maxGradNorm > 0)) throw new IllegalArgumentException("--max-grad-norm must be > 0");
        positive(shuffleBuffer, "shuffle-buffer", 0);
        positive(evalEvery, "eval-every", 0);
        positive(saveEvery, "save-every", 0);
        positive(stopAfter, "stop-after", 0);
    }

    public static SftConfig defaults() {
        return new SftConfig(1024, 4, 1, 1e-4, LrSchedule.Kind.COSINE, 100, 0.05, 0, 1.0, LoraConfig.defaults(), 0, 5000, 0, 0,
                true, false, 0, false);
    }

    /** The same settings training every weight ({@code full} true) or a LoRA adapter. */
    public SftConfig withFull(boolean full) {
        return new SftConfig(seqLength, batchSize, gradAccum, lr, schedule, warmupSteps, weightDecay, maxSteps, maxGradNorm, lora, seed,
                shuffleBuffer, evalEvery, saveEvery, crossDocAttention, checkpointing, stopAfter, full);
    }

    private static void positive(int v, String name, int min) {
        if (v < min) throw new IllegalArgumentException("--" + name + " must be >= " + min + ", got " + v);
    }
}
