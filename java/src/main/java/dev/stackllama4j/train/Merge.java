package dev.stackllama4j.train;

import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.GgufTensorInfo;
import dev.stackllama4j.engine.GgufWriter;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.TensorType;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Folds a LoRA adapter into a model: W' = W + (alpha/r)·B·A for every adapted projection, each
 * element's sum over the rank in float64, re-encoded as the chosen type (default: each tensor keeps
 * its own type when it can be re-encoded, else F16). Every metadata key of the base is kept. The
 * engine streams the output tensor by tensor, a chunk of rows at a time on every core, so the merge
 * needs a few tens of MB beyond the adapter whatever the model's size.
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
}
