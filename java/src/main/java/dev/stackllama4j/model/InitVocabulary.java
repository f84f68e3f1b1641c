package dev.stackllama4j.model;

import java.util.ArrayList;
import java.util.List;

/**
 * The vocabulary {@code init} writes into a random model: SentencePiece-style ({@code llama}),
 * {@code <unk> <s> </s>}, the 256 byte-fallback tokens, {@code ▁} (space) and every printable ASCII
 * character as a piece, then common English pieces with descending scores so that the tokenizer
 * merges frequent text, and {@code [unused_N]} fillers up to the requested size.
 */
public final class InitVocabulary {
    /** llama.cpp token types. */
    public static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, UNUSED = 5, BYTE = 6;

    /** The smallest vocabulary: specials, bytes, space and printable ASCII. */
    public static final int MIN_SIZE = 3 + 256 + 1 + 94;

    private static final String[] COMMON = {
        "▁the", "▁a", "▁to", "▁of", "▁and", "▁is", "▁in", "▁it", "▁you", "▁that", "▁for", "▁Question", "▁Answer",
        "Question", "Answer", "▁what", "▁How", "▁how", "▁many", "▁much", "▁plus", "▁minus", "▁times", "▁is", "▁are",
        "▁The", "▁answer", "▁I", "▁think", "▁correct", "▁wrong", "th", "he", "in", "er", "an", "re", "on", "at",
        "en", "nd", "ou", "ed", "ha", "es", "or", "is", "it", "ng", "ing", "▁t", "▁s", "▁w", "▁c", "▁b", "▁m",
    };

    public final String[] tokens;
    public final float[] scores;
    public final int[] types;

    private InitVocabulary(String[] tokens, float[] scores, int[] types) {
        this.tokens = tokens;
        this.scores = scores;
        this.types = types;
    }

    public static InitVocabulary of(int size) {
        if (size < MIN_SIZE)
            throw new IllegalArgumentException("vocab must be at least " + MIN_SIZE + " (specials, bytes, ASCII), got " + size);
        List<String> tok = new ArrayList<>(size);
        List<Float> score = new ArrayList<>(size);
        List<Integer> type = new ArrayList<>(size);
        add(tok, score, type, "<unk>", 0f, UNKNOWN);
        add(tok, score, type, "<s>", 0f, CONTROL);
        add(tok, score, type, "</s>", 0f, CONTROL);
        for (int b = 0; b < 256; b++) add(tok, score, type, String.format("<0x%02X>", b), 0f, BYTE);
        add(tok, score, type, "▁", -1f, NORMAL);
        for (char c = 33; c < 127; c++) add(tok, score, type, String.valueOf(c), -2f, NORMAL);
        float s = -3f;
        for (String piece : COMMON) {
            if (tok.size() >= size) break;
            if (tok.contains(piece)) continue;
            add(tok, score, type, piece, s, NORMAL);
            s -= 0.01f;
        }
        for (int i = 0; tok.size() < size; i++) add(tok, score, type, "[unused_" + i + "]", -1000f, UNUSED);
        String[] t = tok.toArray(new String[0]);
        float[] sc = new float[size];
        int[] ty = new int[size];
        for (int i = 0; i < size; i++) {
            sc[i] = score.get(i);
            ty[i] = type.get(i);
        }
        return new InitVocabulary(t, sc, ty);
    }

    private static void add(List<String> tok, List<Float> score, List<Integer> type, String t, float s, int ty) {
        tok.add(t);
        score.add(s);
        type.add(ty);
    }
}
