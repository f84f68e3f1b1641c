package dev.stackllama4j.rl;

import java.util.Locale;

/**
 * Per-token KL penalty between the policy and the reference, TRL's {@code kl_penalty} choices.
 * {@code kl}, {@code abs} and {@code mse} need only the log-prob of the sampled token under each
 * model; {@code full} needs both whole distributions over the vocabulary, which the engine reduces
 * natively (ppo.Policy.fullKl).
 */
public enum KlEstimator {
    /** lp − ref: unbiased per-sample estimate of KL(π‖π_ref) when tokens are sampled from π; can be negative. */
    KL,
    /** |lp − ref|: never negative, biased upward. */
    ABS,
    /** ½(lp − ref)²: never negative, small for small log-ratios. */
    MSE,
    /** Σ_v π(v)(log π(v) − log π_ref(v)): the exact KL at that position. */
    FULL;

    /** The flag spelling: kl, abs, mse, full. */
    public String flag() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static KlEstimator parse(String s) {
        for (KlEstimator e : values()) {
            if (e.flag().equals(s.trim().toLowerCase(Locale.ROOT))) return e;
        }
        throw new IllegalArgumentException("unknown --kl-penalty '" + s + "' (kl, abs, mse or full)");
    }

    /** The penalty of one sampled token from its two log-probs. FULL cannot be computed this way (see Policy.fullKl). */
    public double perToken(double logprob, double refLogprob) {
        double d = logprob - refLogprob;
        switch (this) {
            case KL: return d;
            case ABS: return Math.abs(d);
            case MSE: return 0.5 * d * d;
            default:
                throw new IllegalArgumentException("kl-penalty 'full' needs both whole distributions: Policy.fullKl computes it natively");
        }
    }

    /** Per-token penalties of a batch for KL, ABS or MSE. */
    public double[][] perToken(double[][] logprobs, double[][] refLogprobs) {
        Ragged.requireSameShape(logprobs, "logprobs", refLogprobs, "refLogprobs");
        double[][] out = new double[logprobs.length][];
        for (int i = 0; i < logprobs.length; i++) {
            out[i] = new double[logprobs[i].length];
            for (int t = 0; t < out[i].length; t++) out[i][t] = perToken(logprobs[i][t], refLogprobs[i][t]);
        }
        return out;
    }
}
