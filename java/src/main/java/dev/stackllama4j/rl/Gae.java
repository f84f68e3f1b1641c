package dev.stackllama4j.rl;

/**
 * Generalised advantage estimation per response, as TRL's compute_advantages: backwards from the
 * last token with V(after the last token) = 0, δ_t = r_t + γ·V_{t+1} − V_t,
 * A_t = δ_t + γλ·A_{t+1}; returns = A + V (before any whitening of A).
 */
public final class Gae {
    private Gae() {}

    public record Result(double[][] advantages, double[][] returns) {}

    /** Raw GAE, no whitening. */
    public static Result advantages(double[][] values, double[][] rewards, double gamma, double lam) {
        Ragged.requireSameShape(values, "values", rewards, "rewards");
        double[][] adv = new double[values.length][];
        double[][] ret = new double[values.length][];
        for (int i = 0; i < values.length; i++) {
            double[] v = values[i], r = rewards[i];
            int n = v.length;
            adv[i] = new double[n];
            ret[i] = new double[n];
            double last = 0;
            for (int t = n - 1; t >= 0; t--) {
                double next = t + 1 < n ? v[t + 1] : 0.0;
                double delta = r[t] + gamma * next - v[t];
                last = delta + gamma * lam * last;
                adv[i][t] = last;
                ret[i][t] = last + v[t];
            }
        }
        return new Result(adv, ret);
    }

    /**
     * TRL's full sequence: optionally whiten rewards (mean kept), GAE, returns = A + V, then
     * optionally whiten advantages over the batch's tokens (returns stay unwhitened).
     */
    public static Result compute(double[][] values, double[][] rewards, PpoConfig cfg) {
        double[][] r = cfg.whitenRewards() ? Whiten.whiten(rewards, false) : rewards;
        Result raw = advantages(values, r, cfg.gamma(), cfg.lam());
        if (!cfg.whitenAdvantages()) return raw;
        return new Result(Whiten.whiten(raw.advantages(), true), raw.returns());
    }
}
