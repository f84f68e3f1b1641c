package dev.stackllama4j.cli;

import java.io.PrintStream;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;
import org.apache.commons.cli.help.HelpFormatter;

/**
 * {@code stackllama4j <command> [options]}. Exit codes: 0 success, 1 failure (message on stderr,
 * stack trace only with {@code --verbose}), 2 wrong usage.
 */
public final class Main {
    private final Map<String, Command> commands = new LinkedHashMap<>();

    public Main(List<Command> list) {
        for (Command c : list) commands.put(c.name(), c);
    }

    /** Every command, in the order the help lists them. */
    public static List<Command> allCommands() {
        return List.of(new DemoCommand(), new InspectCommand(), new InitCommand(), new TokenizeCommand(), new DetokenizeCommand(),
                new GenerateCommand(), new LogitsCommand(), new BenchCommand(), new SynthSiteCommand(), new PrepareCommand(),
                new PretrainCommand(), new SftCommand(), new MergeCommand(), new QuantizeCommand(), new TrainRewardCommand(), new ScoreCommand(), new PpoCommand(),
                new DpoCommand());
    }

    public static void main(String[] args) {
        int code = new Main(allCommands()).run(args, System.out, System.err);
        System.out.flush();
        System.exit(code);
    }

    public int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            printCommandList(args.length == 0 ? err : out);
            return args.length == 0 ? 2 : 0;
        }
        if (args[0].equals("--version")) {
            out.println("stackllama4j 0.1.0");
            return 0;
        }
        Command cmd = commands.get(args[0]);
        if (cmd == null) {
            err.println("stackllama4j: unknown command '" + args[0] + "'");
            printCommandList(err);
            return 2;
        }
        Options options = cmd.options();
        options.addOption(Option.builder().longOpt("help").desc("show this help").get());
        options.addOption(Option.builder().longOpt("verbose").desc("stack traces on failure").get());
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        boolean verbose = Arrays.asList(rest).contains("--verbose");
        CommandLine cl;
        try {
            cl = new DefaultParser().parse(options, rest);
        } catch (ParseException e) {
            err.println("stackllama4j " + cmd.name() + ": " + e.getMessage());
            err.println(usageLine(cmd));
            return 2;
        }
        if (cl.hasOption("help")) {
            out.print(help(cmd, options));
            return 0;
        }
        try {
            Flags.requireWellFormed(cl, cmd);
            return cmd.run(cl, new CliContext(out, err, verbose));
        } catch (UsageException e) {
            err.println("stackllama4j " + cmd.name() + ": " + e.getMessage());
            err.println(usageLine(cmd));
            return 2;
        } catch (Exception | Error e) {
            if (e instanceof OutOfMemoryError) err.println("stackllama4j " + cmd.name() + ": out of Java heap (raise -Xmx)");
            else err.println("stackllama4j " + cmd.name() + ": " + describe(e));
            if (verbose) e.printStackTrace(err);
            return 1;
        }
    }

    /** The message of a failure; file-system errors (whose Java message is often the path alone) get their reason. */
    static String describe(Throwable e) {
        if (e instanceof java.io.UncheckedIOException u) e = u.getCause();
        if (e instanceof java.nio.file.FileSystemException fs)
            return fs.getFile() + (fs.getOtherFile() != null ? " → " + fs.getOtherFile() : "") + ": "
                    + dev.stackllama4j.io.FolderLock.reason(fs);
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    private static String usageLine(Command cmd) {
        return "usage: stackllama4j " + cmd.name() + (cmd.positionals().isEmpty() ? "" : " " + cmd.positionals())
                + " [options]   (--help for the options)";
    }

    private static String help(Command cmd, Options options) {
        StringWriter sw = new StringWriter();
        try {
            HelpFormatter f = HelpFormatter.builder().setShowSince(false)
                    .setHelpAppendable(new org.apache.commons.cli.help.TextHelpAppendable(sw)).get();
            f.printHelp("stackllama4j " + cmd.name() + (cmd.positionals().isEmpty() ? "" : " " + cmd.positionals()),
                    cmd.summary(), options, "", true);
            return sw.toString();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private void printCommandList(PrintStream s) {
        s.println("usage: stackllama4j <command> [options]   (stackllama4j <command> --help)");
        s.println();
        s.println("commands:");
        for (Command c : commands.values()) s.printf("  %-12s %s%n", c.name(), c.summary());
    }
}
