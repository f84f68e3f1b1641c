package dev.stackllama4j.inference;

/**
 * How {@link Generator} picks each next token (the PPO rollout settings). Immutable, so safe to
 * share between threads.
 *
 * @param temperature softmax temperature; 0 means greedy (argmax). Default 1.0.
 * @param topK keep the k most likely tokens; 0 turns it off. Default 0.
 * @param topP keep the smallest set of tokens whose probability reaches p; 1.0 turns it off. Default 1.0.
 * @param seed random seed; sequence i of a batch uses seed + i, so a batch samples what each
 *     prompt would alone. Default 0.
 * @param maxNewTokens tokens to generate at most. Default 128.
 * @param minNewTokens EOS is suppressed until this many tokens exist. Default 0.
 * @param stopAtEos end a sequence at EOS (the EOS token is kept). Default true.
 */
public record SamplingParams(double temperature, int topK, double topP, long seed, int maxNewTokens, int minNewTokens,
                             boolean stopAtEos) {
    public SamplingParams {
        if (!(temperature >= 0)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        if (maxNewTokens < 0) throw new IllegalArgumentException("max new tokens must be >= 0, got " + maxNewTokens);
        if (minNewTokens < 0 || minNewTokens > maxNewTokens)
            throw new IllegalArgumentException("min new tokens must be in [0, " + maxNewTokens + "], got " + minNewTokens);
    }

    public static SamplingParams defaults() {
        return new SamplingParams(1.0, 0, 1.0, 0, 128, 0, true);
    }

    public static SamplingParams greedy(int maxNewTokens) {
        return new SamplingParams(0, 0, 1.0, 0, maxNewTokens, 0, true);
    }


    /**
     * The native sampler's settings for sequence {@code index} of a batch: these controls, seed
     * {@code seed + index}, no min-p, penalties or bias.
     */
    public Sampling sampling(int index) {
        return Sampling.builder().temperature(temperature).topK(topK).topP(topP).minP(0).repeatPenalty(1)
                .frequencyPenalty(0).presencePenalty(0).penaltyLastN(0).seed(seed + index).build();
    }

    public SamplingParams withSeed(long s) {
        return new SamplingParams(temperature, topK, topP, s, maxNewTokens, minNewTokens, stopAtEos);
    }
}
