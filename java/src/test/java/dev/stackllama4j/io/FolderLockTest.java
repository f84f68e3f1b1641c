package dev.stackllama4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.testing.LockHolder;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FolderLockTest {
    @TempDir
    Path tmp;

    static PrintStream capture(ByteArrayOutputStream b) {
        return new PrintStream(b, true, StandardCharsets.UTF_8);
    }

    /** Another process holds the folder: refused at once naming its pid; once it is killed, taken over with a notice. */
    @Test
    void aSecondProcessIsRefusedAndADeadHoldersLockIsTakenOver() throws Exception {
        Path dir = tmp.resolve("run");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), LockHolder.class.getName(), dir.toString()).redirectErrorStream(true).start();
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("locked", r.readLine());
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> FolderLock.acquire(dir, capture(log)));
            assertTrue(e.getMessage().contains("in use by another run (pid " + p.pid() + " on "), e.getMessage());
            p.destroyForcibly();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertTrue(Files.exists(dir.resolve(FolderLock.LOCK)), "a killed holder leaves its lock file");
            try (FolderLock l = FolderLock.acquire(dir, capture(log))) {
                String notice = log.toString(StandardCharsets.UTF_8);
                assertTrue(notice.contains("taking over the stale lock of pid " + p.pid()), notice);
            }
            assertEquals(0, Files.size(dir.resolve(FolderLock.LOCK)), "a released lock file is empty");
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void theSameProcessCannotHoldAFolderTwiceAndLeftoversAreRemoved() throws Exception {
        Path dir = tmp.resolve("run");
        Files.createDirectories(dir.resolve(".prepare-sort-123"));
        Files.writeString(dir.resolve(".prepare-sort-123/run-0"), "x");
        Files.writeString(dir.resolve(".adapter.gguf.5f3a.tmp"), "x");
        Files.writeString(dir.resolve("checkpoint.gguf.tmp.Ab12Cd"), "x");
        Files.writeString(dir.resolve("notes.tmpl"), "mine");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (FolderLock l = FolderLock.acquire(dir, capture(log))) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> FolderLock.acquire(dir, capture(log)));
            assertTrue(e.getMessage().contains("in use by another run (pid " + ProcessHandle.current().pid()) && e.getMessage().contains("this process"),
                    e.getMessage());
            try (var s = Files.list(dir)) {
                assertEquals(java.util.Set.of(FolderLock.LOCK, "notes.tmpl"),
                        s.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toSet()));
            }
            assertTrue(log.toString(StandardCharsets.UTF_8).contains("removed 3 leftover(s)"), log.toString(StandardCharsets.UTF_8));
        }
        // and again after release, without a notice: an empty lock file is a released one
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        try (FolderLock l = FolderLock.acquire(dir, capture(again))) {
            assertTrue(Files.size(dir.resolve(FolderLock.LOCK)) > 0);
        }
        assertEquals("", again.toString(StandardCharsets.UTF_8));
    }

    @Test
    void anOutputPathThatIsAFileIsRefusedWithTheReason() throws Exception {
        Path file = tmp.resolve("out");
        Files.writeString(file, "x");
        java.io.IOException e = assertThrows(java.io.IOException.class, () -> FolderLock.acquire(file, capture(new ByteArrayOutputStream())));
        assertTrue(e.getMessage().contains(file + ": cannot create the output folder: a file of that name is in the way"), e.getMessage());
    }
}
