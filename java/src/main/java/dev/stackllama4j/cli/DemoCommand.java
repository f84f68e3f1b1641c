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
        return "run the whole pipeline (site -> prepare -> SFT -> reward model -> PPO) on a CPU in minutes";
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
        o.addOption(Option.builder().longOpt("model").hasArg().argName("M.gguf").desc("base model (default: stories260K from ../shared, else random)").get());
        o.addOption(Option.builder().longOpt("difficulty").hasArg().argName("D")
                .desc("synthetic site: easy (sums of digits 1..4, learnable by tiny models) | standard (default easy)").get());
        o.addOption(Option.builder().longOpt("questions").hasArg().argName("N").desc("synthetic questions (default 2000)").get());
        o.addOption(Option.builder().longOpt("sft-steps").hasArg().argName("N").desc("SFT steps (default 200)").get());
        o.addOption(Option.builder().longOpt("reward-steps").hasArg().argName("N").desc("reward-model steps (default 200)").get());
        o.addOption(Option.builder().longOpt("ppo-steps").hasArg().argName("N").desc("PPO steps (default 60)").get());
        o.addOption(Option.builder().longOpt("seed").hasArg().argName("N").desc("random seed (default 3)").get());
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
                Flags.intValue(cmd, "sft-steps", d.sftSteps()), Flags.intValue(cmd, "reward-steps", d.rewardSteps()),
                Flags.intValue(cmd, "ppo-steps", d.ppoSteps()), Flags.longValue(cmd, "seed", d.seed()));
        ctx.out().println("stackllama4j demo — " + Backend.systemInfo());
        try (Backend b = Backend.open(dev.stackllama4j.engine.Device.AUTO)) {
            if (!b.notice().isEmpty()) ctx.out().println("notice: " + b.notice());
        }
        try (FolderLock lock = FolderLock.acquire(dir, ctx.err())) {
            return run(ctx, settings, dir);
        }
    }

    private static int run(CliContext ctx, DemoPipeline.Settings settings, Path dir) throws Exception {
        DemoPipeline p = new DemoPipeline(settings, ctx.out());
        long t0 = System.nanoTime();
        stage(ctx, "1/5 site");
        Path site = p.site();
        stage(ctx, "2/5 prepare: scores, preference pairs, splits");
        Path data = p.prepare(site);
        stage(ctx, "3/5 supervised fine-tuning (LoRA), merged into the trunk");
        Path sft = p.sft(p.baseModel(), data);
        stage(ctx, "4/5 reward model (LoRA + scalar head) on the SFT trunk");
        Path reward = p.reward(sft, data);
        stage(ctx, "5/5 PPO against the reward model, KL-penalised towards the SFT model");
        p.ppo(sft, reward, data);
        ctx.out().println();
        ctx.out().printf("summary (%.0f s): %s%n", (System.nanoTime() - t0) / 1e9, p.report());
        ctx.out().println("outputs in " + dir.toAbsolutePath());
        return 0;
    }

    private static void stage(CliContext ctx, String title) {
        ctx.out().println();
        ctx.out().println("== " + title);
    }
}
