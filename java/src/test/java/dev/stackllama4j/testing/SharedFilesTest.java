package dev.stackllama4j.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

class SharedFilesTest {
    @TempDir
    Path tmp;

    @Test
    void aMissingSharedFileSkipsInAFreshCloneAndFailsInCi() throws Exception {
        Path shared = tmp.resolve("shared");
        TestAbortedException skipped = assertThrows(TestAbortedException.class, () -> SharedFiles.require(shared, "models/m.gguf", Map.of()));
        assertTrue(skipped.getMessage().contains("models/m.gguf is absent"), skipped.getMessage());
        assertThrows(TestAbortedException.class, () -> SharedFiles.require(shared, "models/m.gguf", Map.of("CI", "false")));
        AssertionFailedError failed = assertThrows(AssertionFailedError.class,
                () -> SharedFiles.require(shared, "models/m.gguf", Map.of("CI", "true")));
        assertTrue(failed.getMessage().contains("CI=true") && failed.getMessage().contains("models/m.gguf"), failed.getMessage());
        Files.createDirectories(shared.resolve("models"));
        Files.writeString(shared.resolve("models/m.gguf"), "x");
        assertEquals(shared.resolve("models/m.gguf"), SharedFiles.require(shared, "models/m.gguf", Map.of("CI", "true")));
    }
}
