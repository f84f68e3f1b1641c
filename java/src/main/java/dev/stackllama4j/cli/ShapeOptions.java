package dev.stackllama4j.cli;

import dev.stackllama4j.model.ModelShape;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** The model-shape flags shared by {@code init} and {@code bench}. */
final class ShapeOptions {
    private ShapeOptions() {}

    static void add(Options o) {
        Flags.arg(o, "dim", "N", "embedding width (default 64)");
        Flags.arg(o, "layers", "N", "transformer blocks (default 2)");
        Flags.arg(o, "heads", "N", "attention heads (default 4)");
        Flags.arg(o, "kv-heads", "N", "key/value heads (default = heads)");
        Flags.arg(o, "ffn", "N", "SwiGLU hidden width (default 2·dim·4/3 rounded up to 32)");
        Flags.arg(o, "vocab", "N", "vocabulary size (default 512)");
        Flags.arg(o, "ctx", "N", "context length (default 512)");
        Flags.arg(o, "rope-base", "N", "RoPE frequency base (default 10000)");
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
}
