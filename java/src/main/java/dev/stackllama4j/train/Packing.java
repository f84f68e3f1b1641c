package dev.stackllama4j.train;

import java.util.ArrayList;
import java.util.List;

/**
 * StackLLaMA's packing (trl's ConstantLengthDataset): each example tokenized with BOS, EOS
 * appended, all concatenated, cut into {@code seqLength} chunks, the leftover dropped. Labels
 * are the inputs (the loss predicts each next token within a chunk). Each chunk also records,
 * per position, where its document started inside the chunk, for attention masked at document
 * boundaries ({@code --no-cross-doc-attention}).
 */
public final class Packing {
    /** One training sequence: tokens, shifted targets (-100 = no loss) and document starts. */
    public record Chunk(int[] tokens, int[] targets, long[] docStart) {}

    public static final int IGNORE = -100;

    private final int seqLength;
    private final int bos, eos;
    private final List<Integer> buffer = new ArrayList<>();
    private final List<Boolean> startsDoc = new ArrayList<>();

    public Packing(int seqLength, int bos, int eos) {
        if (seqLength < 2) throw new IllegalArgumentException("sequence length must be >= 2, got " + seqLength);
        this.seqLength = seqLength;
        this.bos = bos;
        this.eos = eos;
    }

    /** Adds one example's tokens (without BOS/EOS; they are added here) and returns the chunks it completes. */
    public List<Chunk> add(int[] exampleTokens) {
        List<Chunk> out = new ArrayList<>();
        push(bos, true);
        for (int t : exampleTokens) push(t, false);
        push(eos, false);
        while (buffer.size() >= seqLength) out.add(take());
        return out;
    }

    /** Tokens waiting for a full chunk (dropped at the end of the data, as StackLLaMA does). */
    public int pending() {
        return buffer.size();
    }

    private void push(int token, boolean docStart) {
        buffer.add(token);
        startsDoc.add(docStart);
    }

    private Chunk take() {
        int[] tokens = new int[seqLength];
        int[] targets = new int[seqLength];
        long[] docStart = new long[seqLength];
        long start = 0;
        for (int i = 0; i < seqLength; i++) {
            tokens[i] = buffer.get(i);
            if (startsDoc.get(i)) start = i;
            docStart[i] = start;
        }
        for (int i = 0; i < seqLength - 1; i++) targets[i] = tokens[i + 1];
        targets[seqLength - 1] = IGNORE;
        buffer.subList(0, seqLength).clear();
        startsDoc.subList(0, seqLength).clear();
        return new Chunk(tokens, targets, docStart);
    }
}
