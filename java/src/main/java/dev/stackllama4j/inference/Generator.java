package dev.stackllama4j.inference;

import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.TokenSampler;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Batched generation for RL rollouts: every prompt is a sequence of one KV-cache session; the
 * prompts are prefilled in one forward pass and then each step decodes one token for every live
 * sequence, picked natively ({@link DecodeBatch}, the step {@link LlamaEngine} uses too).
 * Synchronous and deterministic: the same prompts, parameters and seed give the same tokens.
 * Thread-safety: one generator per thread (the model may be shared).
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

    /** One prompt's sequence: its own limit and sampler (seed + its index, so a batch samples what each prompt would alone). */
    private static final class Rollout extends DecodeBatch.Sequence {
        final int index, limit, minNew, eos;
        final boolean stopAtEos;
        final Listener listener;
        final int[] out;
        int produced;
        boolean eosHit;

        Rollout(int index, int[] prompt, int limit, SamplingParams p, int eos, Listener listener) {
            super(prompt);
            this.index = index;
            this.limit = limit;
            this.minNew = p.minNewTokens();
            this.stopAtEos = p.stopAtEos();
            this.eos = eos;
            this.listener = listener;
            this.out = new int[limit];
        }

        @Override
        int banned() {
            return produced < minNew ? eos : -1;
        }

        @Override
        int topN() {
            return 0;
        }

        @Override
        boolean take(TokenSampler.Pick pick) {
            int t = pick.token();
            out[produced++] = t;
            if (listener != null) listener.onToken(index, t);
            if (stopAtEos && t == eos) eosHit = true;
            return produced >= limit || eosHit;
        }
    }

    /**
     * @param maxNewPerSequence per-sequence limits (null: {@code p.maxNewTokens()} for all), as a
     *     PPO length sampler draws them
     */
    public List<Result> generate(List<int[]> prompts, SamplingParams p, int[] maxNewPerSequence, Listener listener) {
        int n = prompts.size();
        if (n == 0) return List.of();
        int longest = 0, maxNew = 0;
        int eos = model.tokenizer().vocabulary().eos();
        List<Rollout> rollouts = new ArrayList<>(n);
        for (int s = 0; s < n; s++) {
            if (prompts.get(s).length == 0) throw new IllegalArgumentException("prompt " + s + " is empty (add BOS)");
            int limit = maxNewPerSequence == null ? p.maxNewTokens() : maxNewPerSequence[s];
            rollouts.add(new Rollout(s, prompts.get(s), limit, p, eos, listener));
            longest = Math.max(longest, prompts.get(s).length);
            maxNew = Math.max(maxNew, limit);
        }
        try (DecodeBatch batch = new DecodeBatch(model, n, longest + maxNew, lora)) {
            try {
                for (Rollout r : rollouts) {
                    if (r.limit == 0) continue;
                    r.sampler = TokenSampler.create(model, p.sampling(r.index));
                    batch.add(r);
                }
                while (batch.active() > 0) batch.step();
            } finally {
                for (Rollout r : rollouts) if (r.sampler != null) r.sampler.close();
            }
        }
        List<Result> results = new ArrayList<>(n);
        for (Rollout r : rollouts) results.add(new Result(Arrays.copyOf(r.out, r.produced), r.eosHit));
        return results;
    }
}
