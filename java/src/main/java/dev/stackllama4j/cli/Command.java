package dev.stackllama4j.cli;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/**
 * One CLI sub-command ({@code stackllama4j <name> ...}). The launcher parses the options, prints
 * {@code --help}, maps {@link UsageException} to exit code 2 and any other exception to exit code 1
 * with its message (stack trace only under {@code --verbose}).
 */
public interface Command {
    /** The word typed after {@code stackllama4j}, e.g. {@code "prepare"}. */
    String name();

    /** One line for the command list. */
    String summary();

    /** Positional arguments for the usage line, e.g. {@code "FILE.gguf"}; empty if none. */
    default String positionals() {
        return "";
    }

    /** Options that may be given more than once (each occurrence adds a value); any other repeated is an error. */
    default java.util.Set<String> repeatable() {
        return java.util.Set.of();
    }

    /** The command's own options ({@code --help} and {@code --verbose} are added by the launcher). */
    Options options();

    /** Runs the command and returns the process exit code (0 on success). */
    int run(CommandLine cmd, CliContext ctx) throws Exception;
}
