package dev.stackllama4j.io;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A set of output files that appear together or not at all: each is written to a hidden temp file
 * beside its target and renamed into place by {@link #commit()}; {@link #close()} without commit
 * deletes the temps, so a failed run leaves no partial output behind.
 */
public final class AtomicFileSet implements Closeable {
    private static final java.security.SecureRandom RNG = new java.security.SecureRandom();
    private final Map<Path, Path> temps = new LinkedHashMap<>();
    private final List<Writer> writers = new ArrayList<>();
    private boolean committed;

    public Writer open(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        // not createTempFile: its 0600 mode would carry over to the renamed output
        Path tmp = dir.resolve("." + target.getFileName() + "." + Long.toHexString(RNG.nextLong()) + ".tmp");
        temps.put(target, tmp);
        Writer w = new BufferedWriter(new OutputStreamWriter(
                Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), StandardCharsets.UTF_8), 1 << 16);
        writers.add(w);
        return w;
    }

    public void commit() throws IOException {
        for (Writer w : writers) w.close();
        for (var e : temps.entrySet()) {
            try {
                Files.move(e.getValue(), e.getKey(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException x) {
                Files.move(e.getValue(), e.getKey(), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        committed = true;
    }

    @Override
    public void close() throws IOException {
        if (committed) return;
        for (Writer w : writers) {
            try {
                w.close();
            } catch (IOException ignored) {
                // being discarded anyway
            }
        }
        for (Path tmp : temps.values()) Files.deleteIfExists(tmp);
    }
}
