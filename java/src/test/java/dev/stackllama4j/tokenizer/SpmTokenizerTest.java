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

/** SentencePiece-style tokenizer on a hand-built vocabulary whose expected ids are derived by hand. */
class SpmTokenizerTest {
    static final int UNK = 0, BOS = 1, EOS = 2, SPACE = 259, A = 260, B = 261, AB = 262, SP_A = 263, SP_AB = 264,
            C = 265, X = 266, Y = 267, XY = 268, YX = 269, USER = 270;

    static Vocabulary handBuilt(boolean addSpacePrefix) {
        List<String> toks = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        List<Float> scores = new ArrayList<>(List.of(0f, 0f, 0f));
        List<Integer> types = new ArrayList<>(List.of(TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL));
        for (int b = 0; b < 256; b++) {
            toks.add(String.format("<0x%02X>", b));
            scores.add(0f);
            types.add(TokenType.BYTE);
        }
        String[] extra = {"\u2581", "a", "b", "ab", "\u2581a", "\u2581ab", "c", "x", "y", "xy", "yx", "<sep>"};
        float[] extraScores = {-1f, -2f, -3f, -0.5f, -0.7f, -0.2f, -4f, -5f, -5f, -1f, -1f, 0f};
        for (int i = 0; i < extra.length; i++) {
            toks.add(extra[i]);
            scores.add(extraScores[i]);
            types.add(i == extra.length - 1 ? TokenType.USER_DEFINED : TokenType.NORMAL);
        }
        float[] s = new float[scores.size()];
        int[] t = new int[types.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = scores.get(i);
            t[i] = types.get(i);
        }
        return Vocabulary.builder("llama", toks.toArray(new String[0])).scores(s).tokenTypes(t)
                .addSpacePrefix(addSpacePrefix).build();
    }

    static int byteId(int b) {
        return 3 + b;
    }

    @Test
    void mergesHighestScoreFirst() {
        Tokenizer tok = Tokenizer.forVocabulary(handBuilt(true));
        // "▁ab": (a,b) -0.5 beats (▁,a) -0.7, then (▁,ab) forms "▁ab"
        assertArrayEquals(new int[] {SP_AB}, tok.encode("ab", false, false));
        // "▁ab" + "c": "▁abc" is not a token
        assertArrayEquals(new int[] {SP_AB, C}, tok.encode("abc", false, false));
        // "▁a▁b": after "▁a", nothing merges "▁" with "b"
        assertArrayEquals(new int[] {SP_A, SPACE, B}, tok.encode("a b", false, false));
        assertArrayEquals(new int[] {BOS, SP_AB, EOS}, tok.encode("ab", true, true));
    }

    @Test
    void equalScoresMergeLeftmostFirst() {
        Tokenizer tok = Tokenizer.forVocabulary(handBuilt(false));
        // (x,y) and (y,x) both score -1: the left pair wins, leaving x
        assertArrayEquals(new int[] {XY, X}, tok.encode("xyx", false, false));
        assertArrayEquals(new int[] {XY, YX}, tok.encode("xyyx", false, false));
    }

    @Test
    void unknownCharactersFallBackToBytes() {
        Tokenizer tok = Tokenizer.forVocabulary(handBuilt(true));
        assertArrayEquals(new int[] {SPACE, byteId(0xC3), byteId(0xA9)}, tok.encode("é", false, false));
        assertArrayEquals(new int[] {SP_A, byteId(0xF0), byteId(0x9F), byteId(0x9A), byteId(0x80)},
                tok.encode("a🚀", false, false));
        assertEquals("a🚀", tok.decode(tok.encode("a🚀", true, false)));
    }

    @Test
    void specialTokensParsedOnlyWhenAsked() {
        Tokenizer tok = Tokenizer.forVocabulary(handBuilt(true));
        int[] plain = tok.encode("<s>ab", false, false);
        assertFalse(Arrays.stream(plain).anyMatch(id -> id == BOS), Arrays.toString(plain));
        // a special token resets the leading-space rule: "ab" after <s> is "▁ab" again
        assertArrayEquals(new int[] {BOS, SP_AB}, tok.encode("<s>ab", false, false, true));
        assertArrayEquals(new int[] {SP_AB, EOS, SP_AB}, tok.encode("ab</s>ab", false, false, true));
        // user-defined tokens are always matched
        assertArrayEquals(new int[] {SP_AB, USER, SP_AB}, tok.encode("ab<sep>ab", false, false));
        // control tokens decode to nothing, user-defined ones to their text; the "▁" that encoding puts
        // after a special token stays a space (llama.cpp decodes it the same way)
        assertEquals("ab<sep> ab", tok.decode(new int[] {BOS, SP_AB, USER, SP_AB, EOS}));
    }

    @Test
    void decodeStripsOnlyTheAddedSpace() {
        Tokenizer tok = Tokenizer.forVocabulary(handBuilt(true));
        assertEquals("ab", tok.decode(new int[] {SP_AB}));
        assertEquals("ab", tok.decode(new int[] {BOS, SP_AB}));
        assertEquals(" ab", tok.decode(new int[] {SPACE, SP_AB}));
        for (String s : new String[] {"", " ", "  a", "ab ab", " a b c ", "é x"}) {
            assertEquals(s, tok.decode(tok.encode(s, false, false)), "round trip of '" + s + "'");
            assertEquals(s, tok.decode(tok.encode(s, true, true)), "round trip with BOS/EOS of '" + s + "'");
        }
        Tokenizer noPrefix = Tokenizer.forVocabulary(handBuilt(false));
        assertEquals(" ab", noPrefix.decode(new int[] {SP_AB}));
    }

    @Test
    void streamingDecoderHoldsBackPartialUtf8() {
        Tokenizer tok = Tokenizer.forVocabulary(handBuilt(true));
        Decoder d = tok.newDecoder();
        assertEquals("", d.feed(BOS));
        assertEquals("a", d.feed(SP_A));
        assertEquals("", d.feed(byteId(0xF0)));
        assertEquals("", d.feed(byteId(0x9F)));
        assertEquals("", d.feed(byteId(0x9A)));
        assertTrue(d.hasPending());
        assertEquals("🚀", d.feed(byteId(0x80)));
        assertEquals(" ", d.feed(SPACE));
        assertEquals("", d.feed(byteId(0xC3)));
        assertEquals("\uFFFD", d.flush()); // a sequence that never completed
    }

    @Test
    void completePrefixFindsUnfinishedSequences() {
        byte[] euro = "a€".getBytes(java.nio.charset.StandardCharsets.UTF_8); // 61 E2 82 AC
        assertEquals(4, Decoder.completePrefix(euro, 4));
        assertEquals(1, Decoder.completePrefix(euro, 3));
        assertEquals(1, Decoder.completePrefix(euro, 2));
        assertEquals(1, Decoder.completePrefix(euro, 1));
        assertEquals(0, Decoder.completePrefix(new byte[] {(byte) 0xF0, (byte) 0x9F, (byte) 0x9A}, 3));
        assertEquals(2, Decoder.completePrefix(new byte[] {(byte) 0x80, (byte) 0x80}, 2)); // stray continuations
    }

    @Test
    void agreesWithNaiveReference() {
        Vocabulary v = handBuilt(true);
        Tokenizer tok = Tokenizer.forVocabulary(v);
        NaiveSpm ref = new NaiveSpm(v);
        java.util.Random rnd = new java.util.Random(42);
        String alphabet = "abcxy é🚀";
        for (int trial = 0; trial < 500; trial++) {
            StringBuilder sb = new StringBuilder();
            int len = rnd.nextInt(12);
            for (int i = 0; i < len; i++) {
                sb.appendCodePoint(alphabet.codePointAt(alphabet.offsetByCodePoints(0, rnd.nextInt(alphabet.codePointCount(0, alphabet.length())))));
            }
            String s = sb.toString();
            assertEquals(ref.encode(s), Arrays.stream(tok.encode(s, false, false)).boxed().collect(java.util.stream.Collectors.toList()), "'" + s + "'");
            assertEquals(s, tok.decode(tok.encode(s, true, false)));
        }
    }

    @Test
    void badVocabulariesAreRejectedClearly() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Vocabulary.builder("bert", new String[] {"a"}).build());
        assertTrue(e.getMessage().contains("bert") && e.getMessage().contains("tokenizer.ggml.model"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Vocabulary.builder("llama", new String[] {"a", "b"}).scores(new float[1]).build());
        assertTrue(e.getMessage().contains("tokenizer.ggml.scores"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Tokenizer.forVocabulary(handBuilt(true)).decode(new int[] {99999}));
        assertTrue(e.getMessage().contains("99999"), e.getMessage());
    }

    @Test
    void fromMetadataReadsKeysAndDefaults() {
        MapMetadata md = new MapMetadata()
                .put("tokenizer.ggml.model", "llama")
                .put("tokenizer.ggml.tokens", new String[] {"<unk>", "<s>", "</s>", "a", ""})
                .put("tokenizer.ggml.scores", new float[] {0, 0, 0, -1, -2})
                .put("tokenizer.ggml.token_type", new int[] {2, 3, 3, 1, 1})
                .put("tokenizer.ggml.eos_token_id", 2L)
                .put("tokenizer.ggml.padding_token_id", 5L); // out of range: ignored with a warning
        Vocabulary v = Vocabulary.fromMetadata(md);
        assertEquals(5, v.size());
        assertEquals(1, v.bos());
        assertEquals(2, v.eos());
        assertEquals(0, v.unk());
        assertEquals(-1, v.pad());
        assertTrue(v.addBos());
        assertFalse(v.addEos());
        assertTrue(v.addSpacePrefix());
        assertEquals("[EMPTY_4]", v.token(4));
        assertEquals(1, v.warnings().size(), v.warnings().toString());
        md.put("tokenizer.ggml.add_space_prefix", false).put("tokenizer.ggml.add_bos_token", false);
        v = Vocabulary.fromMetadata(md);
        assertFalse(v.addSpacePrefix());
        assertFalse(v.addBos());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Vocabulary.fromMetadata(new MapMetadata().put("general.name", "x")));
        assertTrue(e.getMessage().contains("tokenizer.ggml.model"), e.getMessage());
    }
}
