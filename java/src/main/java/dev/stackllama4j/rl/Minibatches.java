package dev.stackllama4j.rl;

import java.util.Random;

/**
 * Sample indices of one PPO epoch: a fresh permutation of the batch cut into mini-batches in
 * order, as TRL's step loop (np.random.permutation, then backward batches, then mini-batches).
 */
public final class Minibatches {
    private Minibatches() {}

    public static int[][] shuffled(int batchSize, int miniBatchSize, Random rng) {
        if (miniBatchSize < 1 || batchSize % miniBatchSize != 0) {
            throw new IllegalArgumentException("batch size " + batchSize + " is not a multiple of mini-batch size " + miniBatchSize);
        }
        int[] perm = new int[batchSize];
        for (int i = 0; i < batchSize; i++) perm[i] = i;
        for (int i = batchSize - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        int[][] out = new int[batchSize / miniBatchSize][miniBatchSize];
        for (int k = 0; k < batchSize; k++) out[k / miniBatchSize][k % miniBatchSize] = perm[k];
        return out;
    }
}
