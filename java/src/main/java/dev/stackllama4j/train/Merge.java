package dev.stackllama4j.train;

import dev.stackllama4j.engine.FullWeights;
import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.GgufTensorInfo;
import dev.stackllama4j.engine.GgufWriter;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.engine.Trainable;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Writes a model with new weights: a LoRA adapter folded in (W' = W + (alpha/r)·B·A for every
 * adapted projection, each element's sum over the rank in float64, re-encoded as the chosen type;
 * default: each tensor keeps its own type when it can be re-encoded, else F16), or the values of
 * full-parameter training (F32). Every metadata key of the base is kept. The engine streams a merge
 * tensor by tensor, a chunk of rows at a time on every core, so it needs a few tens of MB beyond
 * the adapter whatever the model's size.
 */
public final class Merge {
    private Merge() {}

    public static void merge(LlamaModel model, LoraAdapter lora, TensorType forcedType, Path out) {
        merge(model, lora, forcedType, out, null);
    }

    public static void merge(LlamaModel model, LoraAdapter lora, TensorType forcedType, Path out,
            GgufWriter.Progress progress) {
        Map<String, Integer> pairs = new HashMap<>();
        for (int i = 0; i < lora.tensors().size(); i += 2) {
            String a = lora.tensors().get(i).name();
            pairs.put(a.substring(0, a.length() - ".lora_a".length()), i);
        }
        try (GgufFile f = GgufFile.open(model.path()); GgufWriter w = new GgufWriter()) {
            for (String key : f.keys()) w.copyKey(f, key);
            w.putString("general.name", f.getString("general.name", "model") + " + LoRA");
            for (GgufTensorInfo t : f.tensors()) {
                Integer a = pairs.get(t.name());
                TensorType type = forcedType != null && t.dims().length == 2 ? forcedType : t.type();
                if ((a != null || type != t.type()) && !type.canQuantize()) type = TensorType.F16;
                if (a == null) w.addTensorFrom(f, t.name(), type);
                else w.addTensorMerged(f, t.name(), type, lora, a);
            }
            w.write(out, progress);
        }
    }

    /** Writes the model with every weight replaced by the trained values, as F32. */
    public static void saveFull(LlamaModel model, FullWeights weights, Path out) {
        try (GgufFile f = GgufFile.open(model.path()); GgufWriter w = new GgufWriter()) {
            for (String key : f.keys()) w.copyKey(f, key);
            for (GgufTensorInfo t : f.tensors()) {
                int i = weights.index(t.name());
                if (i < 0) w.addTensorFrom(f, t.name(), t.type());
                else w.addTensor(t.name(), TensorType.F32, t.dims(), weights.get(i, Trainable.Field.VALUE));
            }
            w.write(out);
        }
    }
}
