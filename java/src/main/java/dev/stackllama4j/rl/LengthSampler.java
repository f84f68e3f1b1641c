package dev.stackllama4j.rl;

import java.util.Random;

/**
 * Response lengths drawn uniformly from [min, max], both inclusive, from a seeded generator.
 * TRL's LengthSampler draws from {@code range(min, max)}, which leaves max out; the issue asks
 * for 32..128 new tokens, so max is included here.
 */
public final class LengthSampler {
    private final int min, max;
    private final Random rng;

    public LengthSampler(int min, int max, long seed) {
        if (min < 1) throw new IllegalArgumentException("--min-new-tokens must be >= 1, got " + min);
        if (max < min) throw new IllegalArgumentException("--max-new-tokens (" + max + ") must be >= --min-new-tokens (" + min + ")");
        this.min = min;
        this.max = max;
        this.rng = new Random(seed);
    }

    public static LengthSampler of(PpoConfig cfg) {
        return new LengthSampler(cfg.minNewTokens(), cfg.maxNewTokens(), cfg.seed());
    }

    public int next() {
        return min + rng.nextInt(max - min + 1);
    }
}
