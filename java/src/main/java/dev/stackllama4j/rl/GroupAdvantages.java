package dev.stackllama4j.rl;

/**
 * Advantages of the group-relative methods, without a value head: a batch holds {@code k}
 * sampled responses per prompt, consecutive ({@code rewards[g·k .. g·k + k − 1]} share a prompt),
 * and each response's advantage is its reward against its own group's.
 *
 * <pre>
 * GRPO  A_i = (R_i − mean_g) / (std_g + eps)        std unbiased, as TRL's GRPOTrainer (eps 1e-4)
 * RLOO  A_i = R_i − (Σ_{j∈g, j≠i} R_j) / (k − 1)    the leave-one-out baseline (TRL's RLOOTrainer)
 * </pre>
 *
 * {@code R_i} is the response's whole return: its score minus β times its summed per-token KL
 * (the KL penalty enters the reward as in PPO and TRL's RLOO). A response's advantage applies to
 * each of its tokens ({@link #perToken}). Pure functions in float64.
 */
public final class GroupAdvantages {
    private GroupAdvantages() {}

    /** GRPO's std offset, TRL's 1e-4. */
    public static final double GRPO_EPS = 1e-4;

    /** The policy-gradient algorithms of the {@code ppo} command. */
    public enum Algo {
        /** value head, GAE, whitened advantages */
        PPO,
        /** group-normalised returns */
        GRPO,
        /** leave-one-out baseline */
        RLOO;

        public static Algo parse(String s) {
            return switch (s) {
                case "ppo" -> PPO;
                case "grpo" -> GRPO;
                case "rloo" -> RLOO;
                default -> throw new IllegalArgumentException("--algo must be ppo, grpo or rloo, got " + s);
            };
        }
    }

    public static double[] grpo(double[] returns, int k) {
        check(returns, k);
        double[] a = new double[returns.length];
        for (int g = 0; g < returns.length; g += k) {
            double mean = 0;
            for (int i = g; i < g + k; i++) mean += returns[i] / k;
            double ss = 0;
            for (int i = g; i < g + k; i++) ss += (returns[i] - mean) * (returns[i] - mean);
            double std = Math.sqrt(ss / (k - 1));
            for (int i = g; i < g + k; i++) a[i] = (returns[i] - mean) / (std + GRPO_EPS);
        }
        return a;
    }

    public static double[] rloo(double[] returns, int k) {
        check(returns, k);
        double[] a = new double[returns.length];
        for (int g = 0; g < returns.length; g += k) {
            double sum = 0;
            for (int i = g; i < g + k; i++) sum += returns[i];
            for (int i = g; i < g + k; i++) a[i] = returns[i] - (sum - returns[i]) / (k - 1);
        }
        return a;
    }

    /** Each response's return: the sum of its per-token rewards (score at the last token, −β·kl at each). */
    public static double[] returns(double[][] perTokenRewards) {
        double[] r = new double[perTokenRewards.length];
        for (int i = 0; i < r.length; i++)
            for (double x : perTokenRewards[i]) r[i] += x;
        return r;
    }

    /** {@code advantages[i]} at every token of response i ({@code shape} gives the lengths). */
    public static double[][] perToken(double[] advantages, double[][] shape) {
        if (advantages.length != shape.length) throw new IllegalArgumentException(advantages.length + " advantages for " + shape.length + " responses");
        double[][] out = new double[shape.length][];
        for (int i = 0; i < out.length; i++) {
            out[i] = new double[shape[i].length];
            java.util.Arrays.fill(out[i], advantages[i]);
        }
        return out;
    }

    private static void check(double[] returns, int k) {
        if (k < 2) throw new IllegalArgumentException("a group needs at least 2 samples (--group-size), got " + k);
        if (returns.length == 0 || returns.length % k != 0)
            throw new IllegalArgumentException(returns.length + " returns do not form groups of " + k);
    }
}
