package dev.stackllama4j.train;

import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.GgufTensorInfo;
import dev.stackllama4j.engine.GgufWriter;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.engine.Trainable;
import dev.stackllama4j.engine.TrunkId;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;

/**
 * LoRA adapters as llama.cpp's LoRA-adapter GGUF, loadable by llama.cpp ({@code --lora}) and
 * ollama: {@code general.architecture = llama}, {@code general.type = adapter},
 * {@code adapter.type = lora}, {@code adapter.lora.alpha}, F32 tensors
 * {@code blk.N.<proj>.weight.lora_a} (dims {in, r}) and {@code .lora_b} (dims {r, out}). Our own
 * keys ({@code stackllama4j.lora.*}) record rank, dropout, targets and seed. llama.cpp's loader
 * rejects tensors without a {@code .lora_a}/{@code .lora_b} suffix, so extra tensors (AdamW moments,
 * reward or value heads, under {@code stackllama4j.*} names) go only into checkpoints and head
 * files, never into the plain adapter. Every file records the {@link TrunkId} of the model it was
 * trained on ({@code stackllama4j.trunk.sha256}), checked when it is loaded.
 */
public final class AdapterFile {
    public static final String KEY_R = "stackllama4j.lora.r";
    public static final String KEY_DROPOUT = "stackllama4j.lora.dropout";
    public static final String KEY_TARGETS = "stackllama4j.lora.targets";
    public static final String KEY_SEED = "stackllama4j.lora.seed";

    private AdapterFile() {}

    /** Metadata and tensors of an adapter, ready to write; callers may add more before writing. */
    public static GgufWriter writer(LoraAdapter lora, boolean withOptimizerState) {
        LoraConfig c = lora.config();
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", "llama");
        w.putString("general.type", "adapter");
        w.putString("general.name", "stackllama4j LoRA r" + c.r() + " (" + c.targetList() + ")");
        w.putString("adapter.type", "lora");
        w.putF32("adapter.lora.alpha", c.alpha());
        w.putU32(KEY_R, c.r());
        w.putF32(KEY_DROPOUT, c.dropout());
        w.putString(KEY_TARGETS, c.targetList());
        w.putU64(KEY_SEED, c.seed());
        w.putString(TrunkId.KEY, lora.trunkId());
        addTensors(w, lora, withOptimizerState);
        return w;
    }

    /** Adds every tensor's values (and, with {@code withOptimizerState}, its AdamW moments) as F32. */
    public static void addTensors(GgufWriter w, Trainable params, boolean withOptimizerState) {
        for (int i = 0; i < params.tensors().size(); i++) {
            Trainable.TensorInfo t = params.tensors().get(i);
            w.addTensor(t.name(), TensorType.F32, t.dims(), params.get(i, Trainable.Field.VALUE));
            if (withOptimizerState) {
                w.addTensor("stackllama4j.adam_m." + t.name(), TensorType.F32, t.dims(), params.get(i, Trainable.Field.ADAM_M));
                w.addTensor("stackllama4j.adam_v." + t.name(), TensorType.F32, t.dims(), params.get(i, Trainable.Field.ADAM_V));
            }
        }
    }

    /** Writes a plain adapter (atomically). */
    public static void save(Path path, LoraAdapter lora) {
        try (GgufWriter w = writer(lora, false)) {
            w.write(path);
        }
    }

    /** The adapter's configuration as stored (rank from the tensors when our keys are absent). */
    public static LoraConfig readConfig(GgufFile f) {
        if (!"adapter".equals(f.getString("general.type", "")) || !"lora".equals(f.getString("adapter.type", "")))
            throw new IllegalArgumentException(f.path() + ": not a LoRA adapter (general.type must be 'adapter' and adapter.type 'lora')");
        Set<LoraConfig.Target> targets = EnumSet.noneOf(LoraConfig.Target.class);
        int r = -1;
        for (GgufTensorInfo t : f.tensors()) {
            if (!t.name().endsWith(".lora_a") || t.name().startsWith("stackllama4j.")) continue;
            for (LoraConfig.Target tg : LoraConfig.Target.values())
                if (t.name().contains("." + tg.ggufName + ".weight")) targets.add(tg);
            if (t.dims().length != 2) throw new IllegalArgumentException(f.path() + ": tensor " + t.name() + " must be 2-D");
            r = (int) t.dims()[1];
        }
        if (r < 1) throw new IllegalArgumentException(f.path() + ": no lora_a tensors found");
        if (f.has(KEY_R) && f.getLong(KEY_R) != r)
            throw new IllegalArgumentException(f.path() + ": " + KEY_R + " = " + f.getLong(KEY_R) + " but the tensors have rank " + r);
        float alpha = (float) f.getDouble("adapter.lora.alpha", r);
        float dropout = (float) f.getDouble(KEY_DROPOUT, 0.0);
        long seed = f.getLong(KEY_SEED, 42);
        return new LoraConfig(r, alpha, dropout, targets, seed);
    }

    /**
     * Loads an adapter file onto a model; every tensor's name and shape must match the model. A file
     * trained on another trunk gets a warning ({@link TrunkId.Check#WARN}).
     */
    public static LoraAdapter load(Path path, LlamaModel model) {
        return load(path, model, false);
    }

    public static LoraAdapter load(Path path, LlamaModel model, boolean withOptimizerState) {
        return load(path, model, withOptimizerState, TrunkId.Check.WARN);
    }

    /** {@link #load(Path, LlamaModel, boolean)} with what a different recorded trunk does. */
    public static LoraAdapter load(Path path, LlamaModel model, boolean withOptimizerState, TrunkId.Check trunk) {
        try (GgufFile f = GgufFile.open(path)) {
            LoraAdapter lora = LoraAdapter.create(model, readConfig(f));
            try {
                restoreInto(f, lora, withOptimizerState);
                TrunkId.check(f, model, trunk);  // after the shapes: an adapter that cannot fit is named by its tensor
                return lora;
            } catch (RuntimeException e) {
                lora.close();
                throw e;
            }
        }
    }

    /**
     * Sets every tensor of {@code lora} (and, with {@code withOptimizerState}, its AdamW moments)
     * from an open adapter or checkpoint file; names and shapes must match, and the file may hold no
     * LoRA tensor the adapter lacks.
     */
    public static void restoreInto(GgufFile f, Trainable lora, boolean withOptimizerState) {
        Path path = f.path();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i < lora.tensors().size(); i++) {
            Trainable.TensorInfo t = lora.tensors().get(i);
            if (!f.hasTensor(t.name()))
                throw new IllegalArgumentException(path + ": tensor " + t.name() + " is missing (the adapter does not fit this model)");
            GgufTensorInfo g = f.tensor(t.name());
            if (!java.util.Arrays.equals(g.dims(), t.dims()))
                throw new IllegalArgumentException(path + ": tensor " + t.name() + " has shape " + g.shape() + ", the model needs "
                        + java.util.Arrays.toString(t.dims()));
            lora.set(i, Trainable.Field.VALUE, f.readFloats(t.name()));
            if (withOptimizerState) {
                lora.set(i, Trainable.Field.ADAM_M, f.readFloats("stackllama4j.adam_m." + t.name()));
                lora.set(i, Trainable.Field.ADAM_V, f.readFloats("stackllama4j.adam_v." + t.name()));
            }
            seen.add(t.name());
        }
        for (GgufTensorInfo g : f.tensors())
            if ((g.name().endsWith(".lora_a") || g.name().endsWith(".lora_b")) && !g.name().startsWith("stackllama4j.")
                    && !seen.contains(g.name()))
                throw new IllegalArgumentException(path + ": tensor " + g.name() + " does not fit this model");
    }
}
