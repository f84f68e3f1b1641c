package dev.stackllama4j.inference;

/**
 * Receives a request's output as it is produced, on the engine's thread (return quickly; do not
 * call back into the engine synchronously). Text pieces are complete UTF-8 characters with
 * SentencePiece spaces rendered, and never include text that could still turn out to be part of a
 * stop string; concatenated they equal {@link Completion#text()}.
 */
public interface CompletionListener {
    /** A piece of text (never empty). */
    void onText(String piece);

    /** Every generated token (stop tokens included), with log-probs when the request asked for them. */
    default void onToken(TokenLogProb token) {}
}
