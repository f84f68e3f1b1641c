package dev.stackllama4j.engine;

import dev.stackllama4j.bridge.global.sl4j;
import dev.stackllama4j.bridge.sl4j_sampler;
import dev.stackllama4j.bridge.sl4j_sampler_params;
import dev.stackllama4j.inference.Sampling;
import java.util.Map;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * The native sampler of one sequence: picks each next token from a session's logits without
 * copying them to Java, with its own penalty window and seeded random stream (see
 * {@link Sampling} for the controls). Not thread-safe: one per sequence, used by the thread that
 * drives its session. Freed on close, or with a warning when garbage-collected open.
 */
public final class TokenSampler implements AutoCloseable {
    /** A picked token, its log-probability under the model, and the top-n alternatives (may be empty). */
    public record Pick(int token, float logProb, int[] topIds, float[] topLogProbs) {}

    private final NativeHandle<sl4j_sampler> handle;
    private final int vocab;

    private TokenSampler(sl4j_sampler h, int vocab) {
        this.handle = NativeHandle.register(this, "TokenSampler", h, sl4j::sl4j_sampler_free);
        this.vocab = vocab;
    }

    public static TokenSampler create(LlamaModel model, Sampling s) {
        sl4j_sampler h = new sl4j_sampler();
        try (sl4j_sampler_params p = sl4j.sl4j_sampler_default_params()) {
            p.temperature((float) s.temperature()).top_k(s.topK()).top_p((float) s.topP()).min_p((float) s.minP())
                    .repeat_penalty((float) s.repeatPenalty()).frequency_penalty((float) s.frequencyPenalty())
                    .presence_penalty((float) s.presencePenalty()).penalty_last_n(s.penaltyLastN()).seed(s.seed());
            Native.check(sl4j.sl4j_sampler_init(model.handle(), p, h));
        }
        TokenSampler t = new TokenSampler(h, (int) model.info().vocab());
        if (!s.logitBias().isEmpty()) {
            try {
                t.setLogitBias(s.logitBias());
            } catch (RuntimeException e) {
                t.close();
                throw e;
            }
        }
        return t;
    }

    public void setLogitBias(Map<Integer, Float> bias) {
        int[] ids = new int[bias.size()];
        float[] vals = new float[bias.size()];
        int i = 0;
        for (Map.Entry<Integer, Float> e : bias.entrySet()) {
            ids[i] = e.getKey();
            vals[i++] = e.getValue();
        }
        Native.check(sl4j.sl4j_sampler_set_logit_bias(h(), ids, vals, ids.length));
    }

    /** Records a token in the penalty window. */
    public void accept(int token) {
        Native.check(sl4j.sl4j_sampler_accept(h(), token));
    }

    /**
     * Picks a token from output row {@code row} of the session's last decode.
     *
     * @param banned a token that must not be picked (EOS before a minimum length), or -1
     * @param nTop how many most-probable alternatives to report (0: none)
     */
    public Pick sample(Session session, int row, int banned, int nTop) {
        if (nTop < 0 || nTop > vocab) throw new IllegalArgumentException("nTop must be in [0, " + vocab + "], got " + nTop);
        int[] token = new int[1];
        float[] lp = new float[1];
        int[] ids = new int[nTop];
        float[] lps = new float[nTop];
        Native.check(sl4j.sl4j_sampler_sample(h(), session.h(), row, banned, nTop, token, lp, ids, lps));
        return new Pick(token[0], lp[0], ids, lps);
    }

    /**
     * One pick per sampler from the session's last decode, in one native call: pick {@code i} from
     * output row {@code rows[i]} with {@code samplers[i]}, {@code banned[i]} excluded (-1: none). On
     * a GPU only the picked tokens and their log-probs come back. No top-n alternatives; the picks
     * are not accepted.
     */
    public static Pick[] sampleBatch(TokenSampler[] samplers, Session session, int[] rows, int[] banned) {
        int n = samplers.length;
        if (rows.length != n || banned.length != n)
            throw new IllegalArgumentException("sampleBatch needs one row and one banned token per sampler, got "
                    + n + " samplers, " + rows.length + " rows, " + banned.length + " banned");
        int[] tokens = new int[n];
        float[] lps = new float[n];
        try (PointerPointer<sl4j_sampler> hs = new PointerPointer<>(n);
                IntPointer r = new IntPointer(rows);
                IntPointer b = new IntPointer(banned);
                IntPointer t = new IntPointer(n);
                FloatPointer l = new FloatPointer(n)) {
            for (int i = 0; i < n; i++) hs.put(i, samplers[i].h());
            Native.check(sl4j.sl4j_sampler_sample_batch(hs, session.h(), r, b, n, t, l));
            t.get(tokens);
            l.get(lps);
        }
        Pick[] out = new Pick[n];
        for (int i = 0; i < n; i++) out[i] = new Pick(tokens[i], lps[i], new int[0], new float[0]);
        return out;
    }

    private sl4j_sampler h() {
        sl4j_sampler p = handle.get();
        if (p == null) throw new IllegalStateException("sampler is closed");
        return p;
    }

    @Override
    public void close() {
        handle.close();
    }
}
