package dev.stackllama4j.dpo;

import dev.stackllama4j.reward.PairwiseLoss;

/**
 * The DPO losses of a batch of preference pairs, as TRL's DPOTrainer.dpo_loss, with their
 * gradients. Inputs are sequence log-probs (sums over the answer's tokens) of the chosen and
 * rejected answers under the policy (π) and the reference (ref). With
 * {@code h = (π_c − π_r) − (ref_c − ref_r)}:
 *
 * <pre>
 * sigmoid  loss = −(1−ε)·logσ(β·h) − ε·logσ(−β·h)      (DPO; ε &gt; 0 is cDPO's label smoothing)
 * hinge    loss = max(0, 1 − β·h)                        (SLiC)
 * ipo      loss = (h − 1/(2β))²                          (IPO)
 * </pre>
 *
 * averaged over the pairs. Implicit rewards: {@code β·(π_c − ref_c)} and {@code β·(π_r − ref_r)}.
 * Gradients are with respect to π_c and π_r (the reference gets none); at the hinge's kink
 * (β·h = 1) the gradient is taken as 0. Pure functions in float64.
 */
public final class DpoLoss {
    private DpoLoss() {}

    /** The loss variants (TRL's loss_type). */
    public enum Kind {
        SIGMOID, HINGE, IPO;

        public static Kind parse(String s) {
            return switch (s) {
                case "sigmoid" -> SIGMOID;
                case "hinge" -> HINGE;
                case "ipo" -> IPO;
                default -> throw new IllegalArgumentException("--loss-type must be sigmoid, hinge or ipo, got " + s);
            };
        }
    }

    /**
     * Loss, gradients and TRL's stats (means over the pairs).
     *
     * @param dChosen d loss / d π_c per pair
     * @param dRejected d loss / d π_r per pair
     * @param rewardsChosen rewards/chosen: mean β·(π_c − ref_c)
     * @param rewardsRejected rewards/rejected: mean β·(π_r − ref_r)
     * @param accuracy rewards/accuracies: fraction of pairs whose chosen reward is larger (ties count as wrong)
     * @param margin rewards/margins: mean of chosen minus rejected reward
     * @param logpsChosen logps/chosen: mean π_c
     * @param logpsRejected logps/rejected: mean π_r
     */
    public record Result(double loss, double[] dChosen, double[] dRejected, double rewardsChosen, double rewardsRejected,
                         double accuracy, double margin, double logpsChosen, double logpsRejected) {}

    public static Result compute(double[] policyChosen, double[] policyRejected, double[] refChosen, double[] refRejected,
                                 Kind kind, double beta, double labelSmoothing) {
        int n = policyChosen.length;
        if (n == 0 || policyRejected.length != n || refChosen.length != n || refRejected.length != n)
            throw new IllegalArgumentException("need equally many (> 0) policy and reference log-probs of chosen and rejected answers");
        double loss = 0, rc = 0, rr = 0, acc = 0, lc = 0, lr = 0;
        double[] dc = new double[n], dr = new double[n];
        for (int i = 0; i < n; i++) {
            double h = (policyChosen[i] - policyRejected[i]) - (refChosen[i] - refRejected[i]);
            loss += loss(h, kind, beta, labelSmoothing) / n;
            double g = dLossDh(h, kind, beta, labelSmoothing) / n;
            dc[i] = g;
            dr[i] = -g;
            double cr = beta * (policyChosen[i] - refChosen[i]), rj = beta * (policyRejected[i] - refRejected[i]);
            rc += cr / n;
            rr += rj / n;
            if (cr > rj) acc += 1.0 / n;
            lc += policyChosen[i] / n;
            lr += policyRejected[i] / n;
        }
        return new Result(loss, dc, dr, rc, rr, acc, rc - rr, lc, lr);
    }

    /** One pair's loss at log-ratio difference {@code h}. */
    public static double loss(double h, Kind kind, double beta, double labelSmoothing) {
        return switch (kind) {
            case SIGMOID -> -(1 - labelSmoothing) * PairwiseLoss.logSigmoid(beta * h) - labelSmoothing * PairwiseLoss.logSigmoid(-beta * h);
            case HINGE -> Math.max(0, 1 - beta * h);
            case IPO -> (h - 1 / (2 * beta)) * (h - 1 / (2 * beta));
        };
    }

    /** d {@link #loss} / d h. */
    public static double dLossDh(double h, Kind kind, double beta, double labelSmoothing) {
        return switch (kind) {
            case SIGMOID -> -(1 - labelSmoothing) * beta * PairwiseLoss.sigmoid(-beta * h) + labelSmoothing * beta * PairwiseLoss.sigmoid(beta * h);
            case HINGE -> 1 - beta * h > 0 ? -beta : 0;
            case IPO -> 2 * (h - 1 / (2 * beta));
        };
    }
}
