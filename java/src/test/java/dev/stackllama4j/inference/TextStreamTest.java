package dev.stackllama4j.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.testing.SharedFiles;
import dev.stackllama4j.tokenizer.Tokenizer;
import dev.stackllama4j.tokenizer.Vocabulary;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Streaming text over the real Llama-2 SentencePiece vocabulary (byte fallback for rare characters). */
class TextStreamTest {
    static Tokenizer tok;

    @BeforeAll
    static void load() {
        try (GgufFile f = GgufFile.open(SharedFiles.require("tokenizers/llama-spm/ggml-vocab-llama-spm.gguf"))) {
            tok = Tokenizer.forVocabulary(Vocabulary.fromMetadata(f));
        }
    }

    /** Streams ids one by one; returns the pieces (the final flush included). */
    private static List<String> stream(int[] ids, boolean atStart, List<String> stops) {
        TextStream s = new TextStream(tok.newDecoder(atStart), stops);
        List<String> pieces = new ArrayList<>();
        for (int id : ids) {
            pieces.add(s.push(id));
            if (s.stopped()) break;
        }
        pieces.add(s.finish());
        assertEquals(String.join("", pieces), s.text());
        return pieces;
    }

    private static byte[] utf8(List<String> pieces) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String p : pieces) out.writeBytes(p.getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
    }

    @Test
    void multiByteCharactersSplitAcrossByteTokensStreamByteExact() {
        String text = "Llamas 🦙 say \u00e9l\u00e8ve, 日本語 and 𝄞 music";
        int[] ids = tok.encode(text, true, false);
        long byteTokens = Arrays.stream(ids).filter(i -> tok.tokenText(i).startsWith("<0x")).count();
        assertTrue(byteTokens >= 4, "the text should need byte-fallback tokens, got " + byteTokens);
        List<String> pieces = stream(ids, true, List.of());
        for (String p : pieces) assertFalse(p.contains("\uFFFD"), "a piece holds a broken character: " + p);
        assertArrayEquals(text.getBytes(StandardCharsets.UTF_8), utf8(pieces));
    }

    @Test
    void aContinuationKeepsItsSentencePieceSpace() {
        int[] prompt = tok.encode("Once upon", true, false);
        int[] all = tok.encode("Once upon a time 🦙", true, false);
        assertArrayEquals(prompt, Arrays.copyOf(all, prompt.length), "the prompt's tokens prefix the whole text's");
        int[] cont = Arrays.copyOfRange(all, prompt.length, all.length);
        assertArrayEquals(" a time 🦙".getBytes(StandardCharsets.UTF_8), utf8(stream(cont, false, List.of())));
        assertArrayEquals("Once upon a time 🦙".getBytes(StandardCharsets.UTF_8), utf8(stream(all, true, List.of())));
    }

    @Test
    void stopStringCutsTheTextAndIsNeverShownInPart() {
        String text = "Hello 🦙 world, Hello again";
        int[] ids = tok.encode(text, true, false);
        TextStream s = new TextStream(tok.newDecoder(true), List.of("wor", "🦙 wx"));
        StringBuilder shown = new StringBuilder();
        for (int id : ids) {
            shown.append(s.push(id));
            // nothing shown may end with a proper prefix of a stop string that the next tokens could complete
            assertFalse(shown.toString().endsWith("w") || shown.toString().endsWith("🦙"), "held-back text leaked: " + shown);
            if (s.stopped()) break;
        }
        shown.append(s.finish());
        assertTrue(s.stopped());
        assertEquals("Hello 🦙 ", shown.toString());
        assertEquals("Hello 🦙 ", s.text());
    }

    @Test
    void heldBackTextIsReleasedWhenNoStopStringMatches() {
        String text = "one two thr";
        List<String> pieces = stream(tok.encode(text, true, false), true, List.of("three"));
        assertEquals(text, String.join("", pieces));
        assertEquals("thr", pieces.get(pieces.size() - 1), "'thr' is held until the stream ends");
    }
}
