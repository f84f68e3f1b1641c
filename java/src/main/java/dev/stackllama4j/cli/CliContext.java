package dev.stackllama4j.cli;

import java.io.PrintStream;

/** Where a command writes: results to {@code out}, progress and notices to {@code err}. */
public record CliContext(PrintStream out, PrintStream err, boolean verbose) {}
