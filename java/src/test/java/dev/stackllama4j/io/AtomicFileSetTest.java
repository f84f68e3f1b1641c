package dev.stackllama4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.data.JsonlLines;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFileSetTest {
    @TempDir
    Path tmp;

    static final List<String> NAMES = List.of("finetune.jsonl", "reward.jsonl", "rl.jsonl", "stats.json");

    /** Writes generation {@code gen} of the set, stopping after {@code renames} renames (as a kill would). */
    void publish(Path dir, int gen, int renames) throws Exception {
        AtomicFileSet set = new AtomicFileSet();
        for (String n : NAMES) {
            Writer w = set.open(dir.resolve(n));
            w.write("{\"gen\":" + gen + "}\n");
        }
        set.commit(renames);
        set.close();
    }

    String gen(Path f) throws Exception {
        return Files.readString(f).trim();
    }

    @Test
    void aKillBetweenRenamesNeverLeavesAReadableMixOfOldAndNew() throws Exception {
        Path dir = tmp.resolve("data");
        publish(dir, 1, Integer.MAX_VALUE);
        for (String n : NAMES) assertEquals("{\"gen\":1}", gen(dir.resolve(n)));
        assertFalse(Files.exists(dir.resolve(AtomicFileSet.JOURNAL)));

        // killed after the first rename: finetune.jsonl is new, the others old ...
        publish(dir, 2, 1);
        assertEquals("{\"gen\":2}", gen(dir.resolve("finetune.jsonl")));
        assertEquals("{\"gen\":1}", gen(dir.resolve("reward.jsonl")));
        // ... and no reader accepts the folder in that state
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> JsonlLines.read(dir.resolve("reward.jsonl"), (r, l) -> {}));
        assertTrue(e.getMessage().contains("interrupted publish"), e.getMessage());
        // the next run on the folder completes the publish: all new
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (FolderLock l = FolderLock.acquire(dir, new PrintStream(log))) {
            for (String n : NAMES) assertEquals("{\"gen\":2}", gen(dir.resolve(n)), n);
        }
        assertTrue(log.toString().contains("completed an interrupted publish"), log.toString());
        assertEquals(1, JsonlLines.read(dir.resolve("reward.jsonl"), (r, l) -> {}));

        // killed before the commit point (temps written, no journal): all old, temps removed as leftovers
        AtomicFileSet set = new AtomicFileSet();
        for (String n : NAMES) set.open(dir.resolve(n)).write("{\"gen\":3}\n");
        // no commit, no close: the process died here
        try (FolderLock l = FolderLock.acquire(dir, new PrintStream(log))) {
            for (String n : NAMES) assertEquals("{\"gen\":2}", gen(dir.resolve(n)), n);
            try (var s = Files.list(dir)) {
                assertEquals(NAMES.size() + 1, s.count(), "only the set and the lock file remain");
            }
        }
    }

    @Test
    void everyFileOfASetIsInOneFolder() throws Exception {
        try (AtomicFileSet set = new AtomicFileSet()) {
            set.open(tmp.resolve("a/x.jsonl"));
            assertThrows(IllegalArgumentException.class, () -> set.open(tmp.resolve("b/y.jsonl")));
        }
    }
}
