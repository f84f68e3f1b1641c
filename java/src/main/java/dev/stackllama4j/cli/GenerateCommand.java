package dev.stackllama4j.cli;

import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.MemoryPlan;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.inference.Generator;
import dev.stackllama4j.inference.SamplingParams;
import dev.stackllama4j.tokenizer.Decoder;
import dev.stackllama4j.tokenizer.Tokenizer;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code generate --model M --prompt T ...}: streams the continuation to stdout. */
public final class GenerateCommand implements Command {
    @Override
    public String name() {
        return "generate";
    }

    @Override
    public String summary() {
        return "generate text from a prompt, streamed to stdout";
    }

    @Override
    public Options options() {
        Options o = new Options();
        ModelFlags.add(o);
        o.addOption(Option.builder().longOpt("prompt").hasArg().argName("T").desc("prompt text (default: empty, BOS only)").get());
        o.addOption(Option.builder().longOpt("max-tokens").hasArg().argName("N").desc("tokens to generate at most (default 128)").get());
        o.addOption(Option.builder().longOpt("min-tokens").hasArg().argName("N").desc("suppress EOS before N tokens (default 0)").get());
        o.addOption(Option.builder().longOpt("temperature").hasArg().argName("T").desc("0 = greedy (default 0.8)").get());
        o.addOption(Option.builder().longOpt("top-k").hasArg().argName("K").desc("0 = off (default 40)").get());
        o.addOption(Option.builder().longOpt("top-p").hasArg().argName("P").desc("1.0 = off (default 0.95)").get());
        o.addOption(Option.builder().longOpt("seed").hasArg().argName("N").desc("random seed (default 0)").get());
        o.addOption(Option.builder().longOpt("ignore-eos").desc("keep generating past EOS").get());
        o.addOption(Option.builder().longOpt("adapter").hasArg().argName("A.gguf").desc("LoRA adapter to apply").get());
        PlanFlags.add(o, true);
        return o;
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) throws Exception {
        SamplingParams p;
        try {
            p = new SamplingParams(Flags.doubleValue(cmd, "temperature", 0.8), Flags.intValue(cmd, "top-k", 40),
                    Flags.doubleValue(cmd, "top-p", 0.95), Flags.longValue(cmd, "seed", 0), Flags.intValue(cmd, "max-tokens", 128),
                    Flags.intValue(cmd, "min-tokens", 0), !cmd.hasOption("ignore-eos"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        String prompt = cmd.getOptionValue("prompt", "");
        try (LlamaModel model = ModelFlags.load(cmd, ctx);
                LoraAdapter lora = ModelFlags.adapter(cmd, model)) {
            Tokenizer tok = model.tokenizer();
            int[] ids = tok.encode(prompt, tok.vocabulary().addBos(), false);
            model.useKvType(PlanFlags.kvType(cmd));
            MemoryPlan.Result plan = MemoryPlan.compute(model.info(), MemoryPlan.Params.generate(PlanFlags.fileBytes(model.path()),
                    MemoryPlan.processResident(), 1, ids.length + p.maxNewTokens(), model.kvType(), ids.length));
            Integer exit = PlanFlags.check(cmd, ctx, "generate", plan, !ctx.verbose(), "use a shorter prompt or fewer --max-tokens");
            if (exit != null) return exit;
            Decoder d = tok.newDecoder();
            ctx.out().print(prompt);
            ctx.out().flush();
            int eos = tok.vocabulary().eos();
            long t0 = System.nanoTime();
            Generator.Result r = new Generator(model).generate(ids, p, (seq, t) -> {
                if (t == eos) return;
                ctx.out().print(d.feed(t));
                ctx.out().flush();
            });
            ctx.out().println(d.flush());
            double secs = (System.nanoTime() - t0) / 1e9;
            ctx.err().printf("[%d tokens in %.2f s, %.1f tok/s%s]%n", r.tokens().length, secs, r.tokens().length / secs,
                    r.stoppedAtEos() ? ", stopped at EOS" : "");
        }
        return 0;
    }
}
