package dev.stackllama4j.testing;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Test files: the real third-party files in {@code ../shared} beside the project root and the
 * project's own fixtures. A test whose file is absent skips with a message, as in a user's fresh
 * clone, except in CI ({@code CI=true}), where it fails: CI must not go green by skipping.
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

    /** A file under ../shared, or a skipped test naming what is missing (a failure in CI). */
    public static Path require(String relative) {
        return require(projectRoot().resolveSibling("shared"), relative, System.getenv());
    }

    /** As {@link #require(String)} with the shared folder and the environment given. */
    static Path require(Path shared, String relative, Map<String, String> env) {
        Path f = shared.resolve(relative);
        if (Files.isRegularFile(f)) return f;
        String why = f + " is absent (real third-party files live in ../shared, see its README)";
        if ("true".equals(env.get("CI"))) fail("CI=true: " + why + "; CI must have them, a skip would hide this test");
        assumeTrue(false, "skipped: " + why);
        return f;
    }

    /** A committed fixture under java/src/test/resources/fixtures. */
    public static Path fixture(String relative) {
        return projectRoot().resolve("java/src/test/resources/fixtures").resolve(relative);
    }
}
