package dev.stackllama4j.cli;

import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.model.Quantize;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** {@code quantize --model IN.gguf --out OUT.gguf --type T}: an F32/F16/BF16 model in another type. */
public final class QuantizeCommand implements Command {
    @Override
    public String name() {
        return "quantize";
    }

    @Override
    public String summary() {
        return "convert an F32/F16/BF16 GGUF to q8_0, q4_0, q4_k, q5_k, q6_k, f16, bf16 or f32 (as llama-quantize)";
    }

    @Override
    public Options options() {
        Options o = new Options();
        Flags.arg(o, "model", "IN.gguf", "input model, F32/F16/BF16 matrices (required)");
        Flags.arg(o, "out", "OUT.gguf", "output model, not the input (required)");
        Flags.arg(o, "type", "T", "q8_0 | q4_0 | q4_k | q5_k | q6_k | f16 | bf16 | f32 (required)");
        return o;
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) {
        Path in = Path.of(Flags.required(cmd, "model"));
        Path out = Path.of(Flags.required(cmd, "out"));
        Flags.required(cmd, "type");
        TensorType type = Flags.tensorType(cmd, "type", null);
        if (!Quantize.TARGETS.contains(type))
            throw new UsageException("--type " + type + " is not a quantize target (q8_0, q4_0, q4_k, q5_k, q6_k, f16, bf16, f32)");
        if (!Files.isRegularFile(in)) throw new UsageException("--model " + in + ": no such file");
        if (in.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize()))
            throw new UsageException("--out " + out + " is the input model; write to another file");
        Quantize.quantize(in, out, type, WriteProgress.onTerminal(ctx.err(), "quantize"));
        ctx.out().printf("wrote %s: %s%n", out, type);
        return 0;
    }
}
