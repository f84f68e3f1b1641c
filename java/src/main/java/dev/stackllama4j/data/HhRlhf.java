package dev.stackllama4j.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Reads Anthropic HH-RLHF rows ({@code {"chosen": ..., "rejected": ...}}, JSONL or JSONL.gz), two
 * dialogues of "\n\nHuman: ... \n\nAssistant: ..." turns that differ only in the last assistant turn.
 * The shared prompt is everything up to and including the last "\n\nAssistant:" both share.
 * The content is red-teaming material: callers must not print it.
 */
public final class HhRlhf {
    private HhRlhf() {}

    public static final String ASSISTANT = "\n\nAssistant:";

    /** A row; {@code prompt} is null when the two dialogues share no assistant turn prefix. */
    public record Row(String chosen, String rejected, String prompt, String chosenResponse, String rejectedResponse) {}

    public static long read(Path file, Consumer<Row> sink) throws IOException {
        return JsonlLines.read(file, (n, line) -> {
            String c = JsonlLines.text(file, line, n, "chosen");
            String r = JsonlLines.text(file, line, n, "rejected");
            sink.accept(split(c, r));
        });
    }

    static Row split(String chosen, String rejected) {
        int common = 0, max = Math.min(chosen.length(), rejected.length());
        while (common < max && chosen.charAt(common) == rejected.charAt(common)) common++;
        // the last assistant marker that ends within the common prefix
        int at = chosen.lastIndexOf(ASSISTANT, common - ASSISTANT.length());
        if (at < 0) return new Row(chosen, rejected, null, null, null);
        int cut = at + ASSISTANT.length();
        return new Row(chosen, rejected, chosen.substring(0, cut), chosen.substring(cut), rejected.substring(cut));
    }
}
