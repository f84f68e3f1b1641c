package dev.stackllama4j.tokenizer;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates ../shared (real third-party files) next to the project root; tests skip when it is absent. */
final class SharedFiles {
    private SharedFiles() {}

    static Path projectRoot() {
        Path p = Path.of("").toAbsolutePath();
        for (Path q = p; q != null; q = q.getParent()) {
            if (Files.exists(q.resolve("pom.xml")) || Files.exists(q.resolve(".git"))) {
                return q;
            }
        }
        return p;
    }

    /** The file under ../shared, or a skipped test with a message saying what is missing. */
    static Path require(String relative) {
        Path root = projectRoot();
        Path shared = root.getParent() == null ? root.resolve("../shared") : root.getParent().resolve("shared");
        Path f = shared.resolve(relative);
        assumeTrue(Files.isRegularFile(f), "skipped: " + f + " not found (the ../shared test files are absent in this checkout)");
        return f;
    }
}
