package dev.stackllama4j.cli;

import dev.stackllama4j.engine.TensorType;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** Typed, validated reads of option values, failing with {@link UsageException}. */
public final class Flags {
    private Flags() {}

    /** Declares {@code --name ARG} with its help text. */
    public static void arg(Options o, String name, String argName, String desc) {
        o.addOption(Option.builder().longOpt(name).hasArg().argName(argName).desc(desc).get());
    }

    public static String required(CommandLine cmd, String name) {
        String v = cmd.getOptionValue(name);
        if (v == null) throw new UsageException("missing required option --" + name);
        return v;
    }

    public static int intValue(CommandLine cmd, String name, int fallback) {
        String v = cmd.getOptionValue(name);
        if (v == null) return fallback;
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " expects an integer, got '" + v + "'");
        }
    }

    public static long longValue(CommandLine cmd, String name, long fallback) {
        String v = cmd.getOptionValue(name);
        if (v == null) return fallback;
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " expects an integer, got '" + v + "'");
        }
    }

    public static double doubleValue(CommandLine cmd, String name, double fallback) {
        String v = cmd.getOptionValue(name);
        if (v == null) return fallback;
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " expects a number, got '" + v + "'");
        }
    }

    /** A tensor type by ggml's name ("q4_k"), or {@code fallback} (may be null) when the option is absent. */
    public static TensorType tensorType(CommandLine cmd, String name, TensorType fallback) {
        String v = cmd.getOptionValue(name);
        if (v == null) return fallback;
        try {
            return TensorType.parse(v);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--" + name + ": " + e.getMessage());
        }
    }
}
