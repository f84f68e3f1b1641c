package dev.stackllama4j.inference;

import java.util.List;

/**
 * A generated token with its log-probability under the model's distribution (the raw logits,
 * before sampling controls) and, when asked for, the most probable alternatives at that step.
 * Immutable, so safe to share between threads.
 *
 * @param token the token id
 * @param text its text as the stream rendered it (may be "" for a token that completes nothing yet)
 * @param logProb log p(token)
 * @param top the top-n alternatives, most probable first (empty unless requested)
 */
public record TokenLogProb(int token, String text, float logProb, List<Alternative> top) {
    public TokenLogProb {
        top = List.copyOf(top);
    }

    /** An alternative at one step: token id and log-probability. */
    public record Alternative(int token, float logProb) {}
}
