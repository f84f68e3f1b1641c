package dev.stackllama4j.rl;

import java.util.Arrays;

/**
 * Response tokens after the first EOS are not part of the response: TRL's generate keeps the
 * first EOS (so the policy learns to stop) and drops everything after it.
 */
public final class EosMask {
    private EosMask() {}

    /** Number of tokens kept: through the first EOS inclusive, or all when there is none. */
    public static int keptLength(int[] tokens, int eos) {
        for (int t = 0; t < tokens.length; t++) {
            if (tokens[t] == eos) return t + 1;
        }
        return tokens.length;
    }

    /** {@code tokens} through the first EOS inclusive. */
    public static int[] truncate(int[] tokens, int eos) {
        int n = keptLength(tokens, eos);
        return n == tokens.length ? tokens.clone() : Arrays.copyOf(tokens, n);
    }

    /** Per-token values of a response cut to the length its tokens keep. */
    public static double[] truncate(double[] perToken, int[] tokens, int eos) {
        if (perToken.length != tokens.length) {
            throw new IllegalArgumentException(perToken.length + " per-token values for " + tokens.length + " tokens");
        }
        return Arrays.copyOf(perToken, keptLength(tokens, eos));
    }
}
