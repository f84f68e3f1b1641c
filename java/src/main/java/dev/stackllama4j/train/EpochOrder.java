package dev.stackllama4j.train;

import java.util.SplittableRandom;

/**
 * Walks {@code n} items epoch after epoch, each epoch in its own seeded shuffle: a pure function of
 * the cursor, so a checkpoint that stores the cursor resumes the same sequence. Epoch e is shuffled
 * (Fisher–Yates) with {@code new SplittableRandom(baseSeed + e)}.
 */
public final class EpochOrder {
    private final int n;
    private final long baseSeed;
    private int epoch = -1;
    private final int[] perm;

    public EpochOrder(int n, long baseSeed) {
        if (n < 1) throw new IllegalArgumentException("nothing to order");
        this.n = n;
        this.baseSeed = baseSeed;
        this.perm = new int[n];
    }

    /** The item index at position {@code cursor} of the endless sequence. */
    public int at(long cursor) {
        int e = (int) (cursor / n);
        if (e != epoch) {
            for (int i = 0; i < n; i++) perm[i] = i;
            SplittableRandom r = new SplittableRandom(baseSeed + e);
            for (int i = n - 1; i > 0; i--) {
                int j = r.nextInt(i + 1), t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            epoch = e;
        }
        return perm[(int) (cursor % n)];
    }
}
