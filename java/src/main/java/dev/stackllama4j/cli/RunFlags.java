package dev.stackllama4j.cli;

import dev.stackllama4j.train.RunFolder;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** The flags of every command that writes a run folder: --resume, --overwrite. */
final class RunFlags {
    private RunFlags() {}

    static void add(Options o) {
        o.addOption(Option.builder().longOpt("resume")
                .desc("continue from OUTPUT/checkpoint.gguf (settings must match the checkpoint's, see the README)").get());
        o.addOption(Option.builder().longOpt("overwrite").desc("replace a run already in the output folder").get());
    }

    static RunFolder.Mode mode(CommandLine cmd) {
        try {
            return RunFolder.Mode.of(cmd.hasOption("resume"), cmd.hasOption("overwrite"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }
}
