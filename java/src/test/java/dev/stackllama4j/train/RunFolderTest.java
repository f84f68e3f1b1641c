package dev.stackllama4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.engine.GgufWriter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunFolderTest {
    @TempDir
    Path tmp;

    static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());

    /** Starts a run in {@code dir} with these inputs and leaves a checkpoint carrying its settings, as a killed run would. */
    static void startAndCheckpoint(Path dir, Path sftAdapter) throws Exception {
        try (RunFolder f = RunFolder.open(dir, RunFolder.Mode.FRESH, QUIET)) {
            f.input("sft-adapter", sftAdapter);
            assertNull(f.begin("ppo", Map.of("lr", 1.4e-5, "steps", 20), Set.of("steps")));
            Map<String, Object> state = new LinkedHashMap<>();
            state.put("step", 10);
            state.put(RunFolder.STATE_SETTINGS, f.settings());
            try (GgufWriter w = new GgufWriter()) {
                Checkpoint.write(f.checkpoint(), w, state);
            }
        }
    }

    static Checkpoint.State resume(Path dir, Path sftAdapter, int steps) throws Exception {
        try (RunFolder f = RunFolder.open(dir, RunFolder.Mode.RESUME, QUIET)) {
            f.input("sft-adapter", sftAdapter);
            return f.begin("ppo", Map.of("lr", 1.4e-5, "steps", steps), Set.of("steps"));
        }
    }

    @Test
    void ppoResumeWithAnotherOrNoSftAdapterIsRefused() throws Exception {
        Path sft = tmp.resolve("sft.gguf"), other = tmp.resolve("other.gguf");
        Files.writeString(sft, "adapter one");
        Files.writeString(other, "adapter number two");
        Path dir = tmp.resolve("ppo");
        startAndCheckpoint(dir, sft);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> resume(dir, null, 20));
        assertTrue(e.getMessage().contains("input.sft-adapter: " + sft + " (11 bytes) → (none)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> resume(dir, other, 20));
        assertTrue(e.getMessage().contains("input.sft-adapter: " + sft + " (11 bytes) → " + other + " (18 bytes)"), e.getMessage());
        assertTrue(e.getMessage().contains("may change on resume: steps"), e.getMessage());
        // the same adapter, more steps: allowed, and the state comes back
        assertEquals(10, resume(dir, sft, 40).integer("step", 0, 40));
        var config = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("config.json").toFile());
        assertEquals(40, config.get("settings").get("steps").asInt());
    }

    @Test
    void resumeWithoutACheckpointStartsFreshAndClearsAPartialRun() throws Exception {
        Path dir = tmp.resolve("r");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("metrics.jsonl"), "{\"step\":1}\n");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (RunFolder f = RunFolder.open(dir, RunFolder.Mode.RESUME, new PrintStream(log, true))) {
            assertNull(f.begin("sft", Map.of("lr", 1e-4), Set.of()));
        }
        assertTrue(log.toString().contains("--resume given but") && log.toString().contains("deleted the previous run's metrics.jsonl"),
                log.toString());
        assertTrue(!Files.exists(dir.resolve("metrics.jsonl")));
    }
}
