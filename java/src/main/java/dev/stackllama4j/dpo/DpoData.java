package dev.stackllama4j.dpo;

import dev.stackllama4j.data.PairedJsonl;
import dev.stackllama4j.data.Template;
import dev.stackllama4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Preference pairs tokenized for DPO, from the pair files {@code train-reward} reads: each side is
 * {@code Template.format(question, answer)} (BOS as the model adds it) followed by EOS, as TRL's
 * DPO appends it; the answer's tokens are those past the prompt {@code Template.prompt(question)}
 * (the longest prefix the side shares with the prompt's own tokens, so a merge across the boundary
 * counts as answer).
 */
public final class DpoData {
    private DpoData() {}

    /**
     * @param chosen tokens of prompt + chosen answer + EOS
     * @param chosenStart index of the chosen answer's first token (≥ 1)
     */
    public record Pair(String qid, int[] chosen, int chosenStart, int[] rejected, int rejectedStart) {
        public Pair {
            if (chosenStart < 1 || chosenStart >= chosen.length || rejectedStart < 1 || rejectedStart >= rejected.length)
                throw new IllegalArgumentException("pair " + qid + ": each side needs at least one answer token after a non-empty prompt");
        }
    }

    /** Pairs that fit, and how many were dropped because a side exceeded the maximum length. */
    public record Loaded(List<Pair> pairs, int dropped) {}

    public static Loaded load(Path file, Tokenizer tok, int maxLength) throws IOException {
        List<Pair> pairs = new ArrayList<>();
        int[] dropped = {0};
        PairedJsonl.read(file, row -> {
            int[] prompt = tok.encode(Template.prompt(row.question()), tok.vocabulary().addBos(), false);
            int[] j = side(tok, row.question(), row.responseJ()), k = side(tok, row.question(), row.responseK());
            if (j.length > maxLength || k.length > maxLength) dropped[0]++;
            else pairs.add(new Pair(row.qid(), j, answerStart(prompt, j), k, answerStart(prompt, k)));
        });
        return new Loaded(pairs, dropped[0]);
    }

    /** The tokens of one side: the template with the answer, then EOS. */
    public static int[] side(Tokenizer tok, String question, String answer) {
        int[] t = tok.encode(Template.format(question, answer), tok.vocabulary().addBos(), false);
        int[] out = java.util.Arrays.copyOf(t, t.length + 1);
        out[t.length] = tok.vocabulary().eos();
        return out;
    }

    /** Length of the common prefix of the prompt's tokens and the side's, at least 1 and short of the side's end. */
    static int answerStart(int[] prompt, int[] side) {
        int n = 0;
        while (n < prompt.length && n < side.length - 1 && prompt[n] == side[n]) n++;
        return Math.max(1, n);
    }
}
