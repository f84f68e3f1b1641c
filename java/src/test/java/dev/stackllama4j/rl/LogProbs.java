package dev.stackllama4j.rl;

/** Log-softmax and entropy of one logits row, in double (rows from the engine are float). */
public final class LogProbs {
    private LogProbs() {}

    /** log softmax(logits), max-shifted so large logits cannot overflow. */
    public static float[] logSoftmax(float[] logits) {
        double lse = logSumExp(logits);
        float[] out = new float[logits.length];
        for (int v = 0; v < logits.length; v++) out[v] = (float) (logits[v] - lse);
        return out;
    }

    /** Entropy −Σ p log p of softmax(logits) = logsumexp − Σ p·logit, as TRL's entropy_from_logits. */
    public static double entropyFromLogits(float[] logits) {
        double lse = logSumExp(logits);
        double s = 0;
        for (float l : logits) {
            if (l == Float.NEGATIVE_INFINITY) continue;
            s += Math.exp(l - lse) * l;
        }
        return lse - s;
    }

    static double logSumExp(float[] x) {
        if (x.length == 0) throw new IllegalArgumentException("empty logits row");
        double m = Double.NEGATIVE_INFINITY;
        for (float v : x) m = Math.max(m, v);
        if (m == Double.NEGATIVE_INFINITY) throw new IllegalArgumentException("logits row is all -inf");
        double s = 0;
        for (float v : x) s += Math.exp(v - m);
        return m + Math.log(s);
    }
}
