package dev.stackllama4j.rl;

/**
 * Ragged per-token arrays (one row per sample) and TRL's masked reductions over them. Every
 * element of every row counts, so {@code mean} is TRL's {@code masked_mean} and {@code var} its
 * {@code masked_var}.
 */
public final class Ragged {
    private Ragged() {}

    public static int count(double[][] x) {
        int n = 0;
        for (double[] row : x) n += row.length;
        return n;
    }

    /** Mean over all elements; NaN when there are none. */
    public static double mean(double[][] x) {
        double s = 0;
        int n = 0;
        for (double[] row : x) {
            for (double v : row) s += v;
            n += row.length;
        }
        return n == 0 ? Double.NaN : s / n;
    }

    /**
     * Variance over all elements around their mean; unbiased (Bessel, n/(n-1)) as TRL's
     * {@code masked_var} default and {@code torch.var}. NaN when n &lt; 2 (unbiased) or n == 0.
     */
    public static double var(double[][] x, boolean unbiased) {
        int n = count(x);
        if (n == 0 || (unbiased && n < 2)) return Double.NaN;
        double m = mean(x);
        double s = 0;
        for (double[] row : x) {
            for (double v : row) s += (v - m) * (v - m);
        }
        return s / (unbiased ? n - 1 : n);
    }

    /** Mean over samples of each row's sum (TRL's sequence-level KL and entropy). */
    public static double meanOfRowSums(double[][] x) {
        if (x.length == 0) return Double.NaN;
        double s = 0;
        for (double[] row : x) {
            for (double v : row) s += v;
        }
        return s / x.length;
    }

    public static double[][] toDouble(float[][] x) {
        double[][] out = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            out[i] = new double[x[i].length];
            for (int t = 0; t < x[i].length; t++) out[i][t] = x[i][t];
        }
        return out;
    }

    public static float[][] toFloat(double[][] x) {
        float[][] out = new float[x.length][];
        for (int i = 0; i < x.length; i++) {
            out[i] = new float[x[i].length];
            for (int t = 0; t < x[i].length; t++) out[i][t] = (float) x[i][t];
        }
        return out;
    }

    /** Rows {@code idx} of {@code x}, shared not copied (callers never mutate inputs). */
    public static double[][] select(double[][] x, int[] idx) {
        double[][] out = new double[idx.length][];
        for (int i = 0; i < idx.length; i++) out[i] = x[idx[i]];
        return out;
    }

    /** Elements of the same row shape, zero-filled. */
    public static double[][] zerosLike(double[][] x) {
        double[][] out = new double[x.length][];
        for (int i = 0; i < x.length; i++) out[i] = new double[x[i].length];
        return out;
    }

    /** Fails with the row and both lengths when {@code b} is not shaped as {@code a}. */
    public static void requireSameShape(double[][] a, String aName, double[][] b, String bName) {
        if (a == null || b == null) throw new IllegalArgumentException((a == null ? aName : bName) + " is null");
        if (a.length != b.length) {
            throw new IllegalArgumentException(aName + " has " + a.length + " rows but " + bName + " has " + b.length);
        }
        for (int i = 0; i < a.length; i++) {
            if (a[i].length != b[i].length) {
                throw new IllegalArgumentException("row " + i + ": " + aName + " has " + a[i].length + " tokens but " + bName
                        + " has " + b[i].length);
            }
        }
    }
}
