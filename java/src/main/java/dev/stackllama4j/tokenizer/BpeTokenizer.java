package dev.stackllama4j.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * llama.cpp's byte-level BPE tokenizer ("gpt2" vocab, used by Llama 3): the text is split by the
 * pre-tokenizer regex, each piece's UTF-8 bytes are mapped to GPT-2's printable characters, and
 * adjacent symbols are merged lowest merge rank first (ties: leftmost). With the llama3 pre-tokenizer
 * a piece that is itself a vocabulary entry is emitted whole without merging (llama.cpp's
 * ignore_merges, from Hugging Face's setting for Llama 3).
 *
 * <p>Decoding maps the characters back to bytes. llama.cpp's clean_up_tokenization_spaces pass
 * (dropping the space before "." or "'s") is not applied, so decode(encode(x)) == x.
 */
final class BpeTokenizer extends BaseTokenizer {
    private final PreTokenizer pre;
    private final Map<String, Integer> ranks;
    private final boolean ignoreMerges;

    BpeTokenizer(Vocabulary vocab) {
        super(vocab);
        this.pre = PreTokenizer.forName(vocab.preTokenizer(), vocab.source());
        this.ignoreMerges = PreTokenizer.isLlama3(vocab.preTokenizer());
        this.ranks = new HashMap<>(vocab.mergeCount() * 2);
        for (int r = 0; r < vocab.mergeCount(); r++) {
            String m = vocab.merge(r);
            // split at the first space after the first character, as llama.cpp does
            int sp = m.length() > 1 ? m.indexOf(' ', 1) : -1;
            if (sp < 0 || sp == m.length() - 1) {
                throw new IllegalArgumentException(vocab.source() + ": " + Vocabulary.KEY_MERGES + "[" + r + "] = '" + m
                        + "' is not of the form 'left right'");
            }
            ranks.putIfAbsent(m, r);
        }
    }

    PreTokenizer preTokenizer() {
        return pre;
    }

    @Override
    boolean stripsLeadingSpace() {
        return false;
    }

    @Override
    byte[] piece(int id) {
        String text = vocab.token(id);
        switch (vocab.tokenType(id)) {
            case TokenType.NORMAL: {
                java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(text.length());
                for (int i = 0; i < text.length(); ) {
                    int cp = text.codePointAt(i);
                    int b = ByteLevel.byteOf(cp);
                    if (b >= 0) {
                        out.write(b);
                    } else {
                        // not a byte-level character: keep it as its own UTF-8
                        byte[] raw = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
                        out.write(raw, 0, raw.length);
                    }
                    i += Character.charCount(cp);
                }
                return out.toByteArray();
            }
            case TokenType.USER_DEFINED:
                return text.getBytes(StandardCharsets.UTF_8);
            default:
                return new byte[0];
        }
    }

    @Override
    void encodeText(String text, boolean afterSpecial, IntList out) {
        List<String> words = pre.split(text);
        for (String w : words) {
            encodeWord(ByteLevel.encode(w.getBytes(StandardCharsets.UTF_8)), out);
        }
    }

    private void encodeWord(String word, IntList out) {
        if (ignoreMerges) {
            Integer whole = ids.get(word);
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        // byte-level characters are all in the BMP: one char per symbol
        int n = word.length();
        int[] size = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            size[i] = 1;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<long[]> queue = new PriorityQueue<>(Math.max(n, 1), (a, b) -> Long.compare(a[0], b[0]));
        for (int i = 1; i < n; i++) {
            tryAddPair(word, size, i - 1, i, queue);
        }
        while (!queue.isEmpty()) {
            long[] e = queue.poll();
            int l = (int) e[1], r = (int) e[2];
            if (size[l] == 0 || size[r] == 0 || size[l] + size[r] != (int) e[3]) {
                continue; // stale pair
            }
            size[l] += size[r];
            size[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) {
                prev[next[r]] = l;
            }
            tryAddPair(word, size, prev[l], l, queue);
            tryAddPair(word, size, l, next[l], queue);
        }
        for (int i = 0; i != -1; i = next[i]) {
            String sym = word.substring(i, i + size[i]);
            Integer id = ids.get(sym);
            if (id != null) {
                out.add(id);
                continue;
            }
            for (int k = 0; k < sym.length(); k++) {
                Integer c = ids.get(String.valueOf(sym.charAt(k)));
                if (c != null) {
                    out.add(c);
                } else if (vocab.unk() >= 0) {
                    out.add(vocab.unk());
                } else {
                    throw new IllegalArgumentException(vocab.source() + ": byte-level symbol '" + sym.charAt(k)
                            + "' (byte 0x" + Integer.toHexString(ByteLevel.byteOf(sym.charAt(k)))
                            + ") is not in the vocabulary and there is no unknown token");
                }
            }
        }
    }

    private void tryAddPair(String word, int[] size, int left, int right, PriorityQueue<long[]> queue) {
        if (left < 0 || right < 0) {
            return;
        }
        // symbol i starts at character i: merged symbols keep the start of their left part
        String key = word.substring(left, left + size[left]) + ' ' + word.substring(right, right + size[right]);
        Integer rank = ranks.get(key);
        if (rank == null) {
            return;
        }
        // order: rank, then leftmost; packed so the queue compares one long
        queue.add(new long[] {((long) rank << 32) | left, left, right, size[left] + size[right]});
    }
}
