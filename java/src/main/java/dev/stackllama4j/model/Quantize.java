package dev.stackllama4j.model;

import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.GgufTensorInfo;
import dev.stackllama4j.engine.GgufWriter;
import dev.stackllama4j.engine.TensorType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;

/**
 * Converts an F32 / F16 / BF16 GGUF to another type as llama.cpp's {@code llama-quantize} does for a
 * single-type target: every metadata key is kept ({@code general.file_type} and, for quantized
 * targets, {@code general.quantization_version} are set); matrices ({@code *.weight} with 2 or more
 * dims) take the target type; 1-D tensors (norms) keep theirs. For a quantized target other than
 * Q8_0 the output projection ({@code output.weight}, or {@code token_embd.weight} when the output
 * is tied to it) gets Q6_K, llama.cpp's choice for it. A matrix whose rows are not a whole number
 * of the type's blocks gets Q8_0 (or F16 if it does not fit Q8_0 either; llama.cpp uses Q5_0/Q5_1
 * for k-quants, which this engine does not encode). The engine streams the output tensor by tensor
 * on every core.
 */
public final class Quantize {
    private Quantize() {}

    /** Target types {@code quantize} accepts. */
    public static final Set<TensorType> TARGETS = EnumSet.of(TensorType.F32, TensorType.F16, TensorType.BF16,
            TensorType.Q8_0, TensorType.Q4_0, TensorType.Q4_K, TensorType.Q5_K, TensorType.Q6_K);

    private static final Set<TensorType> SOURCES = EnumSet.of(TensorType.F32, TensorType.F16, TensorType.BF16);

    public static void quantize(Path in, Path out, TensorType target, GgufWriter.Progress progress) {
        if (!TARGETS.contains(target))
            throw new IllegalArgumentException("quantize cannot write type " + target + " (use one of " + TARGETS + ")");
        if (sameFile(in, out))
            throw new IllegalArgumentException("--out " + out + " is the input model; write to another file");
        try (GgufFile f = GgufFile.open(in); GgufWriter w = new GgufWriter()) {
            for (String key : f.keys()) w.copyKey(f, key);
            w.putU32("general.file_type", RandomModel.fileType(target));
            if (target.blockSize() > 1) w.putU32("general.quantization_version", 2);
            boolean hasOutput = f.hasTensor("output.weight");
            for (GgufTensorInfo t : f.tensors()) {
                TensorType type = typeFor(t, target, hasOutput);
                if (type != t.type() && !SOURCES.contains(t.type()))
                    throw new IllegalArgumentException(in + ": tensor '" + t.name() + "' is " + t.type()
                            + "; quantize reads F32, F16 or BF16 tensors (re-quantizing a quantized model loses precision)");
                w.addTensorFrom(f, t.name(), type);
            }
            w.write(out, progress);
        }
    }

    /** The type tensor {@code t} gets when a model is converted to {@code target}. */
    public static TensorType typeFor(GgufTensorInfo t, TensorType target, boolean hasOutput) {
        if (t.dims().length < 2 || !t.name().endsWith(".weight")) return t.type();
        TensorType type = target;
        boolean output = t.name().equals("output.weight") || (!hasOutput && t.name().equals("token_embd.weight"));
        if (output && target.blockSize() > 1 && target != TensorType.Q8_0) type = TensorType.Q6_K;
        long row = t.dims()[0];
        if (row % type.blockSize() != 0) type = row % TensorType.Q8_0.blockSize() == 0 && target.blockSize() > 1
                ? TensorType.Q8_0 : TensorType.F16;
        return type;
    }

    private static boolean sameFile(Path a, Path b) {
        if (a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize())) return true;
        try {
            return Files.exists(b) && Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }
}
