package dev.stackllama4j.cli;

import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.Precision;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.io.Npy;
import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code logits}: float32 [positions, vocab] as .npy, for comparison with other implementations. */
public final class LogitsCommand implements Command {
    @Override
    public String name() {
        return "logits";
    }

    @Override
    public String summary() {
        return "write the logits of every position as a NumPy .npy file";
    }

    @Override
    public Options options() {
        Options o = new Options();
        ModelFlags.add(o);
        ModelFlags.addPrecision(o, Precision.EXACT);
        PlanFlags.addKvType(o);
        o.addOption(Option.builder().longOpt("prompt").hasArg().argName("T").desc("text to evaluate").get());
        o.addOption(Option.builder().longOpt("tokens").hasArg().argName("1,2,3").desc("token ids to evaluate instead of a prompt").get());
        o.addOption(Option.builder().longOpt("no-bos").desc("do not prepend BOS to --prompt").get());
        o.addOption(Option.builder().longOpt("adapter").hasArg().argName("A.gguf").desc("LoRA adapter to apply").get());
        o.addOption(Option.builder().longOpt("out").hasArg().argName("F.npy").desc("output file (required)").get());
        return o;
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) throws Exception {
        Path out = Path.of(Flags.required(cmd, "out"));
        if (cmd.hasOption("prompt") == cmd.hasOption("tokens")) throw new UsageException("give exactly one of --prompt and --tokens");
        try (LlamaModel model = ModelFlags.load(cmd, ctx, PlanFlags.kvType(cmd), ModelFlags.precision(cmd, Precision.EXACT));
                LoraAdapter lora = ModelFlags.adapter(cmd, model)) {
            int[] ids = cmd.hasOption("tokens") ? ModelFlags.tokenList(cmd.getOptionValue("tokens"))
                    : model.tokenizer().encode(cmd.getOptionValue("prompt"),
                            !cmd.hasOption("no-bos") && model.tokenizer().vocabulary().addBos(), false);
            if (ids.length == 0) throw new UsageException("nothing to evaluate: the prompt is empty and --no-bos was given");
            if (ids.length > model.contextLength())
                throw new IllegalArgumentException("the input has " + ids.length + " tokens, past the model's context of "
                        + model.contextLength() + " (" + model.path() + ")");
            float[][] logits = model.logits(ids, lora);
            Npy.write(out, logits);
            ctx.err().printf("wrote %s: float32 [%d, %d]%n", out, logits.length, logits[0].length);
        }
        return 0;
    }
}
