package dev.stackllama4j.rl;

/**
 * The clipped PPO loss of one mini-batch, as TRL's PPOTrainer.loss, with its gradients.
 *
 * <pre>
 * ratio      = exp(lp − lp_old)
 * pg_loss    = mean(max(−A·ratio, −A·clip(ratio, 1−c, 1+c)))
 * v_clipped  = clip(v, v_old − cv, v_old + cv)
 * vf_loss    = ½·mean(max((v − R)², (v_clipped − R)²))
 * loss       = pg_loss + vf_coef·vf_loss
 * </pre>
 *
 * Means run over every token of the mini-batch. Gradients: where the clipped branch is strictly
 * larger, the clip is active (its input lies outside the range), so that token's gradient is 0;
 * otherwise d/dlp = −A·ratio/N and d/dv = vf_coef·(v − R)/N. On exact ties the unclipped branch is
 * taken, which is the same gradient whenever the clip is inactive. A mini-batch whose mean ratio
 * exceeds the ratio threshold is skipped: losses and gradients are zero (TRL multiplies by 0).
 * Gradient accumulation is the caller's: TRL (accelerate) divides each mini-batch's loss by the
 * number of accumulation steps, so scale these gradients by 1/gradAccum.
 */
public final class PpoLoss {
    private PpoLoss() {}

    /**
     * One mini-batch, ragged, all the same shape.
     *
     * @param oldLogprobs log-probs of the sampled tokens at rollout time
     * @param logprobs log-probs under the current policy (what the gradient is taken against)
     * @param oldValues value-head outputs at rollout time
     * @param vpreds value-head outputs now (what the gradient is taken against)
     * @param advantages (whitened) advantages
     * @param returns GAE returns
     * @param entropy per-token entropy of the current policy, for the stat only; may be null
     */
    public record Batch(double[][] oldLogprobs, double[][] logprobs, double[][] oldValues, double[][] vpreds,
                        double[][] advantages, double[][] returns, double[][] entropy) {
        public Batch {
            Ragged.requireSameShape(oldLogprobs, "oldLogprobs", logprobs, "logprobs");
            Ragged.requireSameShape(oldLogprobs, "oldLogprobs", oldValues, "oldValues");
            Ragged.requireSameShape(oldLogprobs, "oldLogprobs", vpreds, "vpreds");
            Ragged.requireSameShape(oldLogprobs, "oldLogprobs", advantages, "advantages");
            Ragged.requireSameShape(oldLogprobs, "oldLogprobs", returns, "returns");
            if (entropy != null) Ragged.requireSameShape(oldLogprobs, "oldLogprobs", entropy, "entropy");
            if (Ragged.count(oldLogprobs) == 0) throw new IllegalArgumentException("mini-batch has no tokens");
        }

        /** Rows {@code idx} of a whole batch's arrays. */
        public static Batch select(Batch all, int[] idx) {
            return new Batch(Ragged.select(all.oldLogprobs, idx), Ragged.select(all.logprobs, idx),
                    Ragged.select(all.oldValues, idx), Ragged.select(all.vpreds, idx), Ragged.select(all.advantages, idx),
                    Ragged.select(all.returns, idx), all.entropy == null ? null : Ragged.select(all.entropy, idx));
        }
    }

    /**
     * Loss, gradients and TRL's per-mini-batch train stats (names relative to {@code ppo/}).
     *
     * @param dLogprobs d loss / d logprobs, per token
     * @param dVpreds d loss / d vpreds, per token
     * @param clipfrac policy/clipfrac: fraction of tokens where the clipped policy term is larger
     * @param approxkl policy/approxkl: ½·mean((lp − lp_old)²)
     * @param policykl policy/policykl: mean(lp_old − lp)
     * @param meanRatio mean of exp(lp − lp_old), compared with the ratio threshold
     * @param skipped the mean ratio exceeded the threshold: losses and gradients are zero
     * @param entropy policy/entropy (NaN when no entropy was given)
     * @param advantagesMean policy/advantages_mean
     * @param returnsMean returns/mean
     * @param returnsVar returns/var (unbiased)
     * @param valVpred val/vpred: mean of vpreds
     * @param valError val/error: mean((vpred − R)²)
     * @param valClipfrac val/clipfrac: fraction of tokens where the clipped value term is larger
     * @param valMean val/mean: mean of the rollout values
     * @param valVar val/var: unbiased variance of the rollout values
     */
    public record Result(double loss, double pgLoss, double vfLoss, double[][] dLogprobs, double[][] dVpreds, double clipfrac,
                         double approxkl, double policykl, double meanRatio, boolean skipped, double entropy,
                         double advantagesMean, double returnsMean, double returnsVar, double valVpred, double valError,
                         double valClipfrac, double valMean, double valVar) {}

    public static Result compute(Batch b, PpoConfig cfg) {
        return compute(b, cfg.cliprange(), cfg.cliprangeValue(), cfg.vfCoef(), cfg.ratioThreshold());
    }

    public static Result compute(Batch b, double cliprange, double cliprangeValue, double vfCoef, double ratioThreshold) {
        int n = Ragged.count(b.logprobs());
        double[][] dLp = Ragged.zerosLike(b.logprobs());
        double[][] dV = Ragged.zerosLike(b.vpreds());
        double pgSum = 0, vfSum = 0, ratioSum = 0, sqSum = 0, klSum = 0, vErrSum = 0;
        int pgClipped = 0, vClipped = 0;
        for (int i = 0; i < dLp.length; i++) {
            for (int t = 0; t < dLp[i].length; t++) {
                double lp = b.logprobs()[i][t], old = b.oldLogprobs()[i][t], adv = b.advantages()[i][t];
                double logRatio = lp - old;
                double ratio = Math.exp(logRatio);
                double pg1 = -adv * ratio;
                double pg2 = -adv * clip(ratio, 1 - cliprange, 1 + cliprange);
                boolean pgClip = pg2 > pg1;
                pgSum += pgClip ? pg2 : pg1;
                if (pgClip) pgClipped++;
                dLp[i][t] = pgClip ? 0 : -adv * ratio / n;

                double v = b.vpreds()[i][t], vOld = b.oldValues()[i][t], ret = b.returns()[i][t];
                double vc = clip(v, vOld - cliprangeValue, vOld + cliprangeValue);
                double vf1 = (v - ret) * (v - ret);
                double vf2 = (vc - ret) * (vc - ret);
                boolean vClip = vf2 > vf1;
                vfSum += vClip ? vf2 : vf1;
                if (vClip) vClipped++;
                dV[i][t] = vClip ? 0 : vfCoef * (v - ret) / n;

                ratioSum += ratio;
                sqSum += logRatio * logRatio;
                klSum += -logRatio;
                vErrSum += vf1;
            }
        }
        double pgLoss = pgSum / n;
        double vfLoss = 0.5 * vfSum / n;
        double meanRatio = ratioSum / n;
        boolean skipped = meanRatio > ratioThreshold;
        if (skipped) {
            pgLoss = 0;
            vfLoss = 0;
            dLp = Ragged.zerosLike(dLp);
            dV = Ragged.zerosLike(dV);
        }
        return new Result(pgLoss + vfCoef * vfLoss, pgLoss, vfLoss, dLp, dV, pgClipped / (double) n, 0.5 * sqSum / n, klSum / n,
                meanRatio, skipped, b.entropy() == null ? Double.NaN : Ragged.mean(b.entropy()), Ragged.mean(b.advantages()),
                Ragged.mean(b.returns()), Ragged.var(b.returns(), true), Ragged.mean(b.vpreds()), vErrSum / n, vClipped / (double) n,
                Ragged.mean(b.oldValues()), Ragged.var(b.oldValues(), true));
    }

    /**
     * TRL's early stop: after a mini-batch, stop this step's optimisation (and drop its pending
     * gradient) when early stopping is on and the policy KL exceeds 1.5 × target-kl.
     */
    public static boolean earlyStop(double policykl, PpoConfig cfg) {
        return cfg.earlyStopping() && policykl > 1.5 * cfg.targetKl();
    }

    static double clip(double x, double lo, double hi) {
        return Math.max(lo, Math.min(hi, x));
    }
}
