package dev.stackllama4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Byte-level BPE on a hand-built vocabulary: ids 0..255 are the 256 byte characters in byte order
 * (GPT-2's table, rebuilt here from its definition), then a few merged tokens whose expected
 * encodings are worked out by hand in the comments.
 */
class BpeTokenizerTest {
    static final int T_SP = 256, HE = 257, T_SP_THE = 258, IN = 259, SP_IN = 260, ER = 261, SP_C = 262, AT = 263,
            SP_CAT = 264, BEGIN = 265, END = 266, SP_SP = 267, SP_ER = 268;
    static final String G = "\u0120"; // 'Ġ', the byte-level character for a space

    /** GPT-2's bytes_to_unicode, from its definition: printable Latin-1 keeps its code, the rest get 256, 257, ... */
    static char[] byteChars() {
        char[] c = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            c[b] = keep ? (char) b : (char) next++;
        }
        return c;
    }

    static Vocabulary vocab(String pre) {
        List<String> toks = new ArrayList<>();
        for (char c : byteChars()) toks.add(String.valueOf(c));
        toks.addAll(List.of(G + "t", "he", G + "the", "in", G + "in", "er", G + "c", "at", G + "cat",
                "<|begin_of_text|>", "<|end_of_text|>", G + G, G + "er"));
        int[] types = new int[toks.size()];
        Arrays.fill(types, TokenType.NORMAL);
        types[BEGIN] = TokenType.CONTROL;
        types[END] = TokenType.CONTROL;
        String[] merges = {G + " t", "h e", G + "t he", "i n", G + " in", "e r", G + " c", "a t", G + "c at", G + " " + G};
        Vocabulary.Builder b = Vocabulary.builder("gpt2", toks.toArray(new String[0])).tokenTypes(types).merges(merges)
                .bos(BEGIN).eos(END);
        if (pre != null) b.preTokenizer(pre);
        return b.build();
    }

    @Test
    void byteTableMatchesKnownEntries() {
        char[] c = byteChars();
        assertEquals('\u0120', c[' ']);
        assertEquals('\u010A', c['\n']);
        assertEquals('\u0100', c[0]);
        assertEquals('\u0121', c[0x7F]);
        assertEquals('\u0143', c[0xAD]);
        for (int b = 0; b < 256; b++) {
            assertEquals(c[b], ByteLevel.charOf(b));
            assertEquals(b, ByteLevel.byteOf(c[b]));
        }
    }

    @Test
    void mergesLowestRankFirst() {
        Tokenizer tok = Tokenizer.forVocabulary(vocab("gpt-2"));
        // "the": only (h,e) has a rank -> [t, he]; " cat": (Ġ,c) rank 6 before (a,t) rank 7, then (Ġc,at) rank 8
        assertArrayEquals(new int[] {'t', HE, SP_CAT}, tok.encode("the cat", false, false));
        // " the": (Ġ,t) rank 0, (h,e) rank 1, then (Ġt,he) rank 2
        assertArrayEquals(new int[] {T_SP_THE}, tok.encode(" the", false, false));
        // " in": (i,n) rank 3, then (Ġ,in) rank 4
        assertArrayEquals(new int[] {SP_IN}, tok.encode(" in", false, false));
        // "   ": one piece "ĠĠĠ"; both pairs have rank 9, the left one merges first
        assertArrayEquals(new int[] {SP_SP, ' '}, tok.encode("   ", false, false));
        // " er": (e,r) rank 5 gives [Ġ, er]; no merge joins them although "Ġer" is a token
        assertArrayEquals(new int[] {' ', ER}, tok.encode(" er", false, false));
        assertArrayEquals(new int[] {BEGIN, SP_IN, END}, tok.encode(" in", true, true));
    }

    @Test
    void llama3UsesWholeWordsBeforeMerging() {
        Vocabulary v = vocab("llama-bpe");
        assertTrue(v.addBos(), "llama3 pre-tokenizer implies add_bos");
        Tokenizer tok = Tokenizer.forVocabulary(v);
        // ignore_merges: "Ġer" is in the vocabulary, so it is taken whole
        assertArrayEquals(new int[] {SP_ER}, tok.encode(" er", false, false));
        assertArrayEquals(new int[] {'t', HE, SP_CAT}, tok.encode("the cat", false, false));
    }

    @Test
    void bytesWithoutMergesAndRoundTrips() {
        Tokenizer tok = Tokenizer.forVocabulary(vocab("llama3"));
        // "é" is C3 A9: two byte tokens, ids equal to the byte values
        assertArrayEquals(new int[] {0xC3, 0xA9}, tok.encode("é", false, false));
        String[] texts = {
            "", "Hello, world!", "Grüße aus Köln — naïve café", "日本語のテキスト、句読点。", "🚀🎉 emoji 👩‍👩‍👧 family",
            "مرحبا بالعالم", "Ελληνικά και русский", "tabs\tand\nnewlines\r\n\n  double  spaces   ",
            "I've 12345 apples!!\n\nok", "combining e\u0301 and \u00e9", "\u0000 nul and \u007f del", "'s 'S 'll 'LL",
            "math: ∑ x² ≤ ∞; code: if (a != b) { return; }", "  leading and trailing  ",
        };
        for (String pre : new String[] {"llama3", "gpt-2", "default"}) {
            Tokenizer t = Tokenizer.forVocabulary(vocab(pre));
            for (String s : texts) {
                assertEquals(s, t.decode(t.encode(s, true, true)), pre + ": round trip of '" + s + "'");
            }
        }
    }

    @Test
    void specialTokens() {
        Tokenizer tok = Tokenizer.forVocabulary(vocab("llama3"));
        assertArrayEquals(new int[] {BEGIN, 't', HE}, tok.encode("<|begin_of_text|>the", false, false, true));
        int[] plain = tok.encode("<|begin_of_text|>the", false, false);
        assertFalse(Arrays.stream(plain).anyMatch(id -> id == BEGIN));
        assertEquals("<|begin_of_text|>the", tok.decode(plain));
        assertEquals("the", tok.decode(new int[] {BEGIN, 't', HE, END}));
    }

    @Test
    void streamingDecoderWaitsForWholeCharacters() {
        Tokenizer tok = Tokenizer.forVocabulary(vocab("llama3"));
        int[] ids = tok.encode("a🚀b", false, false);
        assertArrayEquals(new int[] {'a', 0xF0, 0x9F, 0x9A, 0x80, 'b'}, ids);
        Decoder d = tok.newDecoder();
        String[] want = {"a", "", "", "", "🚀", "b"};
        for (int i = 0; i < ids.length; i++) {
            assertEquals(want[i], d.feed(ids[i]), "after id #" + i);
        }
        assertEquals("", d.flush());
    }

    @Test
    void llama3PreTokenizerSplits() {
        PreTokenizer p = PreTokenizer.forName("llama3", "test");
        assertEquals(List.of("Hello", " world"), p.split("Hello world"));
        // digits in groups of three; a lone space before digits stands alone; punctuation takes the newlines
        assertEquals(List.of("I", "'ve", " ", "123", "45", " apples", "!!\n\n", "ok"), p.split("I've 12345 apples!!\n\nok"));
        // of a run of spaces, the last one joins the next word
        assertEquals(List.of(" ", " hi"), p.split("  hi"));
        assertEquals(List.of("'S", " DON", "'T"), p.split("'S DON'T"));
        assertEquals(List.of("\n\n", "x"), p.split("\n\nx"));
        // one non-letter, non-digit character may lead a run of letters
        assertEquals(List.of("日本語", "、テキスト"), p.split("日本語、テキスト"));
    }

    @Test
    void gpt2PreTokenizerSplits() {
        PreTokenizer p = PreTokenizer.forName("gpt-2", "test");
        assertEquals(List.of("I", "'ve", " 12345", " apples", "!!", "\n", "\n", "ok"), p.split("I've 12345 apples!!\n\nok"));
        // GPT-2's contractions are lower-case only
        assertEquals(List.of("'", "S", " DON", "'", "T"), p.split("'S DON'T"));
        assertEquals(List.of(" ", " hi", "  "), p.split("  hi  "));
    }

    @Test
    void unknownNamesAndBrokenMergesAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> vocab("qwen2"));
        assertTrue(e.getMessage().contains("qwen2") && e.getMessage().contains("tokenizer.ggml.pre"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Tokenizer.forVocabulary(Vocabulary.builder("gpt2", new String[] {"a", "b"}).merges(new String[] {"ab"}).build()));
        assertTrue(e.getMessage().contains("tokenizer.ggml.merges[0]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Vocabulary.builder("gpt2", new String[] {"a"}).build());
        assertTrue(e.getMessage().contains("merges"), e.getMessage());
    }
}
