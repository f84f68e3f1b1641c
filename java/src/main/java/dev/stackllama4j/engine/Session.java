package dev.stackllama4j.engine;

import dev.stackllama4j.bridge.global.sl4j;
import dev.stackllama4j.bridge.sl4j_session;
import dev.stackllama4j.bridge.sl4j_session_params;

/**
 * A KV cache for several sequences decoding side by side, and the forward pass over batches of
 * tokens from any of them, with an optional LoRA adapter of its own. Not thread-safe: one thread
 * at a time per session (sessions of one model may run on different threads, each with its own
 * adapter). Close it before its model; one that is garbage-collected open is freed with a warning.
 */
public final class Session implements AutoCloseable {
    private final NativeHandle<sl4j_session> handle;
    private final LlamaModel model;
    private LoraAdapter lora;
    private final int sequences;
    private final int context;
    private int nOutputs;
    private boolean hasLogits;

    private Session(LlamaModel model, sl4j_session h, int sequences, int context) {
        this.model = model;
        model.sessionOpened();
        this.handle = NativeHandle.register(this, "Session", h, p -> {
            sl4j.sl4j_session_free(p);
            model.sessionClosed();
        }, model);
        this.sequences = sequences;
        this.context = context;
    }

    /** Refuses a context past the model's ({@link LlamaModel#contextLength()}: the trained one unless raised explicitly). */
    static Session create(LlamaModel model, int sequences, int context, KvType kv, Precision precision) {
        if (context > model.contextLength())
            throw new EngineException.InvalidArgument(model.path() + ": " + context + " positions asked for, past the model's context of "
                    + model.contextLength() + " tokens");
        sl4j_session h = new sl4j_session();
        try (sl4j_session_params p = sl4j.sl4j_session_default_params()) {
            p.n_seq(sequences).n_ctx(context).kv_type(kv.type.id).precision(precision.id);
            Native.check(sl4j.sl4j_session_init_params(model.handle(), p, h));
        }
        return new Session(model, h, sequences, context);
    }

    /** Bytes of this session's KV cache. */
    public long kvBytes() {
        return sl4j.sl4j_session_kv_bytes(h());
    }

    /**
     * Appends {@code tokens[i]} to sequence {@code seqIds[i]} (null: all sequence 0), in order.
     * Rows with {@code outputs[i]} (null: all rows) produce a hidden state and, if {@code logits},
     * logits. Returns the number of output rows. On failure the cache is unchanged.
     */
    public int decode(int[] tokens, int[] seqIds, boolean[] outputs, boolean logits) {
        return decode(tokens, seqIds, outputs, null, logits);
    }

    /** As {@link #decode(int[], int[], boolean[], boolean)}, with per-row document starts (packing). */
    public int decode(int[] tokens, int[] seqIds, boolean[] outputs, long[] docStart, boolean logits) {
        if (tokens.length == 0) throw new IllegalArgumentException("decode needs at least one token");
        if (seqIds != null && seqIds.length != tokens.length)
            throw new IllegalArgumentException("seqIds has " + seqIds.length + " entries for " + tokens.length + " tokens");
        if (outputs != null && outputs.length != tokens.length)
            throw new IllegalArgumentException("outputs has " + outputs.length + " entries for " + tokens.length + " tokens");
        if (docStart != null && docStart.length != tokens.length)
            throw new IllegalArgumentException("docStart has " + docStart.length + " entries for " + tokens.length + " tokens");
        byte[] out = null;
        if (outputs != null) {
            out = new byte[outputs.length];
            for (int i = 0; i < out.length; i++) out[i] = (byte) (outputs[i] ? 1 : 0);
        }
        Native.check(sl4j.sl4j_session_decode(h(), tokens, seqIds, out, docStart, tokens.length, logits ? 1 : 0));
        nOutputs = sl4j.sl4j_session_n_outputs(h());
        hasLogits = logits;
        return nOutputs;
    }

    /** Logits of the last decode's output rows, flattened [outputs × vocab], into {@code dst}. */
    public void logits(float[] dst) {
        Native.check(sl4j.sl4j_session_get_logits(h(), dst, dst.length));
    }

    public float[][] logitRows() {
        int v = (int) model.info().vocab();
        float[] flat = new float[nOutputs * v];
        logits(flat);
        return split(flat, nOutputs, v);
    }

    /** Hidden states of the last decode's output rows, flattened [outputs × dim], into {@code dst}. */
    public void hidden(float[] dst) {
        Native.check(sl4j.sl4j_session_get_hidden(h(), dst, dst.length));
    }

    public float[][] hiddenRows() {
        int d = (int) model.info().dim();
        float[] flat = new float[nOutputs * d];
        hidden(flat);
        return split(flat, nOutputs, d);
    }

    /** log p(targets[i]) under output row i of the last decode (which must have computed logits). */
    public float[] logProbs(int[] targets) {
        if (!hasLogits) throw new IllegalStateException("the last decode did not compute logits");
        float[] out = new float[targets.length];
        Native.check(sl4j.sl4j_session_get_logprobs(h(), targets, out, targets.length));
        return out;
    }

    public int outputs() {
        return nOutputs;
    }

    /**
     * Runs the projections with {@code lora} merged on the fly (no dropout); null detaches it,
     * {@code enabled = false} keeps it attached but runs the base model. The adapter must outlive
     * the attachment.
     */
    public void setLora(LoraAdapter lora, boolean enabled) {
        Native.check(sl4j.sl4j_session_set_lora(h(), lora == null ? null : lora.handle(), enabled ? 1 : 0));
        this.lora = lora;
    }

    /** The attached adapter, or null. */
    public LoraAdapter lora() {
        return lora;
    }

    /** Positions filled in a sequence. */
    public int length(int seq) {
        if (seq < 0 || seq >= sequences) throw new IndexOutOfBoundsException("sequence " + seq + " of " + sequences);
        return sl4j.sl4j_session_length(h(), seq);
    }

    /** Forgets positions >= len of one sequence. */
    public void truncate(int seq, int len) {
        Native.check(sl4j.sl4j_session_truncate(h(), seq, len));
    }

    /** Empties every sequence. */
    public void reset() {
        Native.check(sl4j.sl4j_session_truncate(h(), -1, 0));
    }

    public int sequences() {
        return sequences;
    }

    public int context() {
        return context;
    }

    public LlamaModel model() {
        return model;
    }

    private static float[][] split(float[] flat, int rows, int cols) {
        float[][] out = new float[rows][];
        for (int r = 0; r < rows; r++) out[r] = java.util.Arrays.copyOfRange(flat, r * cols, (r + 1) * cols);
        return out;
    }

    sl4j_session h() {
        sl4j_session p = handle.get();
        if (p == null) throw new IllegalStateException("session is closed");
        return p;
    }

    @Override
    public void close() {
        handle.close();
        lora = null;
    }
}
