package dev.stackllama4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.model.ModelShape;
import dev.stackllama4j.model.RandomModel;
import dev.stackllama4j.testing.SharedFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SftRunTest {
    @TempDir
    Path tmp;

    static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());

    Path smallModel(TensorType type) {
        Path f = tmp.resolve("m-" + type + ".gguf");
        RandomModel.write(new ModelShape(64, 2, 4, 2, 160, 400, 256, 10000, 1e-5, false), type, 5, f);
        return f;
    }

    static List<String> texts(int n) {
        List<String> t = new ArrayList<>();
        for (int i = 0; i < n; i++) t.add("Question: How much is " + i + " plus " + (i * 7 % 13) + "?\n\nAnswer: " + (i + i * 7 % 13));
        return t;
    }

    static SftConfig config(int maxSteps, int stopAfter, double dropout) {
        LoraConfig lora = new LoraConfig(4, 8f, (float) dropout, EnumSet.of(LoraConfig.Target.Q, LoraConfig.Target.V,
                LoraConfig.Target.DOWN), 3);
        return new SftConfig(32, 2, 2, 3e-3, LrSchedule.Kind.COSINE, 2, 0.05, maxSteps, 1.0, lora, 0, 0, 0, 0, false, false, stopAfter);
    }

    static List<Double> losses(Path metrics) throws Exception {
        List<Double> out = new ArrayList<>();
        ObjectMapper m = new ObjectMapper();
        for (String line : Files.readAllLines(metrics)) out.add(m.readTree(line).get("loss").asDouble());
        return out;
    }

    @Test
    void resumedRunFollowsTheUninterruptedLossCurveExactly() throws Exception {
        Path model = smallModel(TensorType.F32);
        try (LlamaModel m = LlamaModel.load(model)) {
            List<Packing.Chunk> chunks = SftData.pack(texts(40), m.tokenizer(), 32);
            Path a = tmp.resolve("a"), b = tmp.resolve("b");
            new SftRun(m, config(6, 0, 0.1), chunks, List.of(), a, QUIET).run(null, false);
            SftRun.Summary first = new SftRun(m, config(6, 3, 0.1), chunks, List.of(), b, QUIET).run(null, false);
            assertEquals(3, first.stepsDone());
            SftRun.Summary second = new SftRun(m, config(6, 0, 0.1), chunks, List.of(), b, QUIET).run(null, true);
            assertEquals(6, second.stepsDone());
            List<Double> la = losses(a.resolve("metrics.jsonl")), lb = losses(b.resolve("metrics.jsonl"));
            assertEquals(6, la.size());
            assertEquals(la, lb, "the resumed run's losses must equal the uninterrupted run's");
            try (GgufFile fa = GgufFile.open(a.resolve("adapter.gguf")); GgufFile fb = GgufFile.open(b.resolve("adapter.gguf"))) {
                for (var t : fa.tensors()) assertArrayEquals(fa.readFloats(t.name()), fb.readFloats(t.name()), t.name());
            }
            // a resume with different settings is refused with the reason
            SftConfig other = new SftConfig(32, 1, 2, 3e-3, LrSchedule.Kind.COSINE, 2, 0.05, 6, 1.0, config(6, 0, 0.1).lora(), 0, 0, 0,
                    0, false, false, 0);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new SftRun(m, other, chunks, List.of(), b, QUIET).run(null, true));
            assertTrue(e.getMessage().contains("batch_size"), e.getMessage());
        }
    }

    @Test
    void adapterFileIsLlamaCppShapedAndMergeEqualsAttachedAdapter() throws Exception {
        Path model = smallModel(TensorType.F32);
        try (LlamaModel m = LlamaModel.load(model)) {
            List<Packing.Chunk> chunks = SftData.pack(texts(30), m.tokenizer(), 32);
            SftRun.Summary s = new SftRun(m, config(4, 0, 0.0), chunks, List.of(), tmp.resolve("o"), QUIET).run(null, false);
            try (GgufFile f = GgufFile.open(s.adapter())) {
                assertEquals("adapter", f.getString("general.type"));
                assertEquals("lora", f.getString("adapter.type"));
                assertEquals(8.0, f.getDouble("adapter.lora.alpha"), 0);
                assertArrayEquals(new long[] {64, 4}, f.tensor("blk.0.attn_q.weight.lora_a").dims());
                assertArrayEquals(new long[] {4, 32}, f.tensor("blk.1.attn_v.weight.lora_b").dims());
                assertArrayEquals(new long[] {4, 64}, f.tensor("blk.1.ffn_down.weight.lora_b").dims());
                for (var t : f.tensors()) assertTrue(t.name().endsWith(".lora_a") || t.name().endsWith(".lora_b"), t.name());
            }
            int[] ids = m.tokenizer().encode("Question: How much is 3 plus 4?\n\nAnswer: 7", true, false);
            float[][] base = m.logits(ids);
            float[][] withAdapter;
            try (LoraAdapter lora = AdapterFile.load(s.adapter(), m)) {
                withAdapter = m.logits(ids, lora);
                Path merged = tmp.resolve("merged.gguf");
                Merge.merge(m, lora, null, merged);
                try (LlamaModel mm = LlamaModel.load(merged)) {
                    float[][] ml = mm.logits(ids);
                    double diff = 0, moved = 0;
                    for (int i = 0; i < ids.length; i++)
                        for (int v = 0; v < ml[i].length; v++) {
                            diff = Math.max(diff, Math.abs(ml[i][v] - withAdapter[i][v]));
                            moved = Math.max(moved, Math.abs(base[i][v] - withAdapter[i][v]));
                        }
                    assertTrue(diff < 1e-4, "merged vs attached adapter: " + diff);
                    assertTrue(moved > 1e-3, "the adapter changed nothing: " + moved);
                }
            }
            // an adapter made for another shape is refused, naming the tensor
            Path other = tmp.resolve("other.gguf");
            RandomModel.write(new ModelShape(96, 2, 4, 2, 160, 400, 256, 10000, 1e-5, false), TensorType.F32, 5, other);
            try (LlamaModel o = LlamaModel.load(other)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AdapterFile.load(s.adapter(), o));
                assertTrue(e.getMessage().contains("attn_q.weight.lora_a"), e.getMessage());
            }
        }
    }

    @Test
    void sftOverfitsAFewHundredTokensOnStories260K() throws Exception {
        Path model = SharedFiles.require("models/stories260K/stories260K.gguf");
        try (LlamaModel m = LlamaModel.load(model)) {
            String text = "Tom had a red kite with a long blue tail. Every windy morning he ran up the green hill behind the "
                    + "bakery and let the kite climb until it was a small dot. His sister Mia counted the seconds out loud. "
                    + "One day the string broke and the kite flew over the river, and Tom laughed because the kite was free.";
            List<Packing.Chunk> chunks = SftData.pack(List.of(text, text, text), m.tokenizer(), 96);
            LoraConfig lora = new LoraConfig(16, 32f, 0f, EnumSet.allOf(LoraConfig.Target.class), 1);
            SftConfig c = new SftConfig(96, 2, 1, 1e-2, LrSchedule.Kind.CONSTANT, 0, 0.0, 200, 1.0, lora, 0, 0, 0, 0, true, false, 0);
            SftRun.Summary s = new SftRun(m, c, chunks, List.of(), tmp.resolve("overfit"), QUIET).run(null, false);
            List<Double> l = losses(tmp.resolve("overfit/metrics.jsonl"));
            assertTrue(l.get(0) > 1.0, "starting loss " + l.get(0));
            assertTrue(s.lastLoss() < 0.05, "loss after 200 steps: " + s.lastLoss());
        }
    }
}
