package dev.stackllama4j.inference;

import dev.stackllama4j.engine.LoraAdapter;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * One generation request: a prompt (text, token ids, or chat messages rendered by the model's chat
 * template), how to sample, when to stop, and what to report. Build with {@link #builder()};
 * immutable, so one request may be submitted many times and from several threads (its listener
 * then receives the pieces of every run it belongs to).
 *
 * @param prompt prompt text (null when {@code promptTokens} or {@code messages} is given)
 * @param promptTokens prompt token ids, used as they are (null otherwise)
 * @param messages a conversation rendered through the chat template (null otherwise)
 * @param addBos prepend BOS to a text prompt when the vocabulary asks for it. Default true.
 * @param sampling the sampling controls. Default {@link Sampling#defaults()}.
 * @param maxTokens tokens to generate at most (stop tokens included). Default 128.
 * @param minTokens EOS is banned until this many tokens exist. Default 0.
 * @param stopStrings generation ends when the text contains one; the text is cut before it. Default none.
 * @param stopTokens generation ends at these token ids; the model's EOS is always among them
 *     unless {@code ignoreEos}. Default none besides EOS.
 * @param ignoreEos keep generating past EOS. Default false.
 * @param timeout a deadline measured from admission; null is none. Default null.
 * @param logProbs -1: no log-probs; n >= 0: each token's log-prob and the top-n alternatives. Default -1.
 * @param adapter a LoRA adapter for this request (null: the base model). Default null.
 * @param listener receives text pieces and tokens as they are produced; null is none. Default null.
 */
public record CompletionRequest(String prompt, int[] promptTokens, List<ChatMessage> messages, boolean addBos,
                                Sampling sampling, int maxTokens, int minTokens, List<String> stopStrings,
                                Set<Integer> stopTokens, boolean ignoreEos, Duration timeout, int logProbs,
                                LoraAdapter adapter, CompletionListener listener) {
    public CompletionRequest {
        int given = (prompt != null ? 1 : 0) + (promptTokens != null ? 1 : 0) + (messages != null ? 1 : 0);
        if (given != 1) throw new IllegalArgumentException("give exactly one of prompt, promptTokens and messages");
        if (promptTokens != null) promptTokens = promptTokens.clone();
        if (messages != null) {
            messages = List.copyOf(messages);
            if (messages.isEmpty()) throw new IllegalArgumentException("a chat request needs at least one message");
        }
        if (sampling == null) throw new IllegalArgumentException("sampling must not be null");
        if (maxTokens < 1) throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
        if (minTokens < 0 || minTokens > maxTokens)
            throw new IllegalArgumentException("minTokens must be in [0, " + maxTokens + "], got " + minTokens);
        stopStrings = List.copyOf(stopStrings == null ? List.of() : stopStrings);
        for (String s : stopStrings) if (s.isEmpty()) throw new IllegalArgumentException("a stop string must not be empty");
        stopTokens = Set.copyOf(stopTokens == null ? Set.of() : stopTokens);
        if (timeout != null && (timeout.isNegative() || timeout.isZero()))
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        if (logProbs < -1) throw new IllegalArgumentException("logProbs must be >= -1, got " + logProbs);
    }

    /** A copy of the prompt's token ids (null unless given). */
    @Override
    public int[] promptTokens() {
        return promptTokens == null ? null : promptTokens.clone();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builder with the documented defaults; {@link #build()} validates. */
    public static final class Builder {
        private String prompt;
        private int[] promptTokens;
        private List<ChatMessage> messages;
        private boolean addBos = true, ignoreEos;
        private Sampling sampling = Sampling.defaults();
        private int maxTokens = 128, minTokens, logProbs = -1;
        private List<String> stopStrings = List.of();
        private Set<Integer> stopTokens = Set.of();
        private Duration timeout;
        private LoraAdapter adapter;
        private CompletionListener listener;

        public Builder prompt(String v) { prompt = v; return this; }
        public Builder promptTokens(int[] v) { promptTokens = v; return this; }
        public Builder messages(List<ChatMessage> v) { messages = v; return this; }
        public Builder addBos(boolean v) { addBos = v; return this; }
        public Builder sampling(Sampling v) { sampling = v; return this; }
        public Builder maxTokens(int v) { maxTokens = v; return this; }
        public Builder minTokens(int v) { minTokens = v; return this; }
        public Builder stopStrings(List<String> v) { stopStrings = v; return this; }
        public Builder stopTokens(Set<Integer> v) { stopTokens = v; return this; }
        public Builder ignoreEos(boolean v) { ignoreEos = v; return this; }
        public Builder timeout(Duration v) { timeout = v; return this; }
        public Builder logProbs(int v) { logProbs = v; return this; }
        public Builder adapter(LoraAdapter v) { adapter = v; return this; }
        public Builder listener(CompletionListener v) { listener = v; return this; }

        public CompletionRequest build() {
            return new CompletionRequest(prompt, promptTokens, messages, addBos, sampling, maxTokens, minTokens,
                    stopStrings, stopTokens, ignoreEos, timeout, logProbs, adapter, listener);
        }
    }
}
