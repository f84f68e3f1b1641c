package dev.stackllama4j.inference;

import java.util.SplittableRandom;

/**
 * Picks a token from one row of logits: greedy, or temperature + top-k + top-p sampling. Holds
 * reusable buffers, so the decode loop allocates nothing; one sampler per thread.
 */
public final class Sampler {
    private final int vocab;
    private final float[] probs;
    private final int[] order;
    private final long[] keys;

    public Sampler(int vocab) {
        this.vocab = vocab;
        this.probs = new float[vocab];
        this.order = new int[vocab];
        this.keys = new long[vocab];
    }

    /**
     * @param logits buffer holding the row at {@code offset}
     * @param banned a token that must not be picked (e.g. EOS before min-new-tokens), or -1
     */
    public int sample(float[] logits, int offset, SamplingParams p, SplittableRandom rng, int banned) {
        if (p.temperature() == 0) return argmax(logits, offset, banned);
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) if (i != banned) max = Math.max(max, logits[offset + i]);
        double inv = 1.0 / p.temperature();
        int n = 0;
        for (int i = 0; i < vocab; i++) {
            if (i == banned) continue;
            probs[i] = (float) Math.exp((logits[offset + i] - max) * inv);
            order[n++] = i;
        }
        int keep = n;
        if (p.topK() > 0 && p.topK() < n) {
            selectTop(n, p.topK());
            keep = p.topK();
        }
        if (p.topP() < 1.0) {
            sortByProb(keep);
            double total = 0;
            for (int i = 0; i < keep; i++) total += probs[order[i]];
            double cum = 0;
            for (int i = 0; i < keep; i++) {
                cum += probs[order[i]];
                if (cum >= p.topP() * total) {
                    keep = i + 1;
                    break;
                }
            }
        }
        double total = 0;
        for (int i = 0; i < keep; i++) total += probs[order[i]];
        double u = rng.nextDouble() * total;
        for (int i = 0; i < keep; i++) {
            u -= probs[order[i]];
            if (u <= 0) return order[i];
        }
        return order[keep - 1];
    }

    static int argmax(float[] logits, int offset, int banned, int vocab) {
        int best = -1;
        for (int i = 0; i < vocab; i++) {
            if (i == banned) continue;
            if (best < 0 || logits[offset + i] > logits[offset + best]) best = i;
        }
        return best;
    }

    private int argmax(float[] logits, int offset, int banned) {
        return argmax(logits, offset, banned, vocab);
    }

    /** Moves the k most probable of order[0..n) to order[0..k) (quickselect, descending). */
    private void selectTop(int n, int k) {
        int lo = 0, hi = n - 1;
        while (lo < hi) {
            float pivot = probs[order[(lo + hi) >>> 1]];
            int i = lo, j = hi;
            while (i <= j) {
                while (probs[order[i]] > pivot) i++;
                while (probs[order[j]] < pivot) j--;
                if (i <= j) {
                    int t = order[i];
                    order[i++] = order[j];
                    order[j--] = t;
                }
            }
            if (k - 1 <= j) hi = j;
            else if (k - 1 >= i) lo = i;
            else break;
        }
    }

    /**
     * Sorts order[0..n) by descending probability, ties by ascending id (for determinism). Probabilities
     * are non-negative, so their IEEE bits order like their values: one primitive sort of
     * (bits, inverted id) keys, no boxing per sampled token.
     */
    private void sortByProb(int n) {
        for (int i = 0; i < n; i++)
            keys[i] = ((long) Float.floatToRawIntBits(probs[order[i]]) << 32) | (0xFFFFFFFFL - order[i]);
        java.util.Arrays.sort(keys, 0, n);
        for (int i = 0; i < n; i++) order[i] = (int) (0xFFFFFFFFL - (keys[n - 1 - i] & 0xFFFFFFFFL));
    }
}
