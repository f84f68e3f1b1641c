package dev.stackllama4j.io;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Exclusive use of an output folder by one process: {@code .stackllama4j.lock} holds an OS file
 * lock (released by the OS when the process dies, however it dies) and the holder's pid and host,
 * for the message a second run gets. The file is emptied when the run ends; one left with a holder
 * but no OS lock is a dead process's: it is taken over with a notice. Once locked, the folder is tidied: an unfinished
 * {@link AtomicFileSet} commit is completed and leftovers of interrupted writes ({@code *.tmp},
 * {@code *.tmp.XXXXXX}, {@code .prepare-sort-*}) are deleted.
 */
public final class FolderLock implements AutoCloseable {
    public static final String LOCK = ".stackllama4j.lock";

    /** Folders locked by this process (real paths). */
    private static final java.util.Set<Path> HELD = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private final Path key;
    private final FileChannel channel;
    private final FileLock lock;

    private FolderLock(Path key, FileChannel channel, FileLock lock) {
        this.key = key;
        this.channel = channel;
        this.lock = lock;
    }

    /** Creates (if need be), locks and tidies {@code dir}; fails at once when another run holds it. */
    public static FolderLock acquire(Path dir, PrintStream log) throws IOException {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IOException(dir + ": cannot create the output folder: " + reason(e), e);
        }
        Path file = dir.resolve(LOCK);
        Path key = dir.toRealPath();
        // A second channel on a file this process has locked must never be opened: closing it would
        // drop the process's POSIX lock. So holders in this process are known by name.
        String mine = "pid " + ProcessHandle.current().pid() + " on " + host();
        if (!HELD.add(key))
            throw new IllegalStateException(dir + " is in use by another run (" + mine + ", this process); wait for it to end or use another folder");
        FileChannel ch = null;
        FileLock l = null;
        try {
            try {
                ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            } catch (IOException e) {
                throw new IOException(file + ": cannot open the lock file: " + reason(e), e);
            }
            l = ch.tryLock();
            if (l == null)
                throw new IllegalStateException(dir + " is in use by another run (" + holder(ch) + "); wait for it to end or use another folder");
            String previous = holder(ch);
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((mine + "\n").getBytes(StandardCharsets.UTF_8)), 0);
            ch.force(true);
            if (!previous.isEmpty()) log.println("notice: " + dir + ": taking over the stale lock of " + previous + " (that process is gone)");
            if (AtomicFileSet.recover(dir)) log.println("notice: " + dir + ": completed an interrupted publish of output files");
            removeLeftovers(dir, log);
            return new FolderLock(key, ch, l);
        } catch (IOException | RuntimeException e) {
            if (l != null && l.isValid()) l.release();
            if (ch != null) ch.close();
            HELD.remove(key);
            throw e;
        }
    }

    private static String holder(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(ch.size(), 4096));
        ch.read(b, 0);
        return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).trim();
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown-host";
        }
    }

    /** The reason of an I/O failure in words (Java's own messages are often the path alone). */
    public static String reason(IOException e) {
        if (e instanceof java.nio.file.AccessDeniedException) return "permission denied";
        if (e instanceof java.nio.file.NotDirectoryException) return "not a directory";
        if (e instanceof java.nio.file.FileAlreadyExistsException) return "a file of that name is in the way (not a directory?)";
        if (e instanceof java.nio.file.NoSuchFileException) return "no such file or directory";
        if (e instanceof java.nio.file.FileSystemException fs && fs.getReason() != null) return fs.getReason();
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /** Temporary files of interrupted atomic writes (Java's and the engine's) and prepare's sort folders. */
    static boolean isLeftover(String name) {
        return name.endsWith(".tmp") || name.matches(".*\\.tmp\\.[A-Za-z0-9]{6}") || name.startsWith(".prepare-sort-");
    }

    private static void removeLeftovers(Path dir, PrintStream log) throws IOException {
        List<Path> gone = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> isLeftover(p.getFileName().toString())).forEach(gone::add);
        }
        for (Path p : gone) deleteTree(p);
        if (!gone.isEmpty()) log.println("notice: " + dir + ": removed " + gone.size() + " leftover(s) of an interrupted run: "
                + gone.stream().map(p -> p.getFileName().toString()).sorted().toList());
    }

    private static void deleteTree(Path p) throws IOException {
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> s = Files.walk(p)) {
                for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
            }
        } else {
            Files.deleteIfExists(p);
        }
    }

    /**
     * Empties the lock file and releases the lock. The file stays: deleting it would let a run that
     * opened it just before lock a file no longer in the folder while a third run locks a new one.
     */
    @Override
    public void close() throws IOException {
        try {
            if (channel.isOpen()) {
                channel.truncate(0);
                channel.force(true);
            }
        } finally {
            try {
                if (lock.isValid()) lock.release();
                channel.close();
            } finally {
                HELD.remove(key);
            }
        }
    }
}
