package dev.stackllama4j.cli;

import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.model.ModelShape;
import dev.stackllama4j.model.RandomModel;
import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code init}: write a random-initialised LLaMA GGUF of any shape. */
public final class InitCommand implements Command {
    @Override
    public String name() {
        return "init";
    }

    @Override
    public String summary() {
        return "write a random-initialised LLaMA-architecture GGUF (for tests and benchmarks)";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("out").hasArg().argName("FILE.gguf").desc("output file (required)").get());
        ShapeOptions.add(o);
        o.addOption(Option.builder().longOpt("type").hasArg().argName("TYPE")
                .desc("f32 | f16 | bf16 | q8_0 | q4_0 | q4_k | q5_k | q6_k (default f32)").get());
        o.addOption(Option.builder().longOpt("seed").hasArg().argName("N").desc("random seed (default 1)").get());
        o.addOption(Option.builder().longOpt("init-std").hasArg().argName("X").desc("weight scale (default 0.02, GPT-2's; narrow models train much faster from about 0.8/sqrt(dim))").get());
        return o;
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) {
        Path out = Path.of(Flags.required(cmd, "out"));
        ModelShape shape = ShapeOptions.parse(cmd);
        TensorType type = Flags.tensorType(cmd, "type", TensorType.F32);
        long seed = Flags.longValue(cmd, "seed", 1);
        double std = Flags.doubleValue(cmd, "init-std", RandomModel.DEFAULT_STD);
        if (!(std > 0 && std < 1)) throw new UsageException("--init-std must be in (0, 1), got " + std);
        RandomModel.write(shape, type, seed, std, out, WriteProgress.onTerminal(ctx.err(), "init"));
        ctx.out().printf("wrote %s: %,d parameters, %s, dim %d, %d layers, %d heads (%d kv), ffn %d, vocab %d%n", out,
                shape.parameters(), type, shape.dim(), shape.layers(), shape.heads(), shape.kvHeads(), shape.ffn(),
                shape.vocab());
        return 0;
    }
}
