package dev.stackllama4j.cli;

import dev.stackllama4j.data.DataFormatException;
import dev.stackllama4j.data.Prepare;
import dev.stackllama4j.data.Splits;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code prepare --posts Posts.xml [--posts ...] --out DIR}: dump(s) to split pair files and stats.json. */
public final class PrepareCommand implements Command {
    @Override
    public String name() {
        return "prepare";
    }

    @Override
    public String summary() {
        return "Stack Exchange Posts.xml to preference pairs, SFT texts and RL prompts";
    }

    @Override
    public java.util.Set<String> repeatable() {
        return java.util.Set.of("posts", "paired-jsonl", "hh-jsonl");
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("posts").hasArg().argName("Posts.xml")
                .desc("a site's .7z dump (read as a stream), its Posts.xml, or a folder of sites (.7z files or"
                        + " folders holding Posts.xml); repeat for several").get());
        o.addOption(Option.builder().longOpt("paired-jsonl").hasArg().argName("FILE")
                .desc("pairs in the lvwerra/stack-exchange-paired schema (.jsonl[.gz], repeatable)").get());
        o.addOption(Option.builder().longOpt("hh-jsonl").hasArg().argName("FILE")
                .desc("HH-RLHF chosen/rejected rows (.jsonl[.gz], repeatable)").get());
        o.addOption(Option.builder().longOpt("out").hasArg().argName("DIR")
                .desc("writes DIR/{finetune,reward,rl,evaluation}.jsonl and DIR/stats.json").get());
        o.addOption(Option.builder().longOpt("seed").hasArg().argName("N").desc("seed for splits and pair sampling (default 0)").get());
        o.addOption(Option.builder().longOpt("max-pairs-per-question").hasArg().argName("N").desc("pairs kept per question (default 10)").get());
        o.addOption(Option.builder().longOpt("splits").hasArg().argName("SPEC")
                .desc("split proportions (default finetune=0.3,reward=0.3,rl=0.3,evaluation=0.1)").get());
        o.addOption(Option.builder().longOpt("buffer-mb").hasArg().argName("MB")
                .desc("external-sort buffer, the bulk of the heap used (default 64)").get());
        o.addOption(Option.builder().longOpt("threads").hasArg().argName("N")
                .desc("HTML-to-text converters beside the XML parser (default: one per core from 3 cores up, else 1; 1: parse and convert in turn)").get());
        o.addOption(Option.builder().longOpt("tmp-dir").hasArg().argName("DIR")
                .desc("where sort runs go (default: inside --out)").get());
        return o;
    }

    private static List<Path> paths(CommandLine cmd, String name) {
        List<Path> l = new ArrayList<>();
        String[] v = cmd.getOptionValues(name);
        if (v == null) return l;
        for (String s : v) {
            l.add(Path.of(s));
        }
        return l;
    }

    /** Sum of the heap pools' peak usage: an upper bound on the peak heap (pools peak at different times). */
    static long peakHeapBytes() {
        long sum = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP && p.getPeakUsage() != null) sum += p.getPeakUsage().getUsed();
        }
        return sum;
    }

    /** The progress line of pass 1 (XML read of total, rows/s, ETA) on a terminal; null in logs and pipes. */
    static Prepare.Progress onTerminal(java.io.PrintStream err) {
        if (System.console() == null) return null;
        long start = System.nanoTime();
        return (done, total, rows) -> {
            double secs = Math.max(1e-9, (System.nanoTime() - start) / 1e9);
            double frac = total == 0 ? 1 : (double) done / total;
            long eta = frac > 0 ? Math.round(secs * (1 - frac) / frac) : 0;
            err.printf("\rprepare %5.1f%% | %,.0f / %,.0f MB XML | %,.0f rows/s | %.1f MB/s | ETA %s   ", 100 * frac, done / 1e6,
                    total / 1e6, rows / secs, done / 1e6 / secs, dev.stackllama4j.train.Progress.hms(eta));
            if (done >= total) err.println();
            err.flush();
        };
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) throws Exception {
        List<Path> files = paths(cmd, "posts"), paired = paths(cmd, "paired-jsonl"), hh = paths(cmd, "hh-jsonl");
        if (files.isEmpty() && paired.isEmpty() && hh.isEmpty()) {
            throw new UsageException("missing required option --posts (or --paired-jsonl / --hh-jsonl)");
        }
        Path out = Path.of(Flags.required(cmd, "out"));
        long seed = Flags.longValue(cmd, "seed", 0);
        int maxPairs = Flags.intValue(cmd, "max-pairs-per-question", 10);
        if (maxPairs < 1) throw new UsageException("--max-pairs-per-question must be >= 1, got " + maxPairs);
        int bufferMb = Flags.intValue(cmd, "buffer-mb", 64);
        if (bufferMb < 1) throw new UsageException("--buffer-mb must be >= 1, got " + bufferMb);
        Splits splits;
        try {
            splits = cmd.hasOption("splits") ? Splits.parse(cmd.getOptionValue("splits")) : Splits.defaults();
        } catch (IllegalArgumentException e) {
            throw new UsageException("--splits: " + e.getMessage());
        }
        Path tmp = cmd.hasOption("tmp-dir") ? Path.of(cmd.getOptionValue("tmp-dir")) : null;
        int threads = Flags.intValue(cmd, "threads", 0);
        if (threads < 0) throw new UsageException("--threads must be >= 1 (or 0 for one per core), got " + threads);
        Prepare.Config c = new Prepare.Config(files, out, seed, maxPairs, splits, (long) bufferMb << 20, 64, tmp, paired, hh, threads);

        long t0 = System.nanoTime();
        Prepare.Stats st;
        try {
            st = Prepare.run(c, ctx.err(), onTerminal(ctx.err()));
        } catch (DataFormatException e) {
            ctx.err().println("prepare: " + e.getMessage() + "; nothing written");
            return 1;
        }
        double sec = (System.nanoTime() - t0) / 1e9;
        if (st.jsonlRows > 0) ctx.out().printf("jsonl rows %d%n", st.jsonlRows);
        ctx.out().printf("questions %d, answers %d, questions with pairs %d, pairs %d (%s), rl prompts %d, skipped %d%n",
                st.questions, st.answers, st.questionsWithPairs, st.pairs(), st.pairsPerSplit, st.rlPrompts, st.skipped.total());
        if (st.skipped.total() > 0) ctx.out().println("skipped rows by reason: " + st.skipped.asMap());
        ctx.err().printf("%.1f MB in %.2f s: %.1f MB/s, %d sort runs, heap pools peak sum %.1f MB (an upper bound; -Xmx %.0f MB)%n",
                st.bytesRead / 1e6, sec, st.bytesRead / 1e6 / sec, st.sortRuns, peakHeapBytes() / 1e6,
                Runtime.getRuntime().maxMemory() / 1e6);
        ctx.err().printf("pass 1 (read, convert, sort runs): %.2f s, CPU %.2f s (calling thread %.2f s); "
                + "pass 2 (merge, score, pair, write): %.2f s, CPU %.2f s (calling thread %.2f s)%n",
                st.pass1Wall, st.pass1Cpu, st.pass1MainCpu, st.pass2Wall, st.pass2Cpu, st.pass2MainCpu);
        ctx.out().println("wrote " + out.resolve("stats.json"));
        return 0;
    }
}
