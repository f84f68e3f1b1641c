package dev.stackllama4j.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.PriorityQueue;

/**
 * llama.cpp's SentencePiece-style tokenizer ("llama" vocab): spaces become U+2581 "▁", a space is put
 * in front of the text (add_space_prefix) and after every special token, then adjacent symbols are
 * merged greedily, the pair whose concatenation is the highest-scoring vocabulary entry first (ties:
 * leftmost). Symbols that never became a vocabulary entry fall back to their UTF-8 bytes as
 * {@code <0xNN>} tokens.
 *
 * <p>Every merged symbol is a vocabulary entry by construction, so llama.cpp's re-segmentation of
 * merged-but-unknown symbols never fires here and is left out; only single characters fall back to
 * bytes.
 */
final class SpmTokenizer extends BaseTokenizer {
    private static final char SPACE_MARK = '\u2581';

    private final int[] byteTokens = new int[256];

    SpmTokenizer(Vocabulary vocab) {
        super(vocab);
        for (int b = 0; b < 256; b++) {
            Integer id = ids.get(String.format("<0x%02X>", b));
            if (id == null && b < 0x80) {
                id = ids.get(String.valueOf((char) b)); // llama.cpp's fallback: the byte as a one-char token
            }
            byteTokens[b] = id == null ? -1 : id;
        }
    }

    @Override
    boolean stripsLeadingSpace() {
        return vocab.addSpacePrefix();
    }

    @Override
    byte[] piece(int id) {
        String text = vocab.token(id);
        switch (vocab.tokenType(id)) {
            case TokenType.NORMAL:
                return text.replace(SPACE_MARK, ' ').getBytes(StandardCharsets.UTF_8);
            case TokenType.USER_DEFINED:
                return text.getBytes(StandardCharsets.UTF_8);
            case TokenType.BYTE:
                return new byte[] {(byte) parseByteToken(text, id)};
            default:
                return new byte[0]; // control, unknown, unused: not rendered
        }
    }

    private int parseByteToken(String text, int id) {
        if (text.length() == 6 && text.startsWith("<0x") && text.endsWith(">")) {
            try {
                return Integer.parseInt(text.substring(3, 5), 16);
            } catch (NumberFormatException ignored) {
                // fall through to the error below
            }
        }
        throw new IllegalArgumentException(vocab.source() + ": token " + id + " '" + text
                + "' has type byte but is not of the form <0xNN>");
    }

    @Override
    void encodeText(String raw, boolean afterSpecial, IntList out) {
        String text = (vocab.addSpacePrefix() && afterSpecial ? " " + raw : raw).replace(' ', SPACE_MARK);
        int len = text.length();
        if (len == 0) {
            return;
        }
        // one symbol per code point, in a doubly linked list over arrays; a merged symbol keeps its
        // start and grows, the absorbed right symbol is marked dead with length 0
        int n = text.codePointCount(0, len);
        int[] start = new int[n];
        int[] size = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0, at = 0; i < n; i++) {
            int cp = text.codePointAt(at);
            start[i] = at;
            size[i] = Character.charCount(cp);
            at += size[i];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>(Math.max(n, 1));
        for (int i = 1; i < n; i++) {
            tryAddBigram(text, start, size, i - 1, i, queue);
        }
        while (!queue.isEmpty()) {
            Bigram bg = queue.poll();
            int l = bg.left, r = bg.right;
            // stale: one side was absorbed or grew since this pair was queued
            if (size[l] == 0 || size[r] == 0 || size[l] + size[r] != bg.size) {
                continue;
            }
            size[l] += size[r];
            size[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) {
                prev[next[r]] = l;
            }
            tryAddBigram(text, start, size, prev[l], l, queue);
            tryAddBigram(text, start, size, l, next[l], queue);
        }
        for (int i = 0; i != -1; i = next[i]) {
            String sym = text.substring(start[i], start[i] + size[i]);
            Integer id = ids.get(sym);
            if (id != null) {
                out.add(id);
            } else {
                for (byte b : sym.getBytes(StandardCharsets.UTF_8)) {
                    out.add(byteToken(b & 0xFF, sym));
                }
            }
        }
    }

    private int byteToken(int b, String sym) {
        int id = byteTokens[b];
        if (id >= 0) {
            return id;
        }
        if (vocab.unk() >= 0) {
            return vocab.unk();
        }
        throw new IllegalArgumentException(vocab.source() + ": '" + sym + "' is not in the vocabulary and there is no <0x"
                + String.format("%02X", b) + "> byte token or unknown token to fall back to");
    }

    private void tryAddBigram(String text, int[] start, int[] size, int left, int right, PriorityQueue<Bigram> queue) {
        if (left < 0 || right < 0) {
            return;
        }
        int s = start[left];
        int len = size[left] + size[right];
        Integer id = ids.get(text.substring(s, s + len));
        if (id == null) {
            return;
        }
        queue.add(new Bigram(left, right, vocab.score(id), len));
    }

    private static final class Bigram implements Comparable<Bigram> {
        final int left, right, size;
        final float score;

        Bigram(int left, int right, float score, int size) {
            this.left = left;
            this.right = right;
            this.score = score;
            this.size = size;
        }

        @Override
        public int compareTo(Bigram o) {
            // highest score first; on a tie the leftmost pair, as llama.cpp's comparator orders them
            // (plain < and > so that -0.0 and 0.0 tie, as they do in C++)
            if (score > o.score) return -1;
            if (score < o.score) return 1;
            return Integer.compare(left, o.left);
        }
    }
}
