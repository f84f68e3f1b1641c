package dev.stackllama4j.rl;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Optional;

/**
 * One PPO step's statistics under TRL's names (record_step_stats + log_stats), so runs compare
 * with TRL's. objective/kl and objective/entropy are per sequence: the mean over samples of the
 * per-token values summed along the response. ppo/* train stats are the plain mean over the
 * step's mini-batch results (skipped ones included, with their zero losses), as TRL's.
 * var_explained = 1 − val/error ÷ returns/var, both already averaged.
 */
public final class PpoStats {
    /** TRL warns once the mean sequence KL falls below this. */
    public static final double NEGATIVE_KL_WARN_BELOW = -1.0;

    private final Map<String, Double> values;

    private PpoStats(Map<String, Double> values) {
        this.values = Collections.unmodifiableMap(values);
    }

    /**
     * @param rawRewards the rewards the caller logs (StackLLaMA: score − baseline): env/reward_*
     * @param scores the scores after scaling/clipping, as put on the last tokens: ppo/mean_scores
     * @param rewards the step's per-token rewards, penalties and KL values
     * @param logprobs rollout log-probs of the responses: objective/entropy (−Σ lp per sample)
     * @param queryLengths tokens of each query: tokens/queries_len_*
     * @param klCoef β used for this step's rewards (before the controller update)
     * @param learningRate the optimizer's learning rate in this step: ppo/learning_rate
     * @param train one result per mini-batch pass run in this step
     */
    public static PpoStats of(double[] rawRewards, double[] scores, Rewards.Result rewards, double[][] logprobs, int[] queryLengths,
                              double klCoef, double learningRate, List<PpoLoss.Result> train) {
        Ragged.requireSameShape(rewards.kls(), "kls", logprobs, "logprobs");
        if (queryLengths.length != logprobs.length)
            throw new IllegalArgumentException(queryLengths.length + " query lengths for " + logprobs.length + " responses");
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("objective/kl", Ragged.meanOfRowSums(rewards.kls()));
        m.put("objective/kl_coef", klCoef);
        double negSum = 0;
        for (double[] row : logprobs) {
            for (double lp : row) negSum -= lp;
        }
        m.put("objective/entropy", logprobs.length == 0 ? Double.NaN : negSum / logprobs.length);
        m.put("ppo/mean_non_score_reward", Ragged.mean(rewards.nonScoreRewards()));
        m.put("ppo/mean_scores", mean(scores));
        m.put("ppo/std_scores", std(scores));
        double[] qlens = new double[queryLengths.length], lens = new double[logprobs.length];
        for (int i = 0; i < lens.length; i++) {
            qlens[i] = queryLengths[i];
            lens[i] = logprobs[i].length;
        }
        m.put("tokens/queries_len_mean", mean(qlens));
        m.put("tokens/queries_len_std", std(qlens));
        m.put("tokens/responses_len_mean", mean(lens));
        m.put("tokens/responses_len_std", std(lens));
        m.put("ppo/learning_rate", learningRate);
        m.put("ppo/loss/policy", avg(train, PpoLoss.Result::pgLoss));
        m.put("ppo/loss/value", avg(train, PpoLoss.Result::vfLoss));
        m.put("ppo/loss/total", avg(train, PpoLoss.Result::loss));
        m.put("ppo/policy/entropy", avg(train, PpoLoss.Result::entropy));
        m.put("ppo/policy/approxkl", avg(train, PpoLoss.Result::approxkl));
        m.put("ppo/policy/policykl", avg(train, PpoLoss.Result::policykl));
        m.put("ppo/policy/clipfrac", avg(train, PpoLoss.Result::clipfrac));
        m.put("ppo/policy/advantages_mean", avg(train, PpoLoss.Result::advantagesMean));
        m.put("ppo/returns/mean", avg(train, PpoLoss.Result::returnsMean));
        m.put("ppo/returns/var", avg(train, PpoLoss.Result::returnsVar));
        m.put("ppo/val/vpred", avg(train, PpoLoss.Result::valVpred));
        m.put("ppo/val/error", avg(train, PpoLoss.Result::valError));
        m.put("ppo/val/clipfrac", avg(train, PpoLoss.Result::valClipfrac));
        m.put("ppo/val/mean", avg(train, PpoLoss.Result::valMean));
        m.put("ppo/val/var", avg(train, PpoLoss.Result::valVar));
        m.put("ppo/val/var_explained", 1 - m.get("ppo/val/error") / m.get("ppo/returns/var"));
        m.put("ppo/minibatches", (double) train.size());
        m.put("ppo/minibatches_skipped", (double) train.stream().filter(PpoLoss.Result::skipped).count());
        m.put("env/reward_mean", mean(rawRewards));
        m.put("env/reward_std", std(rawRewards));
        return new PpoStats(m);
    }

    /** Name → value in a stable order (insertion order above). */
    public Map<String, Double> map() {
        return values;
    }

    public double get(String name) {
        Double v = values.get(name);
        if (v == null) throw new IllegalArgumentException("no stat named '" + name + "'");
        return v;
    }

    /** {@link #negativeKlWarning(double)} of this step's objective/kl. */
    public Optional<String> negativeKlWarning() {
        return negativeKlWarning(get("objective/kl"));
    }

    /** A warning, with its cause, when the mean sequence KL is below {@link #NEGATIVE_KL_WARN_BELOW}. */
    public static Optional<String> negativeKlWarning(double meanKl) {
        if (!(meanKl < NEGATIVE_KL_WARN_BELOW)) return Optional.empty();
        return Optional.of(String.format(Locale.ROOT,
                "KL to the reference is negative (objective/kl = %.3f). The true KL is never negative, but the 'kl' "
                        + "estimator (lp - ref of the sampled tokens) is only unbiased when tokens are sampled from the policy "
                        + "itself. Top-k or top-p filtering, a temperature other than 1, or forcing a minimum number of tokens "
                        + "(suppressing EOS) samples from a different distribution, which can favour tokens the reference rates "
                        + "higher than the policy and drive the estimate below zero; the KL penalty then turns into a bonus "
                        + "and training can fail. Sample from the full distribution (top-k off, top-p 1, temperature 1), or use "
                        + "--kl-penalty abs, mse or full.",
                meanKl));
    }

    private interface Field {
        double of(PpoLoss.Result r);
    }

    private static double avg(List<PpoLoss.Result> rs, Field f) {
        if (rs.isEmpty()) return Double.NaN;
        double s = 0;
        for (PpoLoss.Result r : rs) s += f.of(r);
        return s / rs.size();
    }

    static double mean(double[] x) {
        if (x.length == 0) return Double.NaN;
        double s = 0;
        for (double v : x) s += v;
        return s / x.length;
    }

    /** Unbiased, as torch.std. */
    static double std(double[] x) {
        if (x.length < 2) return Double.NaN;
        double m = mean(x), s = 0;
        for (double v : x) s += (v - m) * (v - m);
        return Math.sqrt(s / (x.length - 1));
    }
}
