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
 * adapted projection, in float64 sums, re-encoded as the chosen type; default: each tensor keeps
 * its own type when it can be re-encoded, else F16), or the values of full-parameter training
 * (F32). Every metadata key of the base is kept.
 */
public final class Merge {
    private Merge() {}

    public static void merge(LlamaModel model, LoraAdapter lora, TensorType forcedType, Path out) {
        Map<String, float[][]> ab = new HashMap<>();
        for (int i = 0; i < lora.tensors().size(); i += 2) {
            String a = lora.tensors().get(i).name();
            String base = a.substring(0, a.length() - ".lora_a".length());
            ab.put(base, new float[][] {lora.get(i, LoraAdapter.Field.VALUE), lora.get(i + 1, LoraAdapter.Field.VALUE)});
        }
        double scale = lora.config().alpha() / lora.config().r();
        int r = lora.config().r();
        write(model, forcedType, " + LoRA", out, (t, f) -> {
            float[][] pair = ab.get(t.name());
            if (pair == null) return null;
            float[] wv = f.readFloats(t.name());
            addLowRank(wv, pair[0], pair[1], (int) t.dims()[0], (int) t.dims()[1], r, scale);
            return wv;
        });
    }

    /** Writes the model with every weight replaced by the trained values, as F32. */
    public static void saveFull(LlamaModel model, FullWeights weights, Path out) {
        write(model, TensorType.F32, "", out, (t, f) -> {
            int i = weights.index(t.name());
            return i < 0 ? null : weights.get(i, Trainable.Field.VALUE);
        });
    }

    /** The new values of a tensor, or null to keep the stored ones. */
    private interface NewValues {
        float[] of(GgufTensorInfo t, GgufFile f);
    }

    private static void write(LlamaModel model, TensorType forcedType, String nameSuffix, Path out, NewValues values) {
        try (GgufFile f = GgufFile.open(model.path()); GgufWriter w = new GgufWriter()) {
            for (String key : f.keys()) w.copyKey(f, key);
            if (!nameSuffix.isEmpty()) w.putString("general.name", f.getString("general.name", "model") + nameSuffix);
            for (GgufTensorInfo t : f.tensors()) {
                float[] wv = values.of(t, f);
                TensorType type = forcedType != null && (t.dims().length == 2 || wv != null) ? forcedType : t.type();
                if (wv == null && type == t.type()) {
                    w.addTensorBytes(t.name(), t.type(), t.dims(), f.readBytes(t.name()));
                    continue;
                }
                if (wv == null) wv = f.readFloats(t.name());
                if (!type.canQuantize()) type = TensorType.F16;
                w.addTensor(t.name(), type, t.dims(), wv);
            }
            w.write(out);
        }
    }

    /** w[o][i] += scale · Σ_k B[o][k]·A[k][i]; w is out rows of in, A r×in, B out×r. */
    static void addLowRank(float[] w, float[] a, float[] b, int in, int out, int r, double scale) {
        double[] row = new double[in];
        for (int o = 0; o < out; o++) {
            java.util.Arrays.fill(row, 0);
            for (int k = 0; k < r; k++) {
                double bk = b[o * r + k];
                if (bk == 0) continue;
                for (int i = 0; i < in; i++) row[i] += bk * a[k * in + i];
            }
            for (int i = 0; i < in; i++) w[o * in + i] += (float) (scale * row[i]);
        }
    }
}
