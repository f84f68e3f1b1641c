package dev.stackllama4j.io;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Output files of one folder that appear together or not at all. Each is written to a hidden temp
 * file beside its target. {@link #commit()} forces every temp to disk, then writes a journal
 * ({@value #JOURNAL}: temp → target per line, forced, with the folder) — the commit point — then
 * renames the temps into place, forces the folder and deletes the journal. A crash before the
 * journal leaves the old set (the temps are leftovers that {@link FolderLock} deletes); a crash
 * after it is rolled forward by {@link #recover} (which {@link FolderLock} runs), and until then
 * readers refuse the folder ({@link #requireSettled}) rather than read a mix of old and new.
 * {@link #close()} without commit deletes the temps.
 */
public final class AtomicFileSet implements Closeable {
    /** The commit journal's name; its presence means a publish is under way or was interrupted. */
    public static final String JOURNAL = ".stackllama4j-publish.journal";

    private static final java.security.SecureRandom RNG = new java.security.SecureRandom();
    private final Map<Path, Path> temps = new LinkedHashMap<>();
    private final List<Writer> writers = new ArrayList<>();
    private final List<FileChannel> channels = new ArrayList<>();
    private Path dir;
    private boolean committed;

    /** A writer for {@code target}; every target of a set must be in the same folder. */
    public Writer open(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        Path d = abs.getParent();
        if (dir == null) dir = d;
        else if (!dir.equals(d)) throw new IllegalArgumentException("an AtomicFileSet publishes into one folder: " + d + " is not " + dir);
        Files.createDirectories(d);
        // not createTempFile: its 0600 mode would carry over to the renamed output
        Path tmp = d.resolve("." + abs.getFileName() + "." + Long.toHexString(RNG.nextLong()) + ".tmp");
        FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        channels.add(ch);
        temps.put(abs, tmp);
        Writer w = new BufferedWriter(new OutputStreamWriter(Channels.newOutputStream(ch), StandardCharsets.UTF_8), 1 << 16);
        writers.add(w);
        return w;
    }

    public void commit() throws IOException {
        commit(Integer.MAX_VALUE);
    }

    /** As {@link #commit()}, stopping (as a crash would) after {@code renames} renames: for tests. */
    void commit(int renames) throws IOException {
        for (int i = 0; i < writers.size(); i++) {
            writers.get(i).flush();
            channels.get(i).force(true);
            writers.get(i).close();
        }
        if (temps.isEmpty()) {
            committed = true;
            return;
        }
        StringBuilder journal = new StringBuilder();
        for (var e : temps.entrySet()) journal.append(e.getValue().getFileName()).append('\t').append(e.getKey().getFileName()).append('\n');
        AtomicFiles.writeString(dir.resolve(JOURNAL), journal.toString());
        forceDirectory(dir);
        int done = 0;
        for (var e : temps.entrySet()) {
            if (done++ == renames) return;
            Files.move(e.getValue(), e.getKey(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        forceDirectory(dir);
        Files.delete(dir.resolve(JOURNAL));
        forceDirectory(dir);
        committed = true;
    }

    /**
     * Completes a commit that a crash interrupted in {@code dir} (renames the temps the journal
     * lists that are still there, then deletes the journal). Returns whether there was one.
     */
    public static boolean recover(Path dir) throws IOException {
        Path j = dir.resolve(JOURNAL);
        if (!Files.exists(j)) return false;
        for (String line : Files.readAllLines(j, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            String[] parts = line.split("\t");
            if (parts.length != 2 || parts[0].contains("/") || parts[1].contains("/"))
                throw new IOException(j + ": malformed journal line '" + line + "'");
            Path tmp = dir.resolve(parts[0]);
            if (Files.exists(tmp)) Files.move(tmp, dir.resolve(parts[1]), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        forceDirectory(dir);
        Files.delete(j);
        forceDirectory(dir);
        return true;
    }

    /** Refuses to read {@code file} while its folder holds an unfinished publish. */
    public static void requireSettled(Path file) {
        Path d = file.toAbsolutePath().getParent();
        if (d != null && Files.exists(d.resolve(JOURNAL)))
            throw new IllegalStateException(file + ": its folder holds an interrupted publish of output files (" + JOURNAL
                    + "); rerun the command that writes " + d + " (it completes or replaces the set)");
    }

    /** fsync of a directory, so renames in it are durable. */
    static void forceDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
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
        // after a commit stopped midway the journal owns the temps: recovery renames them
        if (dir != null && Files.exists(dir.resolve(JOURNAL))) return;
        for (Path tmp : temps.values()) Files.deleteIfExists(tmp);
    }
}
