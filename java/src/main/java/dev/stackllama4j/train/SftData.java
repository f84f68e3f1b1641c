package dev.stackllama4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.stackllama4j.data.DataFormatException;
import dev.stackllama4j.data.JsonlLines;
import dev.stackllama4j.data.Template;
import dev.stackllama4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * SFT texts from JSONL(.gz): a named text field, or the data stage's pair files, whose text is
 * {@code Template.format(question, response_j)} (the better answer, as StackLLaMA fine-tunes on).
 * Texts are tokenized and packed into fixed-length chunks up front (the whole token stream is held
 * in memory: four bytes a token).
 */
public final class SftData {
    private SftData() {}

    /** The texts of a file, in file order. */
    public static List<String> readTexts(Path file, String textField) throws IOException {
        List<String> texts = new ArrayList<>();
        JsonlLines.read(file, (row, line) -> texts.add(text(file, row, line, textField)));
        if (texts.isEmpty()) throw new DataFormatException(file + ": no examples (the file has no rows)");
        return texts;
    }

    static String text(Path file, JsonNode row, long line, String textField) {
        if (textField != null) return JsonlLines.text(file, line, row, textField);
        if (row.has("question") || row.has("response_j"))
            return Template.format(JsonlLines.text(file, line, row, "question"), JsonlLines.text(file, line, row, "response_j"));
        if (row.has("text")) return JsonlLines.text(file, line, row, "text");
        throw new DataFormatException(file + ": line " + line
                + ": expected a pair row (question, response_j) or a 'text' field; name another with --text-field");
    }

    /**
     * A shuffle buffer as streaming datasets use it: fill {@code size} items, then emit a random one
     * and put the next input in its place. 0 keeps the order.
     */
    public static <T> List<T> shuffleBuffer(List<T> items, int size, long seed) {
        if (size <= 1) return items;
        SplittableRandom rng = new SplittableRandom(seed);
        List<T> out = new ArrayList<>(items.size()), buf = new ArrayList<>(size);
        for (T item : items) {
            if (buf.size() < size) {
                buf.add(item);
                continue;
            }
            int i = rng.nextInt(size);
            out.add(buf.get(i));
            buf.set(i, item);
        }
        while (!buf.isEmpty()) out.add(buf.remove(rng.nextInt(buf.size())));
        return out;
    }

    /** Tokenizes (no BOS/EOS: packing adds them) and packs. */
    public static List<Packing.Chunk> pack(List<String> texts, Tokenizer tok, int seqLength) {
        Packing p = new Packing(seqLength, tok.vocabulary().bos(), tok.vocabulary().eos());
        List<Packing.Chunk> chunks = new ArrayList<>();
        for (String t : texts) chunks.addAll(p.add(tok.encode(t, false, false)));
        return chunks;
    }
}
