package dev.stackllama4j.inference;

import java.time.Duration;
import java.util.List;

/**
 * The result of one request. Immutable, so safe to share between threads.
 *
 * @param text the generated text, without the prompt, a matched stop string, or stop tokens
 * @param tokens every generated token id, a final stop token included
 * @param finishReason why generation ended
 * @param logProbs one entry per token when the request set {@code logProbs >= 0}, else empty
 * @param promptTokens how many tokens the prompt had (BOS included)
 * @param elapsed wall time from admission to the end
 */
public record Completion(String text, int[] tokens, FinishReason finishReason, List<TokenLogProb> logProbs,
                         int promptTokens, Duration elapsed) {
    public Completion {
        tokens = tokens.clone();
        logProbs = List.copyOf(logProbs);
    }

    /** A copy of the generated token ids. */
    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    /** Why a request ended. */
    public enum FinishReason {
        /** A stop token (EOS by default) was generated. */
        STOP_TOKEN,
        /** The text reached one of the stop strings. */
        STOP_STRING,
        /** {@code maxTokens} tokens were generated. */
        LENGTH,
        /** The request's deadline passed. */
        DEADLINE,
        /** {@link CompletionHandle#cancel()} was called. */
        CANCELLED
    }
}
