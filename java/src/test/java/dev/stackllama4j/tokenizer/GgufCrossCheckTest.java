package dev.stackllama4j.tokenizer;

import dev.stackllama4j.testing.SharedFiles;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stackllama4j.engine.GgufFile;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The engine's native GGUF reader and the test fixture reader must agree on every tokenizer key, and
 * the vocabularies built from each must tokenize identically.
 */
class GgufCrossCheckTest {
    static void check(String relative) throws IOException {
        Path p = SharedFiles.require(relative);
        TestGgufMetadata fixture = TestGgufMetadata.read(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(fixture.version(), f.version());
            assertEquals(fixture.asMap().keySet(), new java.util.LinkedHashSet<>(f.keys()), "metadata keys");
            Vocabulary a = Vocabulary.fromMetadata(fixture);
            Vocabulary b = Vocabulary.fromMetadata(f);
            assertEquals(a.toString(), b.toString());
            for (int i = 0; i < a.size(); i++) {
                assertEquals(a.token(i), b.token(i), "token " + i);
                assertEquals(Float.floatToIntBits(a.score(i)), Float.floatToIntBits(b.score(i)), "score " + i);
                assertEquals(a.tokenType(i), b.tokenType(i), "type " + i);
            }
            String s = "Once upon a time 🚀, naïve \t\n tokens!";
            assertArrayEquals(Tokenizer.forVocabulary(a).encode(s, true, true), Tokenizer.forVocabulary(b).encode(s, true, true));
        }
    }

    @Test
    void llamaSpmVocab() throws IOException {
        check("tokenizers/llama-spm/ggml-vocab-llama-spm.gguf");
    }

    @Test
    void stories260K() throws IOException {
        check("models/stories260K/stories260K.gguf");
    }
}
