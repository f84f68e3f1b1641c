package dev.stackllama4j.rl;

/**
 * Per-token rewards as TRL's compute_rewards: {@code r_t = −β·kl_t} at every response token, with
 * the sample's score added at its last token.
 */
public final class Rewards {
    private Rewards() {}

    /**
     * @param rewards per-token rewards (KL penalty plus the score at the last token)
     * @param nonScoreRewards the KL part alone, −β·kl_t (stat ppo/mean_non_score_reward)
     * @param kls per-token KL estimates (stat objective/kl)
     */
    public record Result(double[][] rewards, double[][] nonScoreRewards, double[][] kls) {}

    /** For the kl, abs and mse estimators (which need only the sampled tokens' log-probs). */
    public static Result compute(double[] scores, double[][] logprobs, double[][] refLogprobs, double klCoef, KlEstimator estimator) {
        return fromKl(scores, estimator.perToken(logprobs, refLogprobs), klCoef);
    }

    /** From per-token KL values already computed (the {@code full} estimator, computed natively by ppo.Policy.fullKl). */
    public static Result fromKl(double[] scores, double[][] kls, double klCoef) {
        if (scores.length != kls.length) {
            throw new IllegalArgumentException(scores.length + " scores for " + kls.length + " responses");
        }
        double[][] rewards = new double[kls.length][];
        double[][] nonScore = new double[kls.length][];
        for (int i = 0; i < kls.length; i++) {
            int n = kls[i].length;
            if (n == 0) throw new IllegalArgumentException("response " + i + " is empty: no token to put its score on");
            nonScore[i] = new double[n];
            for (int t = 0; t < n; t++) nonScore[i][t] = -klCoef * kls[i][t];
            rewards[i] = nonScore[i].clone();
            rewards[i][n - 1] += scores[i];
        }
        return new Result(rewards, nonScore, kls);
    }
}
