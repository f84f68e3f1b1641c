package dev.stackllama4j.train;

import java.io.PrintStream;

/**
 * A one-line progress bar on a terminal ({@code \r} updates); elsewhere (logs, CI) a plain line
 * every {@code everyLines} steps, so logs stay readable.
 */
public final class Progress {
    private final PrintStream out;
    private final String label;
    private final long total;
    private final boolean tty = System.console() != null;
    private final long start = System.nanoTime();
    private final long firstStep;
    private final int everyLines;

    public Progress(PrintStream out, String label, long firstStep, long total, int everyLines) {
        this.out = out;
        this.label = label;
        this.firstStep = firstStep;
        this.total = total;
        this.everyLines = Math.max(1, everyLines);
    }

    /** @param step 1-based steps done; {@code detail} e.g. "loss 2.31 | 1,200 tok/s" */
    public void update(long step, String detail) {
        double secs = (System.nanoTime() - start) / 1e9;
        double perStep = secs / Math.max(1, step - firstStep);
        long eta = Math.round(perStep * (total - step));
        String line = String.format("%s %s %d/%d | %s | ETA %s", label, bar(step), step, total, detail, hms(eta));
        if (tty) {
            out.print("\r" + line + "   ");
            if (step == total) out.println();
        } else if (step % everyLines == 0 || step == total || step == firstStep + 1) {
            out.println(line);
        }
        out.flush();
    }

    private String bar(long step) {
        int width = 24, filled = (int) (width * step / Math.max(1, total));
        return "[" + "#".repeat(filled) + "-".repeat(width - filled) + "]";
    }

    public static String hms(long s) {
        return s >= 3600 ? String.format("%dh%02dm", s / 3600, s / 60 % 60) : String.format("%dm%02ds", s / 60, s % 60);
    }
}
