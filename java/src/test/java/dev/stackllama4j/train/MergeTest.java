package dev.stackllama4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.GgufTensorInfo;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.model.ModelShape;
import dev.stackllama4j.model.RandomModel;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The native streamed merge against a float64 reference of W + (alpha/r)·B·A. */
class MergeTest {
    @TempDir
    Path tmp;

    @Test
    void mergedTensorsEqualTheFloat64ReferenceInEveryOutputType() throws Exception {
        Path base = tmp.resolve("base.gguf");
        RandomModel.write(new ModelShape(64, 2, 4, 2, 96, 400, 64, 10000, 1e-5, false), TensorType.F32, 4, base);
        try (LlamaModel m = LlamaModel.load(base);
                LoraAdapter lora = LoraAdapter.create(m, new LoraConfig(4, 8f, 0f, EnumSet.allOf(LoraConfig.Target.class), 3))) {
            SplittableRandom rnd = new SplittableRandom(5);
            for (int i = 1; i < lora.tensors().size(); i += 2) { // B starts at zero: give it values
                float[] b = new float[(int) lora.tensors().get(i).elements()];
                for (int j = 0; j < b.length; j++) b[j] = j % 7 == 0 ? 0f : (float) (rnd.nextGaussian() * 0.1);
                lora.set(i, LoraAdapter.Field.VALUE, b);
            }
            double scale = 8.0 / 4;
            Path f32 = tmp.resolve("merged-f32.gguf"), q8 = tmp.resolve("merged-q8.gguf");
            Merge.merge(m, lora, null, f32);
            Merge.merge(m, lora, TensorType.Q8_0, q8);
            int merged = 0;
            try (GgufFile in = GgufFile.open(base); GgufFile out = GgufFile.open(f32); GgufFile outQ = GgufFile.open(q8)) {
                assertEquals(in.getString("general.name") + " + LoRA", out.getString("general.name"));
                for (GgufTensorInfo t : in.tensors()) {
                    float[] w = in.readFloats(t.name());
                    int a = lora.index(t.name() + ".lora_a");
                    double[] want = new double[w.length], delta = new double[w.length];
                    for (int j = 0; j < w.length; j++) want[j] = w[j];
                    if (a >= 0) {
                        merged++;
                        float[] av = lora.get(a, LoraAdapter.Field.VALUE), bv = lora.get(a + 1, LoraAdapter.Field.VALUE);
                        int in_ = (int) t.dims()[0], outDim = (int) t.dims()[1], r = 4;
                        for (int o = 0; o < outDim; o++)
                            for (int i = 0; i < in_; i++) {
                                double s = 0;
                                for (int k = 0; k < r; k++) s += (double) bv[o * r + k] * av[k * in_ + i];
                                want[o * in_ + i] += scale * s;
                                delta[o * in_ + i] = scale * s;
                            }
                    }
                    float[] got = out.readFloats(t.name());
                    assertEquals(TensorType.F32, out.tensor(t.name()).type());
                    for (int j = 0; j < w.length; j++) // two float roundings: the delta's and the sum's
                        assertEquals(want[j], got[j], Math.ulp((float) delta[j]) + Math.ulp(Math.max(Math.abs(w[j]),
                                Math.abs((float) delta[j]))), t.name() + "[" + j + "]");
                    // Q8_0 for matrices: within half a quantization step of each 32-block of the reference
                    TensorType qt = t.dims().length == 2 ? TensorType.Q8_0 : TensorType.F32;
                    assertEquals(qt, outQ.tensor(t.name()).type());
                    float[] gq = outQ.readFloats(t.name());
                    for (int blk = 0; blk < w.length / 32; blk++) {
                        double amax = 0;
                        for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(want[blk * 32 + j]));
                        double tol = qt == TensorType.F32 ? 0 : amax / 127 * 0.5 * 1.01 + amax * 1e-3; // + half-precision d
                        for (int j = 0; j < 32; j++)
                            assertEquals(want[blk * 32 + j], gq[blk * 32 + j], tol + 2 * Math.ulp((float) want[blk * 32 + j]));
                    }
                }
            }
            assertEquals(2 * 7, merged);
            // the merged model computes what the attached adapter computes
            int[] ids = {1, 300, 301};
            float[][] attached = m.logits(ids, lora);
            try (LlamaModel mm = LlamaModel.load(f32)) {
                float[][] ml = mm.logits(ids);
                double diff = 0;
                for (int i = 0; i < ids.length; i++)
                    for (int v = 0; v < ml[i].length; v++) diff = Math.max(diff, Math.abs(ml[i][v] - attached[i][v]));
                assertTrue(diff < 1e-4, "merged vs attached: " + diff);
            }
        }
    }
}
