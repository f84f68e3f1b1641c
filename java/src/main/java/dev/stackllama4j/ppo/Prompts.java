package dev.stackllama4j.ppo;

import dev.stackllama4j.data.DataFormatException;
import dev.stackllama4j.data.JsonlLines;
import dev.stackllama4j.data.Template;
import dev.stackllama4j.tokenizer.Tokenizer;
import dev.stackllama4j.train.EpochOrder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * RL prompts ({@code qid, question} rows, as {@code prepare} writes rl.jsonl), templated as
 * {@code "Question: …\n\nAnswer: "} and tokenized once. {@link #at} walks them epoch by epoch in a
 * seeded order, a pure function of the cursor, so a checkpoint resumes the same sequence.
 */
public final class Prompts {
    public record Prompt(String question, int[] tokens) {}

    private final List<Prompt> all;
    private final EpochOrder order;

    public Prompts(List<Prompt> all, long seed) {
        if (all.isEmpty()) throw new IllegalArgumentException("no prompts");
        this.all = all;
        this.order = new EpochOrder(all.size(), seed * 1_000_003L);
    }

    /**
     * Reads prompts, dropping those longer than {@code maxTokens} (returned count in
     * {@code dropped[0]}); {@code why} says where the limit comes from, for the error when none is left.
     */
    public static List<Prompt> read(Path file, Tokenizer tok, int maxTokens, int[] dropped, String why) throws IOException {
        List<Prompt> out = new ArrayList<>();
        int[] longest = {0};
        long rows = JsonlLines.read(file, (row, line) -> {
            String q = JsonlLines.text(file, line, row, "question");
            int[] ids = tok.encode(Template.prompt(q), tok.vocabulary().addBos(), false);
            if (ids.length > maxTokens) {
                dropped[0]++;
                longest[0] = Math.max(longest[0], ids.length);
            } else {
                out.add(new Prompt(q, ids));
            }
        });
        if (rows == 0) throw new DataFormatException(file + ": no prompts (the file has no rows)");
        if (out.isEmpty())
            throw new DataFormatException(file + ": no usable prompts: all " + rows + " are longer than " + maxTokens + " tokens ("
                    + why + "; the longest has " + longest[0] + ")");
        return out;
    }

    public static List<Prompt> read(Path file, Tokenizer tok, int maxTokens, int[] dropped) throws IOException {
        return read(file, tok, maxTokens, dropped, "the limit");
    }

    public int size() {
        return all.size();
    }

    public Prompt at(long cursor) {
        return all.get(order.at(cursor));
    }
}
