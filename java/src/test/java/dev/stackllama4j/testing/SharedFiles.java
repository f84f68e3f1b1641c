package dev.stackllama4j.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test files: the real third-party files in {@code ../shared} beside the project root (tests skip
 * with a message when it is absent, as in a user's fresh clone) and the project's own fixtures.
 */
public final class SharedFiles {
    private SharedFiles() {}

    /** The folder holding pom.xml (tests run there, but a test runner may start elsewhere). */
    public static Path projectRoot() {
        Path p = Path.of("").toAbsolutePath();
        for (Path q = p; q != null; q = q.getParent()) {
            if (Files.isRegularFile(q.resolve("pom.xml")) && Files.isDirectory(q.resolve("java/src/main/java"))) return q;
        }
        return p;
    }

    /** A file under ../shared, or a skipped test naming what is missing. */
    public static Path require(String relative) {
        Path f = projectRoot().resolveSibling("shared").resolve(relative);
        assumeTrue(Files.isRegularFile(f),
                "skipped: " + f + " is absent (real third-party files live in ../shared, see its README)");
        return f;
    }

    /** A committed fixture under java/src/test/resources/fixtures. */
    public static Path fixture(String relative) {
        return projectRoot().resolve("java/src/test/resources/fixtures").resolve(relative);
    }
}
