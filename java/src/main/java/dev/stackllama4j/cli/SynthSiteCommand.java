package dev.stackllama4j.cli;

import dev.stackllama4j.io.AtomicFileSet;
import dev.stackllama4j.data.SynthSite;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code synth-site --out DIR/Posts.xml}: the demo's synthetic Stack Exchange site. */
public final class SynthSiteCommand implements Command {
    @Override
    public String name() {
        return "synth-site";
    }

    @Override
    public String summary() {
        return "write a synthetic Stack Exchange site (arithmetic and unit questions) as Posts.xml";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("out").hasArg().argName("DIR/Posts.xml").desc("the Posts.xml to write, or a site dump SITE.7z holding one").get());
        o.addOption(Option.builder().longOpt("easy").desc("only sums of two digits 1..4 (learnable by tiny models)").get());
        o.addOption(Option.builder().longOpt("questions").hasArg().argName("N").desc("number of questions (default 1000)").get());
        o.addOption(Option.builder().longOpt("seed").hasArg().argName("S").desc("generator seed (default 0)").get());
        return o;
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) throws Exception {
        Path out = Path.of(Flags.required(cmd, "out"));
        int n = Flags.intValue(cmd, "questions", 1000);
        if (n < 1) throw new UsageException("--questions must be >= 1, got " + n);
        long seed = Flags.longValue(cmd, "seed", 0);
        long rows;
        SynthSite.Difficulty difficulty = cmd.hasOption("easy") ? SynthSite.Difficulty.EASY : SynthSite.Difficulty.STANDARD;
        if (out.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".7z")) {
            rows = SynthSite.writeSevenZ(out, n, seed, difficulty);
        } else {
            try (AtomicFileSet files = new AtomicFileSet()) {
                Writer w = files.open(out);
                rows = SynthSite.write(w, n, seed, difficulty);
                files.commit();
            }
        }
        ctx.out().printf("wrote %s: %d questions, %d rows, %.1f MB%n", out, n, rows, Files.size(out) / 1e6);
        return 0;
    }
}
