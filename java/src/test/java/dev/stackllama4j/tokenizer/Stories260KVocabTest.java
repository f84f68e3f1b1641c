package dev.stackllama4j.tokenizer;

import dev.stackllama4j.testing.SharedFiles;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The 512-token vocabulary inside the stories260K model. */
class Stories260KVocabTest {
    @Test
    void encodesAndRoundTripsTheStoryOpening() throws IOException {
        TestGgufMetadata md = TestGgufMetadata.read(SharedFiles.require("models/stories260K/stories260K.gguf"));
        assertEquals(3, md.version());
        Vocabulary v = Vocabulary.fromMetadata(md);
        assertEquals(512, v.size());
        assertEquals(1, v.bos());
        assertEquals(2, v.eos());
        assertEquals(0, v.unk());
        Tokenizer tok = Tokenizer.forVocabulary(v);
        String s = "Once upon a time, there was a little girl named Lily.";
        int[] ids = tok.encode(s, true, false);
        assertEquals(1, ids[0]);
        assertEquals(s, tok.decode(ids));
        // the merge loop against the slow obvious reference
        assertEquals(new NaiveSpm(v).encode(s),
                Arrays.stream(tok.encode(s, false, false)).boxed().collect(Collectors.toList()));
        // a story-domain sentence needs no byte fallback, and merges well below one token per character
        assertTrue(Arrays.stream(ids).noneMatch(id -> v.tokenType(id) == TokenType.BYTE), Arrays.toString(ids));
        assertTrue(ids.length < s.length() / 2, ids.length + " tokens for " + s.length() + " chars");
        StringBuilder pieces = new StringBuilder();
        for (int id : ids) pieces.append(tok.tokenText(id)).append('|');
        System.out.println("stories260K: " + Arrays.toString(ids) + " = " + pieces);
        // text outside the 512-token vocabulary falls back to bytes and still round-trips
        String odd = "Lily saw 🐉 and said «Grüße»!";
        assertEquals(odd, tok.decode(tok.encode(odd, true, true)));
    }
}
