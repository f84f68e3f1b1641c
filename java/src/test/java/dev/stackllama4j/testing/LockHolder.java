package dev.stackllama4j.testing;

import dev.stackllama4j.io.FolderLock;
import java.nio.file.Path;

/** A second process for lock tests: locks the folder in args[0], says "locked", waits for stdin to close. */
public final class LockHolder {
    private LockHolder() {}

    public static void main(String[] args) throws Exception {
        try (FolderLock lock = FolderLock.acquire(Path.of(args[0]), System.err)) {
            System.out.println("locked");
            System.out.flush();
            while (System.in.read() != -1) {
                // hold until the parent closes our stdin or kills us
            }
        }
    }
}
