package dev.stackllama4j.reward;

import dev.stackllama4j.data.PairedJsonl;
import dev.stackllama4j.data.Template;
import dev.stackllama4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Preference pairs tokenized for the reward model: chosen = Template(q, response_j), rejected =
 * Template(q, response_k). {@link #tokens} is the one input format of a reward model: training,
 * {@code score}, PPO and evaluation all score exactly what it returns.
 */
public final class RewardData {
    private RewardData() {}

    public record TokenPair(String qid, int[] chosen, int[] rejected) {}

    /** Pairs that fit, and how many were dropped because a side exceeded the maximum length. */
    public record Loaded(List<TokenPair> pairs, int dropped) {}

    /**
     * What a reward model reads for an answer: the template's text re-tokenised, with BOS when the
     * vocabulary adds one and never EOS (StackLLaMA scores {@code question + decoded response}
     * re-tokenised, special tokens skipped). A generated response is passed as its decoded text, so
     * the score never comes from an EOS position the model was not trained on.
     */
    public static int[] tokens(Tokenizer tok, String question, String answer) {
        return tok.encode(Template.format(question, answer), tok.vocabulary().addBos(), false);
    }

    public static Loaded load(Path file, Tokenizer tok, int maxLength) throws IOException {
        List<TokenPair> pairs = new ArrayList<>();
        int[] dropped = {0};
        PairedJsonl.read(file, row -> {
            int[] j = tokens(tok, row.question(), row.responseJ()), k = tokens(tok, row.question(), row.responseK());
            if (j.length > maxLength || k.length > maxLength) dropped[0]++;
            else pairs.add(new TokenPair(row.qid(), j, k));
        });
        return new Loaded(pairs, dropped[0]);
    }
}
