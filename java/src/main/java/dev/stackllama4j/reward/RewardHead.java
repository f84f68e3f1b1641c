package dev.stackllama4j.reward;

import dev.stackllama4j.engine.AdamW;
import java.util.Random;

/**
 * The scalar head: Linear(dim, 1, no bias) on the final hidden state (after the output norm) of
 * the last non-padding token, trained fully with its own AdamW moments. Also serves as PPO's value
 * head (there applied at every response token).
 */
public final class RewardHead {
    public final float[] weight;
    final float[] grad, m, v;
    private long steps;

    public RewardHead(float[] weight) {
        this.weight = weight;
        this.grad = new float[weight.length];
        this.m = new float[weight.length];
        this.v = new float[weight.length];
    }

    /** N(0, 1/(dim+1)) initialisation, as transformers initialises a score head (std = initializer_range scale). */
    public static RewardHead init(int dim, long seed) {
        Random r = new Random(seed);
        float[] w = new float[dim];
        double std = 1.0 / Math.sqrt(dim + 1.0);
        for (int i = 0; i < dim; i++) w[i] = (float) (r.nextGaussian() * std);
        return new RewardHead(w);
    }

    /** weight · hidden[row] for a row of a flattened [rows × dim] array. */
    public double score(float[] hidden, int row) {
        int d = weight.length, off = row * d;
        double s = 0;
        for (int i = 0; i < d; i++) s += (double) weight[i] * hidden[off + i];
        return s;
    }

    /** grad += dScore · hidden[row]; dHidden[row] += dScore · weight. */
    public void backward(float[] hidden, int row, double dScore, float[] dHidden) {
        int d = weight.length, off = row * d;
        for (int i = 0; i < d; i++) {
            grad[i] += (float) (dScore * hidden[off + i]);
            dHidden[off + i] += (float) (dScore * weight[i]);
        }
    }

    public void zeroGrad() {
        java.util.Arrays.fill(grad, 0f);
    }

    public double gradNormSquared() {
        double s = 0;
        for (float g : grad) s += (double) g * g;
        return s;
    }

    public void scaleGrad(double f) {
        for (int i = 0; i < grad.length; i++) grad[i] *= (float) f;
    }

    public void step(AdamW opt) {
        opt.update(weight, grad, m, v, ++steps);
    }

    public long steps() {
        return steps;
    }

    /** Restores optimizer state from a checkpoint. */
    public void restore(float[] m, float[] v, long steps) {
        System.arraycopy(m, 0, this.m, 0, m.length);
        System.arraycopy(v, 0, this.v, 0, v.length);
        this.steps = steps;
    }

    public float[] moment1() {
        return m;
    }

    public float[] moment2() {
        return v;
    }
}
