package dev.stackllama4j.reward;

import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.GgufWriter;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.engine.TrunkId;
import dev.stackllama4j.train.AdapterFile;
import java.nio.file.Path;

/**
 * A reward model as one GGUF file: the trunk's LoRA tensors (llama.cpp names, see
 * {@link AdapterFile}), the head as {@code stackllama4j.reward_head.weight} (F32, dims {dim}), and
 * {@code stackllama4j.reward.max_length}. It is loaded onto the same base model it was trained on
 * (its {@link dev.stackllama4j.engine.TrunkId} is recorded and checked).
 * (llama.cpp does not load it: it has no scalar heads; the trunk alone is also saved as a plain
 * adapter next to it.)
 */
public final class RewardModelFile {
    public static final String HEAD = "stackllama4j.reward_head.weight";
    public static final String KEY_MAX_LENGTH = "stackllama4j.reward.max_length";

    private RewardModelFile() {}

    public static GgufWriter writer(LoraAdapter lora, RewardHead head, int maxLength, boolean withOptimizerState) {
        GgufWriter w = AdapterFile.writer(lora, withOptimizerState);
        w.putString("general.name", "stackllama4j reward model (LoRA r" + lora.config().r() + " + scalar head)");
        w.putU32(KEY_MAX_LENGTH, maxLength);
        w.addTensor(HEAD, TensorType.F32, new long[] {head.weight.length}, head.weight);
        if (withOptimizerState) {
            w.addTensor("stackllama4j.adam_m." + HEAD, TensorType.F32, new long[] {head.weight.length}, head.moment1());
            w.addTensor("stackllama4j.adam_v." + HEAD, TensorType.F32, new long[] {head.weight.length}, head.moment2());
        }
        return w;
    }

    public static void save(Path path, LoraAdapter lora, RewardHead head, int maxLength) {
        try (GgufWriter w = writer(lora, head, maxLength, false)) {
            w.write(path);
        }
    }

    /** A loaded reward model: adapter and head (close the adapter when done). */
    public record Loaded(LoraAdapter lora, RewardHead head, int maxLength) implements AutoCloseable {
        @Override
        public void close() {
            lora.close();
        }
    }

    public static Loaded load(Path path, LlamaModel model, boolean withOptimizerState) {
        return load(path, model, withOptimizerState, TrunkId.Check.WARN);
    }

    /** Loads a reward model onto {@code model}; {@code trunk}: what a different recorded trunk does. */
    public static Loaded load(Path path, LlamaModel model, boolean withOptimizerState, TrunkId.Check trunk) {
        int maxLength;
        RewardHead head;
        try (GgufFile f = GgufFile.open(path)) {
            if (!f.hasTensor(HEAD)) throw new IllegalArgumentException(path + ": not a reward model (tensor " + HEAD + " is missing)");
            float[] w = f.readFloats(HEAD);
            if (w.length != model.info().dim())
                throw new IllegalArgumentException(path + ": head has " + w.length + " weights, the model's hidden size is " + model.info().dim());
            head = new RewardHead(w);
            if (withOptimizerState)
                head.restore(f.readFloats("stackllama4j.adam_m." + HEAD), f.readFloats("stackllama4j.adam_v." + HEAD), 0);
            maxLength = (int) f.getLong(KEY_MAX_LENGTH, 512);
        }
        return new Loaded(AdapterFile.load(path, model, withOptimizerState, trunk), head, maxLength);
    }
}
