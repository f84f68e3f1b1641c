package dev.stackllama4j.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** What SPM and BPE share: the text-to-id map, special-token splitting, BOS/EOS and decoding. */
abstract class BaseTokenizer implements Tokenizer {
    final Vocabulary vocab;
    final Map<String, Integer> ids;
    private final int[] userDefined;   // matched in text always, longest first
    private final int[] allSpecial;    // plus control and unknown, matched when parseSpecial
    private final byte[][] pieces;     // decoded bytes of every token, built once

    BaseTokenizer(Vocabulary vocab) {
        this.vocab = vocab;
        int n = vocab.size();
        this.ids = new HashMap<>(n * 2);
        for (int i = 0; i < n; i++) {
            ids.put(vocab.token(i), i); // a duplicated text resolves to its last id, as in llama.cpp
        }
        List<Integer> user = new ArrayList<>();
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int t = vocab.tokenType(i);
            if (t == TokenType.USER_DEFINED) {
                user.add(i);
            }
            if (t == TokenType.USER_DEFINED || t == TokenType.CONTROL || t == TokenType.UNKNOWN) {
                all.add(i);
            }
        }
        this.userDefined = longestFirst(user);
        this.allSpecial = longestFirst(all);
        this.pieces = new byte[n][];
        for (int i = 0; i < n; i++) {
            pieces[i] = piece(i);
        }
    }

    private int[] longestFirst(List<Integer> list) {
        // llama.cpp orders by UTF-8 length so "<|eot_id|>" wins over a shorter token it contains
        return list.stream()
                .sorted((a, b) -> b.equals(a) ? 0 : byteLength(vocab.token(b)) != byteLength(vocab.token(a))
                        ? Integer.compare(byteLength(vocab.token(b)), byteLength(vocab.token(a)))
                        : Integer.compare(a, b))
                .mapToInt(Integer::intValue).toArray();
    }

    private static int byteLength(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    /** Bytes this token decodes to when special tokens are not rendered. */
    abstract byte[] piece(int id);

    /** Appends the ids of a run of plain text; {@code afterSpecial} is true at the start and after a special token. */
    abstract void encodeText(String text, boolean afterSpecial, IntList out);

    abstract boolean stripsLeadingSpace();

    @Override
    public final int[] encode(String text, boolean addBos, boolean addEos) {
        return encode(text, addBos, addEos, false);
    }

    @Override
    public final int[] encode(String text, boolean addBos, boolean addEos, boolean parseSpecial) {
        if (text == null) {
            throw new IllegalArgumentException("text to encode is null");
        }
        IntList out = new IntList(text.length() / 3 + 4);
        if (addBos) {
            out.add(requireSpecial(vocab.bos(), "BOS"));
        }
        boolean afterSpecial = true;
        for (Object frag : partition(text, parseSpecial ? allSpecial : userDefined)) {
            if (frag instanceof String) {
                encodeText((String) frag, afterSpecial, out);
                afterSpecial = false;
            } else {
                out.add((Integer) frag);
                afterSpecial = true;
            }
        }
        if (addEos) {
            out.add(requireSpecial(vocab.eos(), "EOS"));
        }
        return out.toArray();
    }

    private int requireSpecial(int id, String what) {
        if (id < 0) {
            throw new IllegalArgumentException(vocab.source() + ": " + what + " requested but the vocabulary has no " + what + " token");
        }
        return id;
    }

    /** Splits text into plain-text Strings and Integer ids of special tokens found in it. */
    private List<Object> partition(String text, int[] specials) {
        List<Object> frags = new ArrayList<>();
        if (text.isEmpty()) {
            return frags;
        }
        frags.add(text);
        for (int id : specials) {
            String st = vocab.token(id);
            List<Object> next = null;
            for (int f = 0; f < frags.size(); f++) {
                Object frag = frags.get(f);
                int at = frag instanceof String ? ((String) frag).indexOf(st) : -1;
                if (at < 0) {
                    if (next != null) next.add(frag);
                    continue;
                }
                if (next == null) {
                    next = new ArrayList<>(frags.subList(0, f));
                }
                String s = (String) frag;
                int from = 0;
                while (at >= 0) {
                    if (at > from) next.add(s.substring(from, at));
                    next.add(id);
                    from = at + st.length();
                    at = s.indexOf(st, from);
                }
                if (from < s.length()) next.add(s.substring(from));
            }
            if (next != null) {
                frags = next;
            }
        }
        return frags;
    }

    @Override
    public final String decode(int[] ids) {
        Decoder d = newDecoder();
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(d.feed(id));
        }
        return sb.append(d.flush()).toString();
    }

    @Override
    public final Decoder newDecoder() {
        return newDecoder(true);
    }

    @Override
    public final Decoder newDecoder(boolean atTextStart) {
        return new Decoder(pieces, vocab.bos(), atTextStart && stripsLeadingSpace());
    }

    @Override
    public final String tokenText(int id) {
        return vocab.token(id);
    }

    @Override
    public final Vocabulary vocabulary() {
        return vocab;
    }

    /** Growable int array; encode runs hot enough that boxing every id would show. */
    static final class IntList {
        private int[] a;
        private int n;

        IntList(int capacity) {
            a = new int[Math.max(capacity, 4)];
        }

        void add(int v) {
            if (n == a.length) a = Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        int size() {
            return n;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
