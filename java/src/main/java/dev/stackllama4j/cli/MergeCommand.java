package dev.stackllama4j.cli;

import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.train.AdapterFile;
import dev.stackllama4j.train.Merge;
import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** {@code merge --model M --adapter A --out F [--type T]}: a standalone model with the adapter folded in. */
public final class MergeCommand implements Command {
    @Override
    public String name() {
        return "merge";
    }

    @Override
    public String summary() {
        return "fold a LoRA adapter into a model and write it as GGUF";
    }

    @Override
    public Options options() {
        Options o = new Options();
        ModelFlags.add(o);
        Flags.arg(o, "adapter", "A.gguf", "LoRA adapter (required)");
        Flags.arg(o, "out", "F.gguf", "merged model (required)");
        Flags.arg(o, "type", "T", "re-encode matrices as f32 | f16 | bf16 | q8_0 | q4_0 | q4_k | q5_k | q6_k (default: keep each type)");
        return o;
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) {
        Path out = Path.of(Flags.required(cmd, "out"));
        Path adapter = SftCommand.existing(Flags.required(cmd, "adapter"));
        Path base = Path.of(Flags.required(cmd, "model"));
        if (sameFile(out, base) || sameFile(out, adapter))
            throw new UsageException("--out " + out + " is the " + (sameFile(out, base) ? "--model" : "--adapter")
                    + " file: the merge reads it while writing; choose another output");
        TensorType type = Flags.tensorType(cmd, "type", null);
        if (type != null && !type.canQuantize()) throw new UsageException("cannot encode type " + type);
        try (LlamaModel model = ModelFlags.load(cmd, ctx); LoraAdapter lora = AdapterFile.load(adapter, model)) {
            Merge.merge(model, lora, type, out, WriteProgress.onTerminal(ctx.err(), "merge"));
        }
        ctx.out().println("wrote " + out);
        return 0;
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            if (java.nio.file.Files.exists(a) && java.nio.file.Files.exists(b)) return java.nio.file.Files.isSameFile(a, b);
        } catch (java.io.IOException e) {
            // fall through to the path comparison
        }
        return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
    }
}
