package dev.stackllama4j.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.GgufWriter;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.engine.TrunkId;
import dev.stackllama4j.model.ModelShape;
import dev.stackllama4j.model.Quantize;
import dev.stackllama4j.model.RandomModel;
import dev.stackllama4j.reward.RewardHead;
import dev.stackllama4j.reward.RewardModelFile;
import dev.stackllama4j.train.AdapterFile;
import dev.stackllama4j.train.LoraConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adapters and reward models record the identity of the trunk they were trained on; PPO refuses
 * to pair them with another trunk (naming both files, the key and both identities) unless told to
 * go on, and files without the record load with a warning.
 */
class TrunkIdTest {
    @TempDir
    Path tmp;

    static final ModelShape SHAPE = new ModelShape(64, 2, 4, 2, 160, 400, 256, 10000, 1e-5, false);
    static final LoraConfig LORA = new LoraConfig(4, 8f, 0f, EnumSet.of(LoraConfig.Target.Q, LoraConfig.Target.V), 1);

    Path model(String name, int seed) {
        Path f = tmp.resolve(name);
        RandomModel.write(SHAPE, TensorType.F32, seed, f);
        return f;
    }

    /** Runs {@code r} and returns what it printed on stderr. */
    static String stderrOf(ThrowingRunnable r) throws Exception {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            r.run();
        } finally {
            System.setErr(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void theIdentityFollowsTheWeightsNotJustTheShapes() throws Exception {
        Path a = model("a.gguf", 5), b = model("b.gguf", 6), copy = tmp.resolve("copy.gguf"), q8 = tmp.resolve("a-q8.gguf");
        Files.copy(a, copy);
        Quantize.quantize(a, q8, TensorType.Q8_0, null);
        String ida = TrunkId.of(a);
        assertTrue(ida.matches("[0-9a-f]{64}"), ida);
        assertEquals(ida, TrunkId.of(copy));
        assertNotEquals(ida, TrunkId.of(b), "same names, types and shapes, other weights: another trunk");
        assertNotEquals(ida, TrunkId.of(q8), "a quantized copy is another trunk");
        try (LlamaModel m = LlamaModel.load(a)) {
            assertEquals(ida, m.trunkId());
        }
    }

    @Test
    void ppoRefusesARewardModelOrSftAdapterFromAnotherTrunkUnlessAllowed() throws Exception {
        Path a = model("a.gguf", 5), b = model("b.gguf", 6);
        Path rm = tmp.resolve("reward.gguf"), sft = tmp.resolve("sft.gguf");
        try (LlamaModel m = LlamaModel.load(a); LoraAdapter lora = LoraAdapter.create(m, LORA)) {
            RewardModelFile.save(rm, lora, new RewardHead(new float[64]), 128);
            AdapterFile.save(sft, lora);
        }
        String ida = TrunkId.of(a), idb = TrunkId.of(b);
        for (Path f : new Path[] {rm, sft}) {
            try (GgufFile g = GgufFile.open(f)) {
                assertEquals(ida, g.getString(TrunkId.KEY), f + " must record the trunk it was made on");
            }
        }
        // on its own trunk: accepted without a word
        assertEquals("", stderrOf(() -> PpoSession.openSharedTrunk(a, LORA, rm).close()));
        // on another trunk: refused, naming both files, the key and both identities
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PpoSession.openSharedTrunk(b, LORA, rm));
        for (String s : new String[] {rm.toString(), b.toString(), TrunkId.KEY, ida, idb, "--allow-trunk-mismatch"})
            assertTrue(e.getMessage().contains(s), "the error must name " + s + ": " + e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> RewardFunction.learned(b, rm).close());
        assertTrue(e.getMessage().contains(idb), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PpoSession.mergeSft(b, sft, tmp.resolve("merge-b")));
        assertTrue(e.getMessage().startsWith(sft + ": " + TrunkId.KEY + " is " + ida), e.getMessage());
        // allowed: a loud warning, and the run goes on
        String warned = stderrOf(() -> PpoSession.openSharedTrunk(b, LORA, rm, TrunkId.Check.WARN).close());
        assertTrue(warned.startsWith("WARNING: " + rm + ": " + TrunkId.KEY), warned);
        warned = stderrOf(() -> PpoSession.mergeSft(b, sft, tmp.resolve("merge-b"), TrunkId.Check.WARN));
        assertTrue(warned.contains("different trunk"), warned);
        assertTrue(Files.isRegularFile(tmp.resolve("merge-b").resolve(PpoSession.MERGED_SFT)));
    }

    @Test
    void aFileWithoutTheRecordLoadsWithAWarning() throws Exception {
        Path a = model("a.gguf", 5), old = tmp.resolve("old-adapter.gguf");
        try (LlamaModel m = LlamaModel.load(a); LoraAdapter lora = LoraAdapter.create(m, LORA)) {
            // an adapter as written before the key existed: llama.cpp's keys and the tensors only
            try (GgufWriter w = new GgufWriter()) {
                w.putString("general.architecture", "llama");
                w.putString("general.type", "adapter");
                w.putString("adapter.type", "lora");
                w.putF32("adapter.lora.alpha", LORA.alpha());
                AdapterFile.addTensors(w, lora, false);
                w.write(old);
            }
        }
        String warned = stderrOf(() -> PpoSession.mergeSft(a, old, tmp.resolve("m")));
        assertTrue(warned.startsWith("warning: " + old + " records no trunk identity (" + TrunkId.KEY), warned);
        assertTrue(Files.isRegularFile(tmp.resolve("m").resolve(PpoSession.MERGED_SFT)));
    }
}
