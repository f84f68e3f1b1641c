package dev.stackllama4j.rl;

/**
 * TRL's masked_whiten over every token of a batch: {@code (x − mean)·rsqrt(var + 1e-8)}, with the
 * unbiased (Bessel-corrected, n − 1) variance that both {@code masked_var} and {@code torch.var}
 * use; {@code shiftMean = false} adds the mean back (used for rewards).
 */
public final class Whiten {
    static final double EPS = 1e-8;

    private Whiten() {}

    public static double[][] whiten(double[][] values, boolean shiftMean) {
        int n = Ragged.count(values);
        if (n < 2) {
            throw new IllegalArgumentException("whitening needs at least 2 tokens in the batch (unbiased variance), got " + n);
        }
        double mean = Ragged.mean(values);
        double scale = 1.0 / Math.sqrt(Ragged.var(values, true) + EPS);
        double[][] out = new double[values.length][];
        for (int i = 0; i < values.length; i++) {
            out[i] = new double[values[i].length];
            for (int t = 0; t < out[i].length; t++) {
                out[i][t] = (values[i][t] - mean) * scale + (shiftMean ? 0 : mean);
            }
        }
        return out;
    }
}
