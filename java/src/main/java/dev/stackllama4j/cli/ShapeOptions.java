package dev.stackllama4j.cli;

import dev.stackllama4j.model.ModelShape;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** The model-shape flags shared by {@code init} and {@code bench}. */
final class ShapeOptions {
    private ShapeOptions() {}

    static void add(Options o) {
        o.addOption(flag("dim", "embedding width (default 64)"));
        o.addOption(flag("layers", "transformer blocks (default 2)"));
        o.addOption(flag("heads", "attention heads (default 4)"));
        o.addOption(flag("kv-heads", "key/value heads (default = heads)"));
        o.addOption(flag("ffn", "SwiGLU hidden width (default 2·dim·4/3 rounded up to 32)"));
        o.addOption(flag("vocab", "vocabulary size (default 512)"));
        o.addOption(flag("ctx", "context length (default 512)"));
        o.addOption(flag("rope-base", "RoPE frequency base (default 10000)"));
        o.addOption(Option.builder().longOpt("tied").desc("tie the output projection to the embedding").get());
    }

    static ModelShape parse(CommandLine cmd) {
        int dim = Flags.intValue(cmd, "dim", 64);
        int heads = Flags.intValue(cmd, "heads", 4);
        int defaultFfn = (int) Math.ceil(dim * 8.0 / 3.0 / 32.0) * 32;
        try {
            return new ModelShape(dim, Flags.intValue(cmd, "layers", 2), heads, Flags.intValue(cmd, "kv-heads", heads),
                    Flags.intValue(cmd, "ffn", defaultFfn), Flags.intValue(cmd, "vocab", 512),
                    Flags.intValue(cmd, "ctx", 512), Flags.doubleValue(cmd, "rope-base", 10000.0), 1e-5,
                    cmd.hasOption("tied"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    private static Option flag(String name, String desc) {
        return Option.builder().longOpt(name).hasArg().argName("N").desc(desc).get();
    }
}
