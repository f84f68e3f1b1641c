package dev.stackllama4j.cli;

import dev.stackllama4j.data.SynthSite;
import dev.stackllama4j.engine.Backend;
import dev.stackllama4j.io.FolderLock;
import dev.stackllama4j.pipeline.DemoPipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code demo}: the whole pipeline on the built-in default (a synthetic Stack Exchange site whose
 * answers can be checked) on a CPU, or on real inputs with {@code --posts} and {@code --model}.
 */
public final class DemoCommand implements Command {
    @Override
    public String name() {
        return "demo";
    }

    @Override
    public String summary() {
        return "run the whole pipeline (site -> prepare -> pretrain -> SFT -> reward model -> PPO) on a CPU in minutes";
    }

    @Override
    public java.util.Set<String> repeatable() {
        return java.util.Set.of("posts");
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("out").hasArg().argName("DIR").desc("work folder (default ./demo-run)").get());
        o.addOption(Option.builder().longOpt("posts").hasArgs().argName("Posts.xml").desc("real dump(s) instead of the synthetic site").get());
        o.addOption(Option.builder().longOpt("model").hasArg().argName("M.gguf").desc("base model (default: pretrain a new 0.2M-parameter LLaMA on the site)").get());
        o.addOption(Option.builder().longOpt("difficulty").hasArg().argName("D")
                .desc("synthetic site: easy (sums of digits 1..5, learnable by tiny models) | standard (default easy)").get());
        o.addOption(Option.builder().longOpt("questions").hasArg().argName("N").desc("synthetic questions (default 2000)").get());
        DemoPipeline.Settings d = DemoPipeline.Settings.defaults(Path.of("demo-run"));
        o.addOption(Option.builder().longOpt("pretrain-steps").hasArg().argName("N").desc("base-model pretraining steps (default " + d.pretrainSteps() + ")").get());
        o.addOption(Option.builder().longOpt("sft-steps").hasArg().argName("N").desc("SFT steps (default " + d.sftSteps() + ")").get());
        o.addOption(Option.builder().longOpt("reward-steps").hasArg().argName("N").desc("reward-model steps (default " + d.rewardSteps() + ")").get());
        o.addOption(Option.builder().longOpt("ppo-steps").hasArg().argName("N").desc("PPO steps (default " + d.ppoSteps() + ")").get());
        o.addOption(Option.builder().longOpt("eval-every").hasArg().argName("N").desc("PPO steps between held-out evaluations for the figure (default " + d.evalEvery() + ", 0: none)").get());
        o.addOption(Option.builder().longOpt("method").hasArg().argName("M")
                .desc("stage 6: ppo | dpo | grpo | rloo, or a comma list run one after another on the same SFT and reward models"
                        + " (default ppo)").get());
        o.addOption(Option.builder().longOpt("dpo-beta").hasArg().argName("X").desc("β of the dpo method (default " + DemoPipeline.DPO_BETA + ")").get());
        o.addOption(Option.builder().longOpt("seed").hasArg().argName("N").desc("random seed (default " + d.seed() + ")").get());
        return o;
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) throws Exception {
        Path dir = Path.of(cmd.getOptionValue("out", "demo-run"));
        Files.createDirectories(dir);
        List<Path> posts = new ArrayList<>();
        if (cmd.hasOption("posts"))
            for (String p : cmd.getOptionValues("posts"))
                posts.add(SftCommand.existing(Files.isDirectory(Path.of(p)) ? Path.of(p, "Posts.xml").toString() : p));
        Path model = cmd.hasOption("model") ? SftCommand.existing(cmd.getOptionValue("model")) : null;
        DemoPipeline.Settings d = DemoPipeline.Settings.defaults(dir);
        SynthSite.Difficulty difficulty;
        try {
            difficulty = SynthSite.Difficulty.valueOf(cmd.getOptionValue("difficulty", "easy").trim().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--difficulty must be easy or standard");
        }
        DemoPipeline.Settings settings = new DemoPipeline.Settings(dir, posts, model, difficulty, Flags.intValue(cmd, "questions", d.questions()),
                Flags.intValue(cmd, "pretrain-steps", d.pretrainSteps()), Flags.intValue(cmd, "sft-steps", d.sftSteps()),
                Flags.intValue(cmd, "reward-steps", d.rewardSteps()), Flags.intValue(cmd, "ppo-steps", d.ppoSteps()),
                Flags.intValue(cmd, "eval-every", d.evalEvery()), Flags.longValue(cmd, "seed", d.seed()));
        List<DemoPipeline.Method> methods = new ArrayList<>();
        try {
            for (String m : cmd.getOptionValue("method", "ppo").split(",")) methods.add(DemoPipeline.Method.parse(m));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        if (new java.util.HashSet<>(methods).size() != methods.size()) throw new UsageException("--method lists a method twice");
        double dpoBeta = Flags.doubleValue(cmd, "dpo-beta", DemoPipeline.DPO_BETA);
        if (!(dpoBeta > 0) || !Double.isFinite(dpoBeta)) throw new UsageException("--dpo-beta must be > 0, got " + dpoBeta);
        ctx.out().println("stackllama4j demo — " + Backend.systemInfo());
        try (Backend b = Backend.open(dev.stackllama4j.engine.Device.AUTO)) {
            if (!b.notice().isEmpty()) ctx.out().println("notice: " + b.notice());
        }
        try (FolderLock lock = FolderLock.acquire(dir, ctx.err())) {
            return run(ctx, settings, methods, dpoBeta, dir);
        }
    }

    private static int run(CliContext ctx, DemoPipeline.Settings settings, List<DemoPipeline.Method> methods, double dpoBeta, Path dir)
            throws Exception {
        DemoPipeline p = new DemoPipeline(settings, methods, ctx.out()).dpoBeta(dpoBeta);
        long t0 = System.nanoTime();
        java.util.Map<String, Object> report = p.runAll(title -> stage(ctx, title));
        ctx.out().println();
        ctx.out().printf("summary (%.0f s): %s%n", (System.nanoTime() - t0) / 1e9, report);
        ctx.out().println("figures: " + p.summaryFile().toAbsolutePath() + " (summary), " + p.figureFile().toAbsolutePath()
                + " (held-out correctness and reward-model score against PPO step)");
        ctx.out().println("outputs in " + dir.toAbsolutePath());
        return 0;
    }

    private static void stage(CliContext ctx, String title) {
        ctx.out().println();
        ctx.out().println("== " + title);
    }
}
