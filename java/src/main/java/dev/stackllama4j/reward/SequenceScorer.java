package dev.stackllama4j.reward;

import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.Trainer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs sequences of different lengths through model + adapter and applies the head to the final
 * hidden state of each sequence's last token. Sequences are right-padded to a power-of-two bucket
 * (causal attention: padding after the last token cannot change it); one native trainer is kept
 * per (count, bucket). {@link #backward} pushes d loss / d score back into the adapter and head.
 * Not thread-safe.
 */
public final class SequenceScorer implements AutoCloseable {
    private final LlamaModel model;
    private final LoraAdapter lora;
    private final RewardHead head;
    private final int pad, dim;
    private final Map<Long, Slot> slots = new HashMap<>();
    private Slot last;
    private long forwards;
    private int[] lastLengths;

    private static final class Slot {
        final Trainer trainer;
        final int[] tokens, targets;
        final float[] logProbs, hidden, dHidden;

        Slot(Trainer t, int rows, int dim) {
            trainer = t;
            tokens = new int[rows];
            targets = new int[rows];
            java.util.Arrays.fill(targets, Trainer.IGNORE);
            logProbs = new float[rows];
            hidden = new float[rows * dim];
            dHidden = new float[rows * dim];
        }
    }

    public SequenceScorer(LlamaModel model, LoraAdapter lora, RewardHead head, int padToken) {
        this.model = model;
        this.lora = lora;
        this.head = head;
        this.pad = padToken;
        this.dim = (int) model.info().dim();
        if (head.weight.length != dim)
            throw new IllegalArgumentException("head has " + head.weight.length + " weights, the model's hidden size is " + dim);
    }

    /** Scores of each sequence (model in training mode when {@code training}, i.e. with dropout). */
    public double[] score(List<int[]> seqs, boolean training) {
        int n = seqs.size(), longest = 0;
        for (int[] s : seqs) {
            if (s.length == 0) throw new IllegalArgumentException("cannot score an empty sequence");
            longest = Math.max(longest, s.length);
        }
        int bucket = Integer.highestOneBit(Math.max(16, longest) - 1) << 1;
        Slot slot = slots.computeIfAbsent(((long) n << 32) | bucket,
                k -> new Slot(Trainer.create(model, lora, n, bucket, false), n * bucket, dim));
        slot.trainer.setTraining(training);
        // one dropout-mask counter across all slots, so a checkpoint can restore it
        slot.trainer.setForwardCount(forwards);
        int[] lengths = new int[n];
        for (int i = 0; i < n; i++) {
            int[] s = seqs.get(i);
            lengths[i] = s.length;
            System.arraycopy(s, 0, slot.tokens, i * bucket, s.length);
            java.util.Arrays.fill(slot.tokens, i * bucket + s.length, (i + 1) * bucket, pad);
        }
        slot.trainer.forward(slot.tokens, slot.targets, null, slot.logProbs, slot.hidden);
        forwards = slot.trainer.forwardCount();
        double[] scores = new double[n];
        for (int i = 0; i < n; i++) scores[i] = head.score(slot.hidden, i * bucket + lengths[i] - 1);
        last = slot;
        lastLengths = lengths;
        return scores;
    }

    /** Backward of the last {@link #score}: head grad += ..., adapter grad += gradScale · ... */
    public void backward(double[] dScores, float gradScale) {
        if (last == null) throw new IllegalStateException("backward needs a score() first");
        int bucket = last.tokens.length / lastLengths.length;
        java.util.Arrays.fill(last.dHidden, 0f);
        for (int i = 0; i < dScores.length; i++) {
            head.backward(last.hidden, i * bucket + lastLengths[i] - 1, dScores[i] * gradScale, last.dHidden);
        }
        last.trainer.backward(null, last.dHidden, 1f);
        last = null;
    }

    /** Forward passes run (the dropout masks' counter; checkpoints keep it). */
    public long forwardCount() {
        return forwards;
    }

    public void setForwardCount(long n) {
        forwards = n;
    }

    @Override
    public void close() {
        for (Slot s : slots.values()) s.trainer.close();
        slots.clear();
    }
}
