package dev.stackllama4j.engine;

import dev.stackllama4j.bridge.global.sl4j;
import dev.stackllama4j.bridge.sl4j_trainer;
import dev.stackllama4j.bridge.sl4j_trainer_params;

/**
 * Runs batches of {@code batch × seqLen} packed tokens through model + adapter, without a KV
 * cache, for training. Arrays are row-major, row = sequence·seqLen + position. {@code targets}
 * are already shifted (targets[t] = tokens[t+1]), -100 leaves a row out of the loss;
 * {@code docStart} (nullable) isolates packed documents. Not thread-safe.
 */
public final class Trainer implements AutoCloseable {
    public static final int IGNORE = -100;

    /** Mean cross-entropy and the number of rows it averages over. */
    public record Loss(double mean, long counted) {}

    private final NativeHandle<sl4j_trainer> handle;
    private final int batch, seqLen;
    private final long dim;

    private Trainer(LlamaModel model, sl4j_trainer handle, int batch, int seqLen, long dim) {
        model.sessionOpened();
        this.handle = NativeHandle.register(this, "Trainer", handle, p -> {
            sl4j.sl4j_trainer_free(p);
            model.sessionClosed();
        }, model);
        this.batch = batch;
        this.seqLen = seqLen;
        this.dim = dim;
    }

    /**
     * @param params what trains: a LoRA adapter, every weight ({@link FullWeights}), or null for
     *     forward-only use of the base model
     */
    public static Trainer create(LlamaModel model, Trainable params, int batch, int seqLen, boolean checkpointing) {
        sl4j_trainer h = new sl4j_trainer();
        try (sl4j_trainer_params p = sl4j.sl4j_trainer_default_params()) {
            p.batch(batch).seq_len(seqLen).checkpointing(checkpointing ? 1 : 0);
            Native.check(sl4j.sl4j_trainer_init(model.handle(), params == null ? null : params.handle(), p, h));
        }
        return new Trainer(model, h, batch, seqLen, model.info().dim());
    }

    /** Forward + mean CE + backward; trainable gradients += gradScale · d loss. */
    public Loss stepCrossEntropy(int[] tokens, int[] targets, long[] docStart, float gradScale) {
        check(tokens, targets, docStart);
        double[] loss = new double[1];
        long[] n = new long[1];
        Native.check(sl4j.sl4j_trainer_step_ce(h(), tokens, targets, docStart, gradScale, loss, n));
        return new Loss(loss[0], n[0]);
    }

    /** Forward + mean CE only (evaluation). */
    public Loss evalCrossEntropy(int[] tokens, int[] targets, long[] docStart) {
        check(tokens, targets, docStart);
        double[] loss = new double[1];
        long[] n = new long[1];
        Native.check(sl4j.sl4j_trainer_eval_ce(h(), tokens, targets, docStart, loss, n));
        return new Loss(loss[0], n[0]);
    }

    /**
     * Forward for a loss computed in Java: fills {@code logProbs} (rows; 0 where the target is
     * -100) and, if not null, {@code hidden} (rows × dim, after the output norm).
     */
    public void forward(int[] tokens, int[] targets, long[] docStart, float[] logProbs, float[] hidden) {
        check(tokens, targets, docStart, logProbs, hidden);
        Native.check(sl4j.sl4j_trainer_forward(h(), tokens, targets, docStart, logProbs, hidden));
    }

    /**
     * The outputs of {@link #forward} computed as inference (no backward may follow): layer by
     * layer, nothing kept per layer, equal to {@link #forward}'s bit for bit. For no-grad passes.
     */
    public void infer(int[] tokens, int[] targets, long[] docStart, float[] logProbs, float[] hidden) {
        check(tokens, targets, docStart, logProbs, hidden);
        Native.check(sl4j.sl4j_trainer_infer(h(), tokens, targets, docStart, logProbs, hidden));
    }

    /**
     * On: {@link #forward} and {@link #infer} also compute each counted row's entropy of its
     * next-token distribution, natively (read with {@link #entropy}). Off by default: one more
     * pass over every row of logits.
     */
    public void setEntropy(boolean on) {
        Native.check(sl4j.sl4j_trainer_set_entropy(h(), on ? 1 : 0));
    }

    /** Per row, −Σ p log p of the last forward's next-token distribution (0 where the target is -100); needs {@link #setEntropy}. */
    public void entropy(float[] dst) {
        if (dst.length != rows()) throw new IllegalArgumentException("entropy needs " + rows() + " entries");
        Native.check(sl4j.sl4j_trainer_entropy(h(), dst));
    }

    /**
     * The exact KL(adapter on ‖ adapter off) of the next-token distributions at the rows whose
     * target is not -100 (0 elsewhere), computed natively over the whole vocabulary: two inference
     * passes without dropout (the dropout-mask counter is left as it was), no logits leave the
     * engine. Needs an adapter; no backward may follow.
     */
    public void inferKl(int[] tokens, int[] targets, long[] docStart, float[] kl) {
        check(tokens, targets, docStart);
        if (kl.length != rows()) throw new IllegalArgumentException("kl needs " + rows() + " entries");
        Native.check(sl4j.sl4j_trainer_infer_kl(h(), tokens, targets, docStart, kl));
    }

    /** Bytes the native trainer's buffers hold now. */
    public long bufferBytes() {
        return sl4j.sl4j_trainer_buffer_bytes(h());
    }

    /** Backward of the last {@link #forward}: d loss / d logProbs and / or d loss / d hidden (nullable). */
    public void backward(float[] dLogProbs, float[] dHidden, float gradScale) {
        Native.check(sl4j.sl4j_trainer_backward(h(), dLogProbs, dHidden, gradScale));
    }

    /** false: the adapter is bypassed (the base model, e.g. PPO's reference policy). */
    public void setAdapterEnabled(boolean enabled) {
        Native.check(sl4j.sl4j_trainer_set_adapter_enabled(h(), enabled ? 1 : 0));
    }

    /** false: evaluation mode (no dropout). */
    public void setTraining(boolean training) {
        Native.check(sl4j.sl4j_trainer_set_training(h(), training ? 1 : 0));
    }

    /** The dropout-mask counter; checkpoints save it so a resumed run draws the same masks. */
    public long forwardCount() {
        return sl4j.sl4j_trainer_forward_count(h());
    }

    public void setForwardCount(long n) {
        Native.check(sl4j.sl4j_trainer_set_forward_count(h(), n));
    }

    public int rows() {
        return batch * seqLen;
    }

    public int batch() {
        return batch;
    }

    public int seqLen() {
        return seqLen;
    }

    private void check(int[] tokens, int[] targets, long[] docStart, float[] logProbs, float[] hidden) {
        check(tokens, targets, docStart);
        if (logProbs.length != rows()) throw new IllegalArgumentException("logProbs needs " + rows() + " entries");
        if (hidden != null && hidden.length != rows() * dim)
            throw new IllegalArgumentException("hidden needs " + rows() * dim + " entries");
    }

    private void check(int[] tokens, int[] targets, long[] docStart) {
        int n = rows();
        if (tokens.length != n || targets.length != n || (docStart != null && docStart.length != n))
            throw new IllegalArgumentException("trainer arrays need " + n + " rows (" + batch + " × " + seqLen + ")");
    }

    private sl4j_trainer h() {
        sl4j_trainer p = handle.get();
        if (p == null) throw new IllegalStateException("trainer is closed");
        return p;
    }

    @Override
    public void close() {
        handle.close();
    }
}
