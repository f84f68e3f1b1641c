package dev.stackllama4j.rl;

/**
 * Float64 references for the engine's native softmax reductions (the trainer's per-row entropy
 * and the {@code full} KL estimator): plain loops over one logits row, max-shifted.
 */
public final class LogProbs {
    private LogProbs() {}

    /** log softmax(logits) in double. */
    public static double[] logSoftmax(float[] logits) {
        if (logits.length == 0) throw new IllegalArgumentException("empty logits row");
        double m = Double.NEGATIVE_INFINITY;
        for (float v : logits) m = Math.max(m, v);
        if (m == Double.NEGATIVE_INFINITY) throw new IllegalArgumentException("logits row is all -inf");
        double s = 0;
        for (float v : logits) s += Math.exp(v - m);
        double lse = m + Math.log(s);
        double[] out = new double[logits.length];
        for (int v = 0; v < logits.length; v++) out[v] = logits[v] - lse;
        return out;
    }

    /** Entropy −Σ p log p of softmax(logits). */
    public static double entropyFromLogits(float[] logits) {
        double h = 0;
        for (double lp : logSoftmax(logits)) {
            if (lp != Double.NEGATIVE_INFINITY) h -= Math.exp(lp) * lp;
        }
        return h;
    }

    /** KL(softmax(p) ‖ softmax(q)) = Σ_v p(v)(log p(v) − log q(v)); terms with p(v) = 0 contribute 0. */
    public static double fullKl(float[] logitsP, float[] logitsQ) {
        if (logitsP.length != logitsQ.length)
            throw new IllegalArgumentException("full KL: policy row has " + logitsP.length + " entries but reference row has " + logitsQ.length);
        double[] lp = logSoftmax(logitsP), lq = logSoftmax(logitsQ);
        double s = 0;
        for (int v = 0; v < lp.length; v++) {
            if (lp[v] == Double.NEGATIVE_INFINITY) continue;
            s += Math.exp(lp[v]) * (lp[v] - lq[v]);
        }
        return s;
    }
}
