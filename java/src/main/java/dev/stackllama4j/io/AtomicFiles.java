package dev.stackllama4j.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** Writes a file so that readers see either the old content or the whole new one, never a part. */
public final class AtomicFiles {
    private AtomicFiles() {}

    @FunctionalInterface
    public interface Body {
        void writeTo(OutputStream out) throws IOException;
    }

    /** A body that needs the file itself (to seek back, as a .7z writer does); it must not close the channel. */
    @FunctionalInterface
    public interface ChannelBody {
        void writeTo(FileChannel ch) throws IOException;
    }

    /** Writes to a temporary file beside {@code path}, forces it to disk, renames it over and forces the folder. */
    public static void write(Path path, Body body) throws IOException {
        writeChannel(path, ch -> {
            OutputStream out = new BufferedOutputStream(java.nio.channels.Channels.newOutputStream(ch), 1 << 16);
            body.writeTo(out);
            out.flush();
        });
    }

    /** {@link #write}, the body given the temporary file's channel (opened for reading and writing). */
    public static void writeChannel(Path path, ChannelBody body) throws IOException {
        Path abs = path.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir != null) Files.createDirectories(dir);
        // Not createTempFile: its 0600 mode would carry over to the renamed output.
        Path tmp = dir.resolve("." + abs.getFileName() + "." + Long.toHexString(System.nanoTime() ^ Thread.currentThread().getId()) + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.READ)) {
                body.writeTo(ch);
                ch.force(true);
            }
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            AtomicFileSet.forceDirectory(dir);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    public static void writeString(Path path, String text) throws IOException {
        write(path, out -> out.write(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }
}
