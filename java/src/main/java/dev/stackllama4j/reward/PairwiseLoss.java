package dev.stackllama4j.reward;

/**
 * The reward model's loss on a batch of pairs: {@code -mean(logsigmoid(r_j - r_k))}, with its
 * gradients with respect to each score. Pure functions, computed in float64.
 */
public final class PairwiseLoss {
    private PairwiseLoss() {}

    /** Loss and d loss / d r_j, d loss / d r_k for each pair. */
    public record Result(double loss, double[] dChosen, double[] dRejected) {}

    public static Result compute(double[] chosen, double[] rejected) {
        int n = chosen.length;
        if (n == 0 || rejected.length != n) throw new IllegalArgumentException("need equally many chosen and rejected scores (> 0)");
        double loss = 0;
        double[] dj = new double[n], dk = new double[n];
        for (int i = 0; i < n; i++) {
            double d = chosen[i] - rejected[i];
            loss -= logSigmoid(d) / n;
            double g = -sigmoid(-d) / n;  // d/d(d) of -logsigmoid(d)/n
            dj[i] = g;
            dk[i] = -g;
        }
        return new Result(loss, dj, dk);
    }

    /** log σ(x), stable for large |x|. */
    public static double logSigmoid(double x) {
        return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
    }

    public static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }

    /** Fraction of pairs with r_j > r_k; ties count as incorrect. */
    public static double accuracy(double[] chosen, double[] rejected) {
        int ok = 0;
        for (int i = 0; i < chosen.length; i++) if (chosen[i] > rejected[i]) ok++;
        return chosen.length == 0 ? Double.NaN : ok / (double) chosen.length;
    }
}
