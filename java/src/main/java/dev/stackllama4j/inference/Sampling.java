package dev.stackllama4j.inference;

import java.util.Map;

/**
 * How the next token is picked, natively, for one request. Applied in this order: logit bias,
 * repetition / frequency / presence penalties, then greedy (temperature 0) or temperature,
 * top-k, top-p, min-p and a draw from the request's own seeded random stream. Immutable, so safe
 * to share between threads; the builder is not.
 *
 * @param temperature softmax temperature; 0 is greedy. Default 0.8.
 * @param topK keep the k most likely tokens; 0 is off. Default 40.
 * @param topP keep the smallest set of tokens whose probability reaches p; 1 is off. Default 0.95.
 * @param minP keep tokens at least minP times as likely as the most likely one; 0 is off. Default 0.05.
 * @param repeatPenalty CTRL-style penalty on tokens in the window: logit / r when positive, × r
 *     when negative; 1 is off. Default 1.
 * @param frequencyPenalty subtracted from a logit once per occurrence in the window. Default 0.
 * @param presencePenalty subtracted from a logit once it occurs in the window. Default 0.
 * @param penaltyLastN how many of the latest generated tokens the penalties see; -1 is all. Default 64.
 * @param seed the request's random stream; the same seed and settings give the same tokens. Default 0.
 * @param logitBias token id to a value added to its logit; {@code Float.NEGATIVE_INFINITY} bans
 *     the token. Default empty.
 */
public record Sampling(double temperature, int topK, double topP, double minP, double repeatPenalty,
                       double frequencyPenalty, double presencePenalty, int penaltyLastN, long seed,
                       Map<Integer, Float> logitBias) {
    public Sampling {
        if (!(temperature >= 0) || Double.isInfinite(temperature))
            throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("topK must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        if (!(minP >= 0 && minP <= 1)) throw new IllegalArgumentException("minP must be in [0, 1], got " + minP);
        if (!(repeatPenalty > 0) || Double.isInfinite(repeatPenalty))
            throw new IllegalArgumentException("repeatPenalty must be > 0, got " + repeatPenalty);
        if (!Double.isFinite(frequencyPenalty)) throw new IllegalArgumentException("frequencyPenalty must be finite");
        if (!Double.isFinite(presencePenalty)) throw new IllegalArgumentException("presencePenalty must be finite");
        if (penaltyLastN < -1) throw new IllegalArgumentException("penaltyLastN must be >= -1, got " + penaltyLastN);
        logitBias = Map.copyOf(logitBias == null ? Map.of() : logitBias);
        for (Map.Entry<Integer, Float> e : logitBias.entrySet())
            if (e.getValue().isNaN() || e.getValue() == Float.POSITIVE_INFINITY)
                throw new IllegalArgumentException("logit bias of token " + e.getKey() + " must be finite or -infinity");
    }

    public static Sampling defaults() {
        return builder().build();
    }

    /** Greedy decoding (argmax), no penalties. */
    public static Sampling greedy() {
        return builder().temperature(0).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder().temperature(temperature).topK(topK).topP(topP).minP(minP).repeatPenalty(repeatPenalty)
                .frequencyPenalty(frequencyPenalty).presencePenalty(presencePenalty).penaltyLastN(penaltyLastN)
                .seed(seed).logitBias(logitBias);
    }

    /** Builder with the documented defaults; {@link #build()} validates. */
    public static final class Builder {
        private double temperature = 0.8, topP = 0.95, minP = 0.05, repeatPenalty = 1.0, frequencyPenalty, presencePenalty;
        private int topK = 40, penaltyLastN = 64;
        private long seed;
        private Map<Integer, Float> logitBias = Map.of();

        public Builder temperature(double v) { temperature = v; return this; }
        public Builder topK(int v) { topK = v; return this; }
        public Builder topP(double v) { topP = v; return this; }
        public Builder minP(double v) { minP = v; return this; }
        public Builder repeatPenalty(double v) { repeatPenalty = v; return this; }
        public Builder frequencyPenalty(double v) { frequencyPenalty = v; return this; }
        public Builder presencePenalty(double v) { presencePenalty = v; return this; }
        public Builder penaltyLastN(int v) { penaltyLastN = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder logitBias(Map<Integer, Float> v) { logitBias = v; return this; }

        public Sampling build() {
            return new Sampling(temperature, topK, topP, minP, repeatPenalty, frequencyPenalty, presencePenalty,
                    penaltyLastN, seed, logitBias);
        }
    }
}
