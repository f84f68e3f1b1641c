package dev.stackllama4j.reward;

import dev.stackllama4j.data.PairedJsonl;
import dev.stackllama4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Preference pairs tokenized for the reward model: chosen = Template(q, response_j), rejected = Template(q, response_k). */
public final class RewardData {
    private RewardData() {}

    public record TokenPair(String qid, int[] chosen, int[] rejected) {}

    /** Pairs that fit, and how many were dropped because a side exceeded the maximum length. */
    public record Loaded(List<TokenPair> pairs, int dropped) {}

    public static Loaded load(Path file, Tokenizer tok, int maxLength) throws IOException {
        List<TokenPair> pairs = new ArrayList<>();
        int[] dropped = {0};
        boolean bos = tok.vocabulary().addBos();
        PairedJsonl.read(file, row -> {
            int[] j = tok.encode(row.chosenText(), bos, false), k = tok.encode(row.rejectedText(), bos, false);
            if (j.length > maxLength || k.length > maxLength) dropped[0]++;
            else pairs.add(new TokenPair(row.qid(), j, k));
        });
        return new Loaded(pairs, dropped[0]);
    }
}
