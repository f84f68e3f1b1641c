package dev.stackllama4j.tokenizer;

import dev.stackllama4j.testing.SharedFiles;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real LLaMA / Llama 2 vocabulary (32,000 tokens) against llama.cpp's own test vectors. */
class LlamaSpmVocabTest {
    static final String DIR = "tokenizers/llama-spm/";
    static Tokenizer tok;
    static Vocabulary vocab;

    @BeforeAll
    static void load() throws IOException {
        Path gguf = SharedFiles.require(DIR + "ggml-vocab-llama-spm.gguf");
        vocab = Vocabulary.fromMetadata(TestGgufMetadata.read(gguf));
        tok = Tokenizer.forVocabulary(vocab);
    }

    /**
     * llama.cpp's test-tokenizer-0 format: inputs joined by "\n__ggml_vocab_test__\n" (so each case loses
     * the newline that precedes the separator line, and the file ends with a separator), one line of
     * space-separated ids per case.
     */
    static List<String[]> vectors() throws IOException {
        String inp = Files.readString(SharedFiles.require(DIR + "ggml-vocab-llama-spm.gguf.inp"), StandardCharsets.UTF_8);
        String out = Files.readString(SharedFiles.require(DIR + "ggml-vocab-llama-spm.gguf.out"), StandardCharsets.UTF_8);
        List<String> cases = new ArrayList<>(Arrays.asList(inp.split(Pattern.quote("\n__ggml_vocab_test__\n"), -1)));
        assertEquals("", cases.remove(cases.size() - 1), "the .inp file ends with a separator");
        String[] lines = out.split("\n", -1);
        assertEquals("", lines[lines.length - 1]);
        assertEquals(cases.size(), lines.length - 1, "one output line per input case");
        List<String[]> v = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            v.add(new String[] {cases.get(i), lines[i].trim()});
        }
        return v;
    }

    static String ids(int[] a) {
        return Arrays.stream(a).mapToObj(Integer::toString).collect(Collectors.joining(" "));
    }

    @Test
    void metadata() {
        assertEquals(32000, vocab.size());
        assertEquals("llama", vocab.model());
        assertEquals(1, vocab.bos());
        assertEquals(2, vocab.eos());
        assertEquals(0, vocab.unk());
        assertEquals("<s>", tok.tokenText(1));
        assertEquals("\u2581", tok.tokenText(29871));
        assertEquals("<0x0A>", tok.tokenText(13));
        assertEquals(TokenType.BYTE, vocab.tokenType(13));
        assertEquals(TokenType.CONTROL, vocab.tokenType(1));
        assertTrue(vocab.addSpacePrefix());
    }

    @Test
    void reproducesEveryLlamaCppVector() throws IOException {
        List<String[]> v = vectors();
        assertEquals(46, v.size());
        List<String> bad = new ArrayList<>();
        for (String[] c : v) {
            String got = ids(tok.encode(c[0], false, false));
            if (!got.equals(c[1])) {
                bad.add("'" + c[0] + "': expected [" + c[1] + "] got [" + got + "]");
            }
        }
        assertTrue(bad.isEmpty(), bad.size() + " of " + v.size() + " vectors differ:\n" + String.join("\n", bad));
    }

    @Test
    void vectorsRoundTripAndStream() throws IOException {
        for (String[] c : vectors()) {
            String s = c[0];
            int[] ids = tok.encode(s, true, false);
            assertEquals(s, tok.decode(ids), "round trip");
            Decoder d = tok.newDecoder();
            StringBuilder sb = new StringBuilder();
            for (int id : ids) {
                String part = d.feed(id);
                assertFalse(part.contains("\uFFFD"), "streamed a broken character for '" + s + "'");
                sb.append(part);
            }
            assertFalse(d.hasPending());
            assertEquals(s, sb.append(d.flush()).toString());
        }
    }

    @Test
    void agreesWithNaiveReferenceOnVectors() throws IOException {
        NaiveSpm ref = new NaiveSpm(vocab);
        for (String[] c : vectors()) {
            List<Integer> got = Arrays.stream(tok.encode(c[0], false, false)).boxed().collect(Collectors.toList());
            assertEquals(ref.encode(c[0]), got, "'" + c[0] + "'");
        }
    }

    /** Ids from Google's sentencepiece on the same vocabulary (scripts/spm_reference_ids.py). */
    @Test
    void agreesWithSentencePiece() throws IOException {
        List<String> bad = new ArrayList<>();
        int n = 0;
        try (java.io.InputStream in = LlamaSpmVocabTest.class.getResourceAsStream("spm-reference-ids.tsv")) {
            assertTrue(in != null, "test resource spm-reference-ids.tsv is missing");
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.startsWith("#") || line.isBlank()) continue;
                String[] f = line.split("\t");
                String text = new String(java.util.HexFormat.of().parseHex(f[0]), StandardCharsets.UTF_8);
                String got = ids(tok.encode(text, false, false));
                n++;
                if (!got.equals(f[1])) bad.add(f[2] + ": sentencepiece [" + f[1] + "] ours [" + got + "]");
                assertEquals(text, tok.decode(tok.encode(text, true, false)), "round trip " + f[2]);
            }
        }
        assertTrue(n >= 30, "only " + n + " reference strings");
        assertTrue(bad.isEmpty(), bad.size() + " of " + n + " differ:\n" + String.join("\n", bad));
    }

    @Test
    void specialTokenTextIsPlainUnlessParsed() {
        int[] plain = tok.encode("<s>Hello</s>", false, false);
        assertFalse(Arrays.stream(plain).anyMatch(id -> id == 1 || id == 2), ids(plain));
        assertEquals("<s>Hello</s>", tok.decode(plain));
        assertArrayEquals(new int[] {1, 15043, 2}, tok.encode("<s>Hello</s>", false, false, true));
        assertArrayEquals(new int[] {1, 15043, 3186, 2}, tok.encode("Hello world", true, true));
    }

    @Test
    void encodesTheWholeTestFileQuickly() throws IOException {
        String all = Files.readString(SharedFiles.require(DIR + "ggml-vocab-llama-spm.gguf.inp"), StandardCharsets.UTF_8);
        int n = 0;
        long best = Long.MAX_VALUE;
        for (int rep = 0; rep < 5; rep++) {
            long t0 = System.nanoTime();
            n = tok.encode(all, false, false).length;
            best = Math.min(best, System.nanoTime() - t0);
        }
        assertEquals(ids(new NaiveSpm(vocab).encode(all).stream().mapToInt(Integer::intValue).toArray()),
                ids(tok.encode(all, false, false)));
        System.out.printf("llama-spm: encoded the %d-char .inp file to %d ids in %.2f ms (best of 5)%n",
                all.length(), n, best / 1e6);
    }
}
