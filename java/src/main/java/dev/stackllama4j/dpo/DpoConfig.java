package dev.stackllama4j.dpo;

import dev.stackllama4j.train.LoraConfig;
import dev.stackllama4j.train.LrSchedule;
import java.util.EnumSet;

/**
 * Settings of a DPO run, validated on construction; defaults from StackLLaMA-2's dpo_llama2.py
 * and TRL's DPOConfig. Error messages name the CLI flag.
 *
 * @param beta β, the strength of the implicit KL constraint to the reference. Default 0.1.
 * @param lossType sigmoid (DPO), hinge or ipo. Default sigmoid.
 * @param labelSmoothing ε of conservative DPO (the chance a label is flipped), sigmoid only, in
 *     [0, 0.5). Default 0.
 * @param lr peak learning rate. Default 5e-4.
 * @param batchSize pairs per micro-batch. Default 4.
 * @param gradAccum micro-batches per step. Default 4.
 * @param epochs passes over the pairs. Default 1.
 * @param schedule default cosine.
 * @param warmupSteps default 100.
 * @param weightDecay default 0.05.
 * @param maxLength pairs with a side (prompt + answer + EOS) longer than this, in tokens, are
 *     dropped and counted. Default 1024.
 * @param maxGradNorm gradient clipping norm. Default 1.0.
 * @param evalEvery steps between evaluations; 0 = at the end. Default 0.
 * @param saveEvery steps between checkpoints; 0 = at the end. Default 0.
 * @param lora default r 8, alpha 16, dropout 0.05, targets q,k,v.
 * @param seed pair order, LoRA initialisation and dropout. Default 0.
 * @param maxSteps stop after this many steps (0: epochs decide; StackLLaMA-2 ran 1000). Default 0.
 */
public record DpoConfig(double beta, DpoLoss.Kind lossType, double labelSmoothing, double lr, int batchSize, int gradAccum, int epochs,
                        LrSchedule.Kind schedule, int warmupSteps, double weightDecay, int maxLength, double maxGradNorm, int evalEvery,
                        int saveEvery, LoraConfig lora, long seed, int maxSteps) {
    public DpoConfig {
        if (!(beta > 0) || !Double.isFinite(beta)) throw new IllegalArgumentException("--beta must be > 0, got " + beta);
        if (lossType == null) throw new IllegalArgumentException("--loss-type must be sigmoid, hinge or ipo");
        if (!(labelSmoothing >= 0 && labelSmoothing < 0.5))
            throw new IllegalArgumentException("--label-smoothing must be in [0, 0.5), got " + labelSmoothing);
        if (labelSmoothing > 0 && lossType != DpoLoss.Kind.SIGMOID)
            throw new IllegalArgumentException("--label-smoothing applies to --loss-type sigmoid only (got " + lossType.name().toLowerCase() + ")");
        if (!(lr > 0) || !Double.isFinite(lr)) throw new IllegalArgumentException("--lr must be > 0, got " + lr);
        if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be >= 1, got " + batchSize);
        if (gradAccum < 1) throw new IllegalArgumentException("--grad-accum must be >= 1, got " + gradAccum);
        if (epochs < 1) throw new IllegalArgumentException("--epochs must be >= 1, got " + epochs);
        if (schedule == null) throw new IllegalArgumentException("--lr-schedule must be constant, linear or cosine");
        if (warmupSteps < 0 || evalEvery < 0 || saveEvery < 0 || maxSteps < 0)
            throw new IllegalArgumentException("--warmup-steps, --eval-every, --save-every and --max-steps must be >= 0");
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("--weight-decay must be >= 0, got " + weightDecay);
        if (maxLength < 2) throw new IllegalArgumentException("--max-length must be >= 2, got " + maxLength);
        if (!(maxGradNorm > 0)) throw new IllegalArgumentException("--max-grad-norm must be > 0, got " + maxGradNorm);
        if (lora == null) throw new IllegalArgumentException("a DPO run needs LoRA settings");
    }

    public static LoraConfig defaultLora(long seed) {
        return new LoraConfig(8, 16f, 0.05f, EnumSet.of(LoraConfig.Target.Q, LoraConfig.Target.K, LoraConfig.Target.V), seed);
    }

    public static DpoConfig defaults() {
        return new DpoConfig(0.1, DpoLoss.Kind.SIGMOID, 0, 5e-4, 4, 4, 1, LrSchedule.Kind.COSINE, 100, 0.05, 1024, 1.0, 0, 0,
                defaultLora(0), 0, 0);
    }
}
