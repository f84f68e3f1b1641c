package dev.stackllama4j.reward;

import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.TrainerPool;
import java.util.List;

/**
 * Applies a scalar head to the final hidden state of each sequence's last token, for sequences of
 * different lengths (see {@link TrainerPool}); {@link #backward} pushes d loss / d score back into
 * the adapter and the head. Not thread-safe.
 */
public final class SequenceScorer implements AutoCloseable {
    private final TrainerPool pool;
    private final RewardHead head;
    private TrainerPool.Batch last;

    public SequenceScorer(LlamaModel model, LoraAdapter lora, RewardHead head, int padToken) {
        this.pool = new TrainerPool(model, lora, padToken);
        this.head = head;
        if (head.weight.length != pool.dim())
            throw new IllegalArgumentException("head has " + head.weight.length + " weights, the model's hidden size is " + pool.dim());
    }

    /**
     * Scores of each sequence. {@code training}: with dropout, keeping what {@link #backward}
     * needs; otherwise inference (nothing kept).
     */
    public double[] score(List<int[]> seqs, boolean training) {
        TrainerPool.Batch b = pool.forward(seqs, false, training, true, training);
        double[] scores = new double[b.count];
        for (int i = 0; i < b.count; i++) scores[i] = head.score(b.hidden, b.row(i, b.lengths[i] - 1));
        last = training ? b : null;
        return scores;
    }

    /** Backward of the last {@link #score}: head and adapter gradients += gradScale · d loss. */
    public void backward(double[] dScores, float gradScale) {
        if (last == null) throw new IllegalStateException("backward needs a score() first");
        java.util.Arrays.fill(last.dHidden, 0f);
        for (int i = 0; i < dScores.length; i++)
            head.backward(last.hidden, last.row(i, last.lengths[i] - 1), dScores[i] * gradScale, last.dHidden);
        pool.backward(last, false, true, 1f);
        last = null;
    }

    /** Forward passes run (the dropout masks' counter; checkpoints keep it). */
    public long forwardCount() {
        return pool.forwardCount();
    }

    public void setForwardCount(long n) {
        pool.setForwardCount(n);
    }

    @Override
    public void close() {
        pool.close();
    }
}
