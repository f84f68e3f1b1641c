package dev.stackllama4j.inference;

import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.Session;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Batched generation: every prompt is a sequence of one KV-cache session; the prompts are
 * prefilled in one forward pass and then each step decodes one token for every live sequence.
 */
public final class Generator {
    /** Receives tokens as they are produced (for streaming). */
    @FunctionalInterface
    public interface Listener {
        void onToken(int sequence, int token);
    }

    /** One sequence's new tokens (EOS included when it stopped there). */
    public record Result(int[] tokens, boolean stoppedAtEos) {}

    private final LlamaModel model;
    private final LoraAdapter lora;

    /** Generation from the base model. */
    public Generator(LlamaModel model) {
        this(model, null);
    }

    /** Generation with {@code lora} applied (null: the base model). */
    public Generator(LlamaModel model, LoraAdapter lora) {
        this.model = model;
        this.lora = lora;
    }

    public Result generate(int[] prompt, SamplingParams p, Listener listener) {
        return generate(List.of(prompt), p, null, listener).get(0);
    }

    /**
     * @param maxNewPerSequence per-sequence limits (null: {@code p.maxNewTokens()} for all), as a
     *     PPO length sampler draws them
     */
    public List<Result> generate(List<int[]> prompts, SamplingParams p, int[] maxNewPerSequence, Listener listener) {
        int n = prompts.size();
        if (n == 0) return List.of();
        int[] limit = new int[n];
        int longest = 0, maxNew = 0;
        for (int s = 0; s < n; s++) {
            if (prompts.get(s).length == 0) throw new IllegalArgumentException("prompt " + s + " is empty (add BOS)");
            limit[s] = maxNewPerSequence == null ? p.maxNewTokens() : maxNewPerSequence[s];
            longest = Math.max(longest, prompts.get(s).length);
            maxNew = Math.max(maxNew, limit[s]);
        }
        int vocab = (int) model.info().vocab();
        int eos = model.tokenizer().vocabulary().eos();
        try (Session session = model.newSession(n, longest + maxNew, lora)) {
            return run(session, prompts, limit, p, vocab, eos, listener);
        }
    }

    private List<Result> run(Session session, List<int[]> prompts, int[] limit, SamplingParams p, int vocab, int eos,
                             Listener listener) {
        int n = prompts.size();
        Sampler sampler = new Sampler(vocab);
        SplittableRandom[] rng = new SplittableRandom[n];
        List<int[]> out = new ArrayList<>(n);
        int[] produced = new int[n];
        boolean[] eosHit = new boolean[n];
        for (int s = 0; s < n; s++) {
            rng[s] = new SplittableRandom(p.seed() + s);
            out.add(new int[limit[s]]);
        }
        // Prefill every prompt at once; only each prompt's last position produces logits.
        int total = prompts.stream().mapToInt(a -> a.length).sum();
        int[] toks = new int[total], seqs = new int[total];
        boolean[] outputs = new boolean[total];
        for (int s = 0, r = 0; s < n; s++) {
            int[] pr = prompts.get(s);
            for (int i = 0; i < pr.length; i++, r++) {
                toks[r] = pr[i];
                seqs[r] = s;
                outputs[r] = i == pr.length - 1;
            }
        }
        int[] live = new int[n];
        int nLive = 0;
        for (int s = 0; s < n; s++) if (limit[s] > 0) live[nLive++] = s;
        float[] logits = new float[n * vocab];
        if (nLive == 0) return finish(out, produced, eosHit);
        session.decode(toks, seqs, outputs, true);
        int[] rowOf = new int[n];
        for (int s = 0; s < n; s++) rowOf[s] = s;
        session.logits(logits);
        int[] stepTok = new int[n], stepSeq = new int[n];
        int[][] widthTok = new int[n + 1][], widthSeq = new int[n + 1][];
        float[][] widthLogits = new float[n + 1][];
        while (true) {
            int next = 0;
            for (int i = 0; i < nLive; i++) {
                int s = live[i];
                int banned = produced[s] < p.minNewTokens() ? eos : -1;
                int t = sampler.sample(logits, rowOf[s] * vocab, p, rng[s], banned);
                out.get(s)[produced[s]++] = t;
                if (listener != null) listener.onToken(s, t);
                boolean stop = produced[s] >= limit[s] || (p.stopAtEos() && t == eos);
                if (p.stopAtEos() && t == eos) eosHit[s] = true;
                if (!stop) {
                    stepTok[next] = t;
                    stepSeq[next] = s;
                    live[next++] = s;
                }
            }
            nLive = next;
            if (nLive == 0) break;
            // Buffers sized to the live count are made once per width, not per step.
            if (widthTok[nLive] == null) {
                widthTok[nLive] = new int[nLive];
                widthSeq[nLive] = new int[nLive];
                widthLogits[nLive] = new float[nLive * vocab];
            }
            System.arraycopy(stepTok, 0, widthTok[nLive], 0, nLive);
            System.arraycopy(stepSeq, 0, widthSeq[nLive], 0, nLive);
            session.decode(widthTok[nLive], widthSeq[nLive], null, true);
            session.logits(widthLogits[nLive]);
            System.arraycopy(widthLogits[nLive], 0, logits, 0, nLive * vocab);
            for (int i = 0; i < nLive; i++) rowOf[live[i]] = i;
        }
        return finish(out, produced, eosHit);
    }

    private static List<Result> finish(List<int[]> out, int[] produced, boolean[] eosHit) {
        List<Result> results = new ArrayList<>(out.size());
        for (int s = 0; s < out.size(); s++) results.add(new Result(Arrays.copyOf(out.get(s), produced[s]), eosHit[s]));
        return results;
    }
}
