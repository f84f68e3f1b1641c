package dev.stackllama4j.train;

import java.util.List;

/**
 * Cycles through packed chunks in order, {@code batch} at a time, flattening them into the
 * trainer's row-major arrays (reused between calls). The cursor counts chunks handed out, so a
 * checkpoint can resume exactly where the data stood.
 */
public final class Batches {
    public record Batch(int[] tokens, int[] targets, long[] docStart) {}

    private final List<Packing.Chunk> chunks;
    private final int batch, len;
    private long cursor;
    private final Batch buf;

    public Batches(List<Packing.Chunk> chunks, int batch, long cursor) {
        this.chunks = chunks;
        this.batch = batch;
        this.cursor = cursor;
        this.len = chunks.get(0).tokens().length;
        this.buf = new Batch(new int[batch * len], new int[batch * len], new long[batch * len]);
    }

    public Batch next() {
        for (int b = 0; b < batch; b++) {
            Packing.Chunk ch = chunks.get((int) (cursor++ % chunks.size()));
            System.arraycopy(ch.tokens(), 0, buf.tokens(), b * len, len);
            System.arraycopy(ch.targets(), 0, buf.targets(), b * len, len);
            System.arraycopy(ch.docStart(), 0, buf.docStart(), b * len, len);
        }
        return buf;
    }

    public long cursor() {
        return cursor;
    }
}
