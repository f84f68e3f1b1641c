package dev.stackllama4j.cli;

import dev.stackllama4j.engine.Backend;
import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.inference.Generator;
import dev.stackllama4j.inference.SamplingParams;
import dev.stackllama4j.model.ModelShape;
import dev.stackllama4j.model.RandomModel;
import dev.stackllama4j.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code demo}: the built-in end-to-end run on a CPU. Today it covers the stages that exist: a
 * synthetic Stack Exchange site turned into preference pairs, a random LLaMA model written as GGUF,
 * inspected, and run (logits, batched generation). Later stages (SFT, reward model, PPO) extend it.
 */
public final class DemoCommand implements Command {
    @Override
    public String name() {
        return "demo";
    }

    @Override
    public String summary() {
        return "run the built-in pipeline on a synthetic Stack Exchange site (CPU, minutes)";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("out").hasArg().argName("DIR").desc("work folder (default ./demo-run)").get());
        o.addOption(Option.builder().longOpt("questions").hasArg().argName("N").desc("synthetic questions (default 2000)").get());
        o.addOption(Option.builder().longOpt("seed").hasArg().argName("N").desc("random seed (default 1)").get());
        return o;
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) throws Exception {
        Path dir = Path.of(cmd.getOptionValue("out", "demo-run"));
        Files.createDirectories(dir);
        long seed = Flags.longValue(cmd, "seed", 1);
        int questions = Flags.intValue(cmd, "questions", 2000);
        ctx.out().println("stackllama4j demo — " + Backend.systemInfo());
        try (Backend b = Backend.open(dev.stackllama4j.engine.Device.AUTO)) {
            if (!b.notice().isEmpty()) ctx.out().println("notice: " + b.notice());
        }

        step(ctx, "1/4 synthetic Stack Exchange site");
        Path posts = dir.resolve("site/Posts.xml");
        runCommand(ctx, new SynthSiteCommand(), "--out", posts.toString(), "--questions", String.valueOf(questions), "--seed",
                String.valueOf(seed));

        step(ctx, "2/4 prepare: scores, preference pairs, splits");
        runCommand(ctx, new PrepareCommand(), "--posts", posts.toString(), "--out", dir.resolve("data").toString(), "--seed",
                String.valueOf(seed));

        step(ctx, "3/4 init + inspect: a random LLaMA model in Q8_0");
        Path model = dir.resolve("random-q8_0.gguf");
        ModelShape shape = new ModelShape(128, 4, 4, 2, 352, 512, 512, 10000, 1e-5, false);
        RandomModel.write(shape, TensorType.Q8_0, seed, model);
        try (GgufFile f = GgufFile.open(model)) {
            ctx.out().printf("%s: GGUF v%d, %d tensors, %,d bytes; architecture %s, %d layers, dim %d, %d heads (%d kv)%n",
                    model, f.version(), f.tensors().size(), f.fileSize(), f.getString("general.architecture"),
                    f.getLong("llama.block_count"), f.getLong("llama.embedding_length"),
                    f.getLong("llama.attention.head_count"), f.getLong("llama.attention.head_count_kv"));
        }

        step(ctx, "4/4 forward pass and batched generation");
        try (LlamaModel m = LlamaModel.load(model)) {
            Tokenizer tok = m.tokenizer();
            String q = "Question: How much is 12 plus 30?\n\nAnswer: ";
            int[] ids = tok.encode(q, true, false);
            float[][] logits = m.logits(ids);
            float[] lp = m.logProbs(ids);
            double mean = 0;
            for (float x : lp) mean += x;
            ctx.out().printf("prompt: %d tokens; logits [%d x %d]; mean log-prob %.3f (a random model: log(1/%d) = %.3f)%n",
                    ids.length, logits.length, logits[0].length, mean / lp.length, m.info().vocab(),
                    Math.log(1.0 / m.info().vocab()));
            List<Generator.Result> outs = new Generator(m).generate(List.of(ids, ids, ids),
                    new SamplingParams(1.0, 0, 1.0, seed, 24, 0, true), null, null);
            for (int i = 0; i < outs.size(); i++)
                ctx.out().printf("sample %d: %s%n", i, tok.decode(outs.get(i).tokens()).replace("\n", "\\n"));
        }
        ctx.out().println();
        ctx.out().println("done: outputs in " + dir.toAbsolutePath());
        return 0;
    }

    private static void step(CliContext ctx, String title) {
        ctx.out().println();
        ctx.out().println("== " + title);
    }

    private static void runCommand(CliContext ctx, Command c, String... args) throws Exception {
        int code = new Main(List.of(c)).run(prepend(c.name(), args), ctx.out(), ctx.err());
        if (code != 0) throw new IllegalStateException(c.name() + " failed with exit code " + code);
    }

    private static String[] prepend(String first, String[] rest) {
        String[] all = new String[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }
}
