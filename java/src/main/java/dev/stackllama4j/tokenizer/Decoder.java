package dev.stackllama4j.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Streaming detokenizer for generation loops. {@link #feed(int)} returns the text that became complete
 * with this token; bytes of a UTF-8 sequence split across byte-fallback tokens are held back until the
 * sequence completes. {@link #flush()} returns whatever is still held (malformed bytes become U+FFFD).
 * Concatenating every {@code feed} result and the final {@code flush} equals
 * {@link Tokenizer#decode(int[])} of the same ids. Not thread-safe.
 */
public final class Decoder {
    private final byte[][] pieces;
    private final int bos;
    private boolean stripNextSpace;
    private byte[] pending = new byte[16];
    private int pendingLen;

    Decoder(byte[][] pieces, int bos, boolean stripLeadingSpace) {
        this.pieces = pieces;
        this.bos = bos;
        this.stripNextSpace = stripLeadingSpace;
    }

    public String feed(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.." + (pieces.length - 1) + ")");
        }
        byte[] p = pieces[id];
        int from = 0;
        if (stripNextSpace) {
            // the space SentencePiece encoding put in front of the text; a leading BOS does not consume it
            if (id == bos && pendingLen == 0) {
                return "";
            }
            stripNextSpace = false;
            if (p.length > 0 && p[0] == ' ') {
                from = 1;
            }
        }
        append(p, from);
        int done = completePrefix(pending, pendingLen);
        if (done == 0) {
            return "";
        }
        String s = new String(pending, 0, done, StandardCharsets.UTF_8);
        System.arraycopy(pending, done, pending, 0, pendingLen - done);
        pendingLen -= done;
        return s;
    }

    public String flush() {
        String s = new String(pending, 0, pendingLen, StandardCharsets.UTF_8);
        pendingLen = 0;
        return s;
    }

    /** True while bytes of an unfinished UTF-8 sequence are held back. */
    public boolean hasPending() {
        return pendingLen > 0;
    }

    private void append(byte[] p, int from) {
        int n = p.length - from;
        if (pendingLen + n > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLen + n));
        }
        System.arraycopy(p, from, pending, pendingLen, n);
        pendingLen += n;
    }

    /** Length of the longest prefix that does not end inside an unfinished multi-byte sequence. */
    static int completePrefix(byte[] b, int len) {
        // only the last three bytes can belong to an unfinished sequence (at most 4 bytes long)
        for (int back = 1; back <= 3 && back <= len; back++) {
            int c = b[len - back] & 0xFF;
            if ((c & 0xC0) == 0x80) {
                continue; // continuation byte: keep looking for its lead
            }
            int need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
            return need > back ? len - back : len;
        }
        return len;
    }
}
