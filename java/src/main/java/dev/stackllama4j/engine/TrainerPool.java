package dev.stackllama4j.engine;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs batches of sequences of different lengths through a model (+ adapter) with the training
 * engine: sequences are right-padded to a power-of-two bucket (causal attention: padding after a
 * sequence's end cannot change it), and one native {@link Trainer} with reusable buffers is kept
 * per (count, bucket), the two most recently used only (PPO alternates a no-grad and a training
 * shape; older ones are freed so a model's step does not hold every shape it ever ran). One dropout-mask counter runs across all of them, so checkpoints can restore
 * it. Not thread-safe.
 */
public final class TrainerPool implements AutoCloseable {
    /** The buffers of one (count, bucket): row r = sequence · bucket + position. */
    public static final class Batch {
        public final Trainer trainer;
        public final int count, bucket;
        public final int[] tokens, targets, lengths;
        public final float[] logProbs, hidden, dLogProbs, dHidden;
        /** Per row: the entropy of the last forward with entropy on, or the KL of the last {@link #kl}. */
        public final float[] entropy, kl;

        Batch(Trainer t, int count, int bucket, int dim) {
            this.trainer = t;
            this.count = count;
            this.bucket = bucket;
            int rows = count * bucket;
            tokens = new int[rows];
            targets = new int[rows];
            lengths = new int[count];
            logProbs = new float[rows];
            hidden = new float[rows * dim];
            dLogProbs = new float[rows];
            dHidden = new float[rows * dim];
            entropy = new float[rows];
            kl = new float[rows];
        }

        public int row(int seq, int pos) {
            return seq * bucket + pos;
        }
    }

    private final LlamaModel model;
    private final LoraAdapter lora;
    private final int pad, dim;
    private static final int KEEP = 2;
    private final Map<Long, Batch> batches = new LinkedHashMap<>(4, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Batch> eldest) {
            if (size() <= KEEP) return false;
            eldest.getValue().trainer.close();
            return true;
        }
    };
    private long forwards;
    private boolean checkpointing, entropy;

    public TrainerPool(LlamaModel model, LoraAdapter lora, int padToken) {
        this.model = model;
        this.lora = lora;
        this.pad = padToken;
        this.dim = (int) model.info().dim();
    }

    /**
     * Forward over {@code seqs}: targets are the next tokens within each sequence (-100 past its
     * end) when {@code withTargets}, else all -100. Fills the batch's logProbs and hidden. With
     * {@code grad} false the pass is inference (nothing kept, no backward may follow).
     */
    public Batch forward(List<int[]> seqs, boolean withTargets, boolean training, boolean adapterEnabled, boolean grad) {
        Batch b = load(seqs, null);
        if (!withTargets) java.util.Arrays.fill(b.targets, Trainer.IGNORE);
        b.trainer.setTraining(training);
        if (lora != null) b.trainer.setAdapterEnabled(adapterEnabled);
        b.trainer.setForwardCount(forwards);
        b.trainer.setEntropy(entropy && grad);
        if (grad) b.trainer.forward(b.tokens, b.targets, null, b.logProbs, b.hidden);
        else b.trainer.infer(b.tokens, b.targets, null, b.logProbs, b.hidden);
        if (entropy && grad) b.trainer.entropy(b.entropy);
        forwards = b.trainer.forwardCount();
        return b;
    }

    /**
     * The exact KL(adapter on ‖ adapter off) of the next-token distributions, computed natively
     * (batched, no logits copied out): fills the batch's {@code kl} at the rows of sequence i from
     * position {@code firstRow[i]} to its second-to-last token (the rows predicting its tokens from
     * {@code firstRow[i] + 1} on), 0 elsewhere. Draws no dropout masks.
     */
    public Batch kl(List<int[]> seqs, int[] firstRow) {
        if (lora == null) throw new IllegalStateException("the KL to the reference needs an adapter");
        if (firstRow.length != seqs.size()) throw new IllegalArgumentException("one first row per sequence");
        Batch b = load(seqs, firstRow);
        b.trainer.inferKl(b.tokens, b.targets, null, b.kl);
        return b;
    }

    /** The (count, bucket) batch for {@code seqs} with their padded tokens and next-token targets (from firstRow[i] on; null: 0). */
    private Batch load(List<int[]> seqs, int[] firstRow) {
        int n = seqs.size(), longest = 1;
        for (int[] s : seqs) {
            if (s.length == 0) throw new IllegalArgumentException("cannot run an empty sequence");
            longest = Math.max(longest, s.length);
        }
        int bucket = bucket(longest);
        Batch b = batches.computeIfAbsent(((long) n << 32) | bucket,
                k -> new Batch(Trainer.create(model, lora, n, bucket, checkpointing), n, bucket, dim));
        for (int i = 0; i < n; i++) {
            int[] s = seqs.get(i);
            int from = firstRow == null ? 0 : firstRow[i];
            if (from < 0 || from >= s.length) throw new IllegalArgumentException("first row " + from + " outside sequence " + i + " of " + s.length);
            b.lengths[i] = s.length;
            int base = i * bucket;
            System.arraycopy(s, 0, b.tokens, base, s.length);
            java.util.Arrays.fill(b.tokens, base + s.length, base + bucket, pad);
            for (int p = 0; p < bucket; p++) b.targets[base + p] = p >= from && p + 1 < s.length ? s[p + 1] : Trainer.IGNORE;
        }
        return b;
    }

    /** The padded length a sequence of {@code n} tokens runs at: a power of two, at least 16. */
    public static int bucket(int n) {
        return Integer.highestOneBit(Math.max(16, n) - 1) << 1;
    }

    /** Backward of the last forward of {@code b}, from its dLogProbs and dHidden buffers. */
    public void backward(Batch b, boolean useDLogProbs, boolean useDHidden, float gradScale) {
        b.trainer.backward(useDLogProbs ? b.dLogProbs : null, useDHidden ? b.dHidden : null, gradScale);
    }

    /** Activation checkpointing for the trainers made from now on (fewer bytes kept, one more forward per backward). */
    public void setCheckpointing(boolean on) {
        if (on != checkpointing) close();  // cached trainers were made the other way
        checkpointing = on;
    }

    /** On: training (grad) forwards also fill the batch's per-row {@code entropy}, computed natively. */
    public void setEntropy(boolean on) {
        entropy = on;
    }

    public long forwardCount() {
        return forwards;
    }

    public void setForwardCount(long n) {
        forwards = n;
    }

    public int dim() {
        return dim;
    }

    @Override
    public void close() {
        for (Batch b : batches.values()) b.trainer.close();
        batches.clear();
    }
}
