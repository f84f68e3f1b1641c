package dev.stackllama4j.reward;

import dev.stackllama4j.train.LoraConfig;
import dev.stackllama4j.train.LrSchedule;
import java.util.EnumSet;

/**
 * Settings of reward-model training, validated on construction; defaults from StackLLaMA's
 * reward_modeling.py.
 *
 * @param lr peak learning rate. Default 2e-5.
 * @param batchSize pairs per micro-batch. Default 4.
 * @param gradAccum micro-batches per step. Default 1.
 * @param epochs passes over the training pairs. Default 1.
 * @param schedule default linear (decay to 0).
 * @param warmupSteps default 0.
 * @param weightDecay default 0.001.
 * @param maxLength pairs with a side longer than this (tokens) are dropped and counted. Default 512.
 * @param maxGradNorm clip of the joint adapter + head gradient norm. Default 1.0.
 * @param evalEvery steps between evaluations; 0 = at the end. Default 0.
 * @param saveEvery steps between checkpoints; 0 = at the end. Default 0.
 * @param lora default r 8, alpha 32, dropout 0.1, targets q,v.
 * @param seed pair order and initialisation. Default 0.
 * @param maxSteps stop after this many steps (0: epochs decide). Default 0.
 */
public record RewardConfig(double lr, int batchSize, int gradAccum, int epochs, LrSchedule.Kind schedule, int warmupSteps,
                           double weightDecay, int maxLength, double maxGradNorm, int evalEvery, int saveEvery, LoraConfig lora,
                           long seed, int maxSteps) {
    public RewardConfig {
        if (!(lr > 0)) throw new IllegalArgumentException("--lr must be > 0");
        if (batchSize < 1 || gradAccum < 1 || epochs < 1) throw new IllegalArgumentException("batch size, grad accum and epochs must be >= 1");
        if (warmupSteps < 0 || evalEvery < 0 || saveEvery < 0 || maxSteps < 0) throw new IllegalArgumentException("step counts must be >= 0");
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("--weight-decay must be >= 0");
        if (maxLength < 2) throw new IllegalArgumentException("--max-length must be >= 2");
        if (!(maxGradNorm > 0)) throw new IllegalArgumentException("--max-grad-norm must be > 0");
    }

    public static LoraConfig defaultLora(long seed) {
        return new LoraConfig(8, 32f, 0.1f, EnumSet.of(LoraConfig.Target.Q, LoraConfig.Target.V), seed);
    }

    public static RewardConfig defaults() {
        return new RewardConfig(2e-5, 4, 1, 1, LrSchedule.Kind.LINEAR, 0, 0.001, 512, 1.0, 0, 0, defaultLora(0), 0, 0);
    }
}
