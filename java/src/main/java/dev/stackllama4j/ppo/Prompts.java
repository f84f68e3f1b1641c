package dev.stackllama4j.ppo;

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

    /** Reads prompts, dropping those longer than {@code maxTokens} (returned count in {@code dropped[0]}). */
    public static List<Prompt> read(Path file, Tokenizer tok, int maxTokens, int[] dropped) throws IOException {
        List<Prompt> out = new ArrayList<>();
        JsonlLines.read(file, (row, line) -> {
            if (!row.hasNonNull("question"))
                throw new IllegalArgumentException(file + ":" + line + ": field 'question' is missing");
            String q = row.get("question").asText();
            int[] ids = tok.encode(Template.prompt(q), tok.vocabulary().addBos(), false);
            if (ids.length > maxTokens) dropped[0]++;
            else out.add(new Prompt(q, ids));
        });
        if (out.isEmpty()) throw new IllegalArgumentException(file + ": no usable prompts");
        return out;
    }

    public int size() {
        return all.size();
    }

    public Prompt at(long cursor) {
        return all.get(order.at(cursor));
    }
}
