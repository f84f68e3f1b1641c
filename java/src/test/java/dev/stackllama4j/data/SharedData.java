package dev.stackllama4j.data;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates ../shared (beside the project root) and skips a test clearly when a file is absent. */
final class SharedData {
    private SharedData() {}

    static Path projectRoot() {
        Path p = Path.of("").toAbsolutePath();
        for (Path q = p; q != null; q = q.getParent()) {
            if (Files.isDirectory(q.resolve("java/src/main/java"))) return q;
        }
        return p;
    }

    static Path require(String relative) {
        Path f = projectRoot().resolveSibling("shared").resolve(relative);
        assumeTrue(Files.isRegularFile(f), "skipped: " + f + " is absent (real third-party data lives in ../shared, see its README)");
        return f;
    }
}
