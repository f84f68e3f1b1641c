package dev.stackllama4j.cli;

import dev.stackllama4j.engine.GgufWriter;
import java.io.PrintStream;

/**
 * The progress line of the commands that write a model ({@code init}, {@code merge},
 * {@code quantize}): one {@code \r}-updated line on a terminal, nothing in logs and pipes.
 */
final class WriteProgress {
    private WriteProgress() {}

    /** A progress listener for {@code label}, or null when stderr's process has no terminal. */
    static GgufWriter.Progress onTerminal(PrintStream err, String label) {
        if (System.console() == null) return null;
        long start = System.nanoTime();
        return (done, total) -> {
            double secs = (System.nanoTime() - start) / 1e9;
            double frac = total == 0 ? 1 : (double) done / total;
            long eta = frac > 0 ? Math.round(secs * (1 - frac) / frac) : 0;
            err.printf("\r%s %5.1f%% | %,.0f / %,.0f MB | %.0f s | ETA %d s   ", label, 100 * frac, done / 1e6,
                    total / 1e6, secs, eta);
            if (done == total) err.println();
            err.flush();
        };
    }
}
