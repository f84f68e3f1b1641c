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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

    /** One sft run into {@code dir} with the folder opened in {@code mode}, as the command does it. */
    static SftRun.Summary sft(LlamaModel m, SftConfig c, List<Packing.Chunk> chunks, Path dir, RunFolder.Mode mode) throws Exception {
        try (RunFolder f = RunFolder.open(dir, mode, QUIET, SftRun.OUTPUTS)) {
            return new SftRun(m, c, chunks, List.of(), f, QUIET).run(null);
        }
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
            sft(m, config(6, 0, 0.1), chunks, a, RunFolder.Mode.FRESH);
            SftRun.Summary first = sft(m, config(6, 3, 0.1), chunks, b, RunFolder.Mode.FRESH);
            assertEquals(3, first.stepsDone());
            SftRun.Summary second = sft(m, config(6, 0, 0.1), chunks, b, RunFolder.Mode.RESUME);
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
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sft(m, other, chunks, b, RunFolder.Mode.RESUME));
            assertTrue(e.getMessage().contains("batch-size: 2 → 1"), e.getMessage());
        }
    }

    @Test
    void fullParameterRunResumesExactlyAndWritesAModelWhoseEveryWeightTrained() throws Exception {
        Path model = smallModel(TensorType.F16);
        try (LlamaModel m = LlamaModel.load(model)) {
            List<Packing.Chunk> chunks = SftData.pack(texts(40), m.tokenizer(), 32);
            Path a = tmp.resolve("fa"), b = tmp.resolve("fb");
            sft(m, config(6, 0, 0.0).withFull(true), chunks, a, RunFolder.Mode.FRESH);
            assertEquals(3, sft(m, config(6, 3, 0.0).withFull(true), chunks, b, RunFolder.Mode.FRESH).stepsDone());
            SftRun.Summary s = sft(m, config(6, 0, 0.0).withFull(true), chunks, b, RunFolder.Mode.RESUME);
            assertEquals(b.resolve("model.gguf"), s.adapter());
            List<Double> la = losses(a.resolve("metrics.jsonl"));
            assertEquals(la, losses(b.resolve("metrics.jsonl")), "the resumed run's losses must equal the uninterrupted run's");
            assertTrue(la.get(5) < la.get(0), "loss must fall: " + la);
            try (GgufFile base = GgufFile.open(model); GgufFile fa = GgufFile.open(a.resolve("model.gguf"));
                    GgufFile fb = GgufFile.open(b.resolve("model.gguf"))) {
                assertEquals(base.tensors().size(), fa.tensors().size());
                for (var t : base.tensors()) {
                    assertEquals(TensorType.F32, fa.tensor(t.name()).type(), t.name());
                    assertArrayEquals(t.dims(), fa.tensor(t.name()).dims(), t.name());
                    assertArrayEquals(fa.readFloats(t.name()), fb.readFloats(t.name()), t.name());
                    assertTrue(!java.util.Arrays.equals(base.readFloats(t.name()), fa.readFloats(t.name())), t.name() + " did not train");
                }
                assertEquals(base.getString("tokenizer.ggml.model"), fa.getString("tokenizer.ggml.model"));
            }
            // The written model loads and computes with the trained weights.
            try (LlamaModel trained = LlamaModel.load(a.resolve("model.gguf"))) {
                int[] ids = m.tokenizer().encode(texts(1).get(0), true, false);
                float[][] before = m.logits(ids), after = trained.logits(ids);
                assertTrue(!java.util.Arrays.equals(before[0], after[0]));
            }
            // a LoRA resume of a full checkpoint is refused with the reason
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> sft(m, config(6, 0, 0.0), chunks, b, RunFolder.Mode.RESUME));
            assertTrue(e.getMessage().contains("full"), e.getMessage());
        }
    }

    @Test
    void adapterFileIsLlamaCppShapedAndMergeEqualsAttachedAdapter() throws Exception {
        Path model = smallModel(TensorType.F32);
        try (LlamaModel m = LlamaModel.load(model)) {
            List<Packing.Chunk> chunks = SftData.pack(texts(30), m.tokenizer(), 32);
            SftRun.Summary s = sft(m, config(4, 0, 0.0), chunks, tmp.resolve("o"), RunFolder.Mode.FRESH);
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
            SftRun.Summary s = sft(m, c, chunks, tmp.resolve("overfit"), RunFolder.Mode.FRESH);
            List<Double> l = losses(tmp.resolve("overfit/metrics.jsonl"));
            assertTrue(l.get(0) > 1.0, "starting loss " + l.get(0));
            assertTrue(s.lastLoss() < 0.05, "loss after 200 steps: " + s.lastLoss());
        }
    }

    static SftConfig withLora(SftConfig c, LoraConfig l) {
        return new SftConfig(c.seqLength(), c.batchSize(), c.gradAccum(), c.lr(), c.schedule(), c.warmupSteps(), c.weightDecay(), c.maxSteps(),
                c.maxGradNorm(), l, c.seed(), c.shuffleBuffer(), c.evalEvery(), c.saveEvery(), c.crossDocAttention(), c.checkpointing(),
                c.stopAfter());
    }

    static SftConfig with(SftConfig c, long seed, double lr, int maxSteps, LrSchedule.Kind kind, int warmup, int stopAfter) {
        return new SftConfig(c.seqLength(), c.batchSize(), c.gradAccum(), lr, kind, warmup, c.weightDecay(), maxSteps, c.maxGradNorm(),
                c.lora(), seed, c.shuffleBuffer(), c.evalEvery(), c.saveEvery(), c.crossDocAttention(), c.checkpointing(), stopAfter);
    }

    interface OnModel {
        void run(LlamaModel m, List<Packing.Chunk> chunks) throws Exception;
    }

    /** {@code body} on the small F32 model (file {@code m-f32.gguf}) with {@code n} texts packed into 32-token chunks. */
    void onSmallModel(int n, OnModel body) throws Exception {
        try (LlamaModel m = LlamaModel.load(smallModel(TensorType.F32))) {
            body.run(m, SftData.pack(texts(n), m.tokenizer(), 32));
        }
    }

    /** Runs 2 of 6 steps into {@code dir} (a run stopped with a checkpoint) and returns its settings. */
    static SftConfig stoppedAfterTwoOfSix(LlamaModel m, List<Packing.Chunk> chunks, Path dir) throws Exception {
        SftConfig c = config(6, 2, 0.0);
        assertEquals(2, sft(m, c, chunks, dir, RunFolder.Mode.FRESH).stepsDone());
        return c;
    }

    /** --resume with a different LoRA rank, seed, learning rate or (cosine) max-steps is refused, listing old → new. */
    @Test
    void resumeRefusesChangedSettingsListingEachAndAcceptsTheWhitelist() throws Exception {
        onSmallModel(40, (m, chunks) -> {
            Path b = tmp.resolve("b");
            SftConfig base = stoppedAfterTwoOfSix(m, chunks, b);
            LoraConfig l = base.lora();
            SftConfig r8 = withLora(base, new LoraConfig(8, l.alpha(), l.dropout(), l.targets(), l.seed()));
            SftConfig seeded = with(base, 1, base.lr(), 6, base.schedule(), base.warmupSteps(), 2);
            SftConfig faster = with(base, 0, 1e-2, 6, base.schedule(), base.warmupSteps(), 2);
            SftConfig longer = with(base, 0, base.lr(), 8, base.schedule(), base.warmupSteps(), 2);
            for (var c : List.of(List.of(r8, "lora.r: 4 → 8"), List.of(seeded, "seed: 0 → 1"), List.of(faster, "lr: 0.003 → 0.01"),
                    List.of(longer, "max-steps: 6 → 8"))) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> sft(m, (SftConfig) c.get(0), chunks, b, RunFolder.Mode.RESUME));
                assertTrue(e.getMessage().contains("settings differ from the checkpoint's") && e.getMessage().contains((String) c.get(1)),
                        e.getMessage());
            }
            // the same model file under another content is another input
            Path other = tmp.resolve("other.gguf");
            RandomModel.write(new ModelShape(64, 2, 4, 2, 160, 400, 256, 10000, 1e-5, false), TensorType.Q8_0, 5, other);
            try (LlamaModel o = LlamaModel.load(other)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sft(o, base, chunks, b, RunFolder.Mode.RESUME));
                assertTrue(e.getMessage().contains("input.model: " + tmp.resolve("m-" + TensorType.F32 + ".gguf").toAbsolutePath()), e.getMessage());
            }
            // save-every and stop-after may change: the run continues to its end
            SftRun.Summary done = sft(m, with(base, 0, base.lr(), 6, base.schedule(), base.warmupSteps(), 0), chunks, b, RunFolder.Mode.RESUME);
            assertEquals(6, done.stepsDone());
            // with a constant schedule max-steps may grow: a 4-step run extended to 6 equals a 6-step run
            SftConfig constant = with(base, 0, base.lr(), 4, LrSchedule.Kind.CONSTANT, 0, 0);
            Path c4 = tmp.resolve("c4"), c6 = tmp.resolve("c6");
            sft(m, constant, chunks, c4, RunFolder.Mode.FRESH);
            sft(m, with(constant, 0, base.lr(), 6, LrSchedule.Kind.CONSTANT, 0, 0), chunks, c4, RunFolder.Mode.RESUME);
            sft(m, with(constant, 0, base.lr(), 6, LrSchedule.Kind.CONSTANT, 0, 0), chunks, c6, RunFolder.Mode.FRESH);
            assertEquals(losses(c6.resolve("metrics.jsonl")), losses(c4.resolve("metrics.jsonl")));
        });
    }

    /** A folder holding a finished run is not replaced without --overwrite; its files stay as they were. */
    @Test
    void aFinishedRunIsNotReplacedWithoutOverwrite() throws Exception {
        onSmallModel(30, (m, chunks) -> {
            Path o = tmp.resolve("o");
            sft(m, config(3, 0, 0.0), chunks, o, RunFolder.Mode.FRESH);
            byte[] adapter = Files.readAllBytes(o.resolve("adapter.gguf")), metrics = Files.readAllBytes(o.resolve("metrics.jsonl"));
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> sft(m, config(2, 0, 0.0), chunks, o, RunFolder.Mode.FRESH));
            assertTrue(e.getMessage().contains("already holds a run") && e.getMessage().contains("--overwrite")
                    && e.getMessage().contains("adapter.gguf"), e.getMessage());
            assertArrayEquals(adapter, Files.readAllBytes(o.resolve("adapter.gguf")));
            assertArrayEquals(metrics, Files.readAllBytes(o.resolve("metrics.jsonl")));
            SftRun.Summary s = sft(m, config(2, 0, 0.0), chunks, o, RunFolder.Mode.OVERWRITE);
            assertEquals(2, s.stepsDone());
            assertEquals(2, losses(o.resolve("metrics.jsonl")).size());
        });
    }

    /** The full resolved configuration is printed and stored as config.json, and in the checkpoint. */
    @Test
    void settingsArePrintedAndStoredInTheRunFolder() throws Exception {
        onSmallModel(30, (m, chunks) -> {
            Path o = tmp.resolve("o");
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            try (RunFolder f = RunFolder.open(o, RunFolder.Mode.FRESH, new PrintStream(log, true), SftRun.OUTPUTS)) {
                new SftRun(m, config(2, 0, 0.0), chunks, List.of(), f, new PrintStream(log, true)).run(null);
            }
            var json = new ObjectMapper().readTree(o.resolve("config.json").toFile());
            assertEquals("sft", json.get("command").asText());
            var st = json.get("settings");
            for (String k : List.of("seq-length", "batch-size", "lr", "schedule", "max-steps", "lora.r", "lora.alpha", "lora.targets", "seed",
                    "cross-doc-attention", "input.model", "input.init-adapter", "data.train-sequences"))
                assertTrue(st.has(k), "config.json lacks " + k + ": " + st);
            assertEquals(4, st.get("lora.r").asInt());
            assertEquals("down,q,v", st.get("lora.targets").asText());
            assertTrue(log.toString().contains("\"lora.r\" : 4"), log.toString());
            var state = Checkpoint.State.read(o.resolve("checkpoint.gguf"));
            assertEquals("4", state.settings(RunFolder.STATE_SETTINGS).get("lora.r"));
        });
    }

    /** A damaged checkpoint state is refused naming the field: an empty state, a step past the run's end. */
    @Test
    void checkpointStateIsValidatedFully() throws Exception {
        onSmallModel(40, (m, chunks) -> {
            Path b = tmp.resolve("b");
            SftConfig c = stoppedAfterTwoOfSix(m, chunks, b);
            Path ckpt = b.resolve("checkpoint.gguf");
            Map<String, String> settings = Checkpoint.State.read(ckpt).settings(RunFolder.STATE_SETTINGS);
            byte[] adapter = Files.readAllBytes(b.resolve("adapter.gguf"));
            try (LoraAdapter lora = LoraAdapter.create(m, c.lora())) {
                Checkpoint.save(ckpt, lora, Map.of());
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sft(m, c, chunks, b, RunFolder.Mode.RESUME));
                assertTrue(e.getMessage().contains(ckpt + ": the checkpoint holds no settings record"), e.getMessage());
                Map<String, Object> st = new LinkedHashMap<>();
                st.put("step", 99999);
                st.put("cursor", 8);
                st.put("forward_count", 4);
                st.put("adamw_steps", 99999);
                st.put(RunFolder.STATE_SETTINGS, typed(settings));
                Checkpoint.save(ckpt, lora, st);
                e = assertThrows(IllegalArgumentException.class, () -> sft(m, c, chunks, b, RunFolder.Mode.RESUME));
                assertTrue(e.getMessage().contains(ckpt + ": checkpoint state 'step' is 99999, expected an integer in [0, 6]"), e.getMessage());
                st.put("step", 2);
                st.remove("cursor");
                Checkpoint.save(ckpt, lora, st);
                e = assertThrows(IllegalArgumentException.class, () -> sft(m, c, chunks, b, RunFolder.Mode.RESUME));
                assertTrue(e.getMessage().contains("checkpoint state has no 'cursor'"), e.getMessage());
            }
            assertArrayEquals(adapter, Files.readAllBytes(b.resolve("adapter.gguf")), "an adapter was written from a refused checkpoint");
        });
    }

    /** The stored settings back as the JSON types they were written with. */
    static Map<String, Object> typed(Map<String, String> text) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        ObjectMapper om = new ObjectMapper();
        for (var e : text.entrySet()) {
            Object v;
            try {
                v = om.readValue(e.getValue(), Object.class);
                if (v instanceof Number || v instanceof Boolean) {
                    out.put(e.getKey(), v);
                    continue;
                }
            } catch (Exception ignored) {
                // text
            }
            out.put(e.getKey(), e.getValue());
        }
        return out;
    }

    /** A sequence longer than the model's context is refused with both figures. */
    @Test
    void seqLengthPastTheModelsContextIsRefused() throws Exception {
        try (LlamaModel m = LlamaModel.load(smallModel(TensorType.F32));
                RunFolder f = RunFolder.open(tmp.resolve("o"), RunFolder.Mode.FRESH, QUIET)) {
            SftConfig c = new SftConfig(512, 1, 1, 3e-3, LrSchedule.Kind.COSINE, 2, 0.05, 2, 1.0, config(2, 0, 0).lora(), 0, 0, 0, 0, false, false, 0);
            List<Packing.Chunk> chunks = SftData.pack(texts(200), m.tokenizer(), 512);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new SftRun(m, c, chunks, List.of(), f, QUIET));
            assertTrue(e.getMessage().contains("--seq-length 512 exceeds the model's context of 256 tokens"), e.getMessage());
        }
    }

    /** A loss that stops being a number stops the run before the update, without an adapter, keeping the last checkpoint. */
    @Test
    void aDivergedRunWritesNoAdapterAndKeepsTheLastCheckpoint() throws Exception {
        onSmallModel(40, (m, chunks) -> {
            SftConfig c = new SftConfig(32, 2, 2, 1e30, LrSchedule.Kind.CONSTANT, 0, 0.0, 6, 1.0, config(6, 0, 0).lora(), 0, 0, 0, 1, false,
                    false, 0);
            Path o = tmp.resolve("o");
            DivergedException e = assertThrows(DivergedException.class, () -> sft(m, c, chunks, o, RunFolder.Mode.FRESH));
            assertTrue(e.getMessage().matches("(?s)step \\d+: (loss|gradient norm|adapter weight .*) is (NaN|-?Infinity).*"), e.getMessage());
            assertTrue(!Files.exists(o.resolve("adapter.gguf")), "an adapter was written from a diverged state");
            if (Files.exists(o.resolve("checkpoint.gguf"))) {
                assertTrue(e.getMessage().contains("the last good checkpoint is"), e.getMessage());
                try (GgufFile f = GgufFile.open(o.resolve("checkpoint.gguf"))) {
                    for (var t : f.tensors()) for (float x : f.readFloats(t.name())) assertTrue(Float.isFinite(x), t.name());
                }
            }
        });
    }
}
