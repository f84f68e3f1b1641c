package dev.stackllama4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.GgufTensorInfo;
import dev.stackllama4j.engine.GgufValueType;
import dev.stackllama4j.engine.GgufWriter;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.Quantization;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.model.ModelShape;
import dev.stackllama4j.model.RandomModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code quantize}: the streamed conversion equals encoding the same tensors in memory. */
class QuantizeCommandTest {
    @TempDir
    Path tmp;

    /** llama.cpp's file types for the targets. */
    private static final Map<TensorType, Long> FTYPE = Map.of(TensorType.F32, 0L, TensorType.F16, 1L, TensorType.Q4_0, 2L,
            TensorType.Q8_0, 7L, TensorType.Q4_K, 15L, TensorType.Q5_K, 17L, TensorType.Q6_K, 18L, TensorType.BF16, 32L);

    @Test
    void everyTargetEqualsInMemoryEncodingWithLlamaCppTypeChoicesAndKeepsMetadata() throws Exception {
        Path f32 = tmp.resolve("m-f32.gguf");
        RandomModel.write(new ModelShape(256, 2, 4, 2, 512, 400, 128, 10000, 1e-5, false), TensorType.F32, 3, f32);
        Path tied = tmp.resolve("tied-f32.gguf");
        RandomModel.write(new ModelShape(256, 1, 4, 4, 256, 400, 128, 10000, 1e-5, true), TensorType.F32, 3, tied);
        int[] ids = {1, 300, 301, 302};
        float[][] reference;
        try (LlamaModel m = LlamaModel.load(f32)) {
            reference = m.logits(ids);
        }
        for (TensorType target : List.of(TensorType.Q4_K, TensorType.Q5_K, TensorType.Q6_K, TensorType.Q8_0, TensorType.Q4_0,
                TensorType.F16, TensorType.BF16, TensorType.F32)) {
            for (Path in : List.of(f32, tied)) {
                Path out = tmp.resolve(in.getFileName() + "." + target + ".gguf");
                CliTest.Run r = CliTest.run("quantize", "--model", in.toString(), "--out", out.toString(), "--type",
                        target.name().toLowerCase());
                assertEquals(0, r.code(), r.err());
                assertEquals("", r.err()); // no terminal here: no progress line
                boolean quantized = target.blockSize() > 1;
                try (GgufFile src = GgufFile.open(in); GgufFile q = GgufFile.open(out)) {
                    for (String key : src.keys()) {
                        if (key.equals("general.file_type")) continue;
                        assertSameValue(src, q, key);
                    }
                    assertEquals(FTYPE.get(target), q.getLong("general.file_type"));
                    assertEquals(quantized, q.has("general.quantization_version"));
                    boolean hasOutput = src.hasTensor("output.weight");
                    assertEquals(src.tensors().size(), q.tensors().size());
                    for (GgufTensorInfo t : src.tensors()) {
                        TensorType want;
                        if (t.dims().length == 1) want = TensorType.F32;
                        else if (quantized && target != TensorType.Q8_0 && (t.name().equals("output.weight")
                                || (!hasOutput && t.name().equals("token_embd.weight")))) want = TensorType.Q6_K;
                        else want = target;
                        GgufTensorInfo o = q.tensor(t.name());
                        assertEquals(want, o.type(), target + " " + in.getFileName() + " " + t.name());
                        assertArrayEquals(t.dims(), o.dims());
                        assertArrayEquals(Quantization.quantize(want, src.readFloats(t.name())), q.readBytes(t.name()),
                                target + " " + t.name());
                    }
                }
                if (in == f32) {
                    try (LlamaModel m = LlamaModel.load(out)) { // loads and computes
                        assertEquals(reference[3].length, m.logits(ids)[3].length);
                    }
                }
            }
        }
    }

    @Test
    void refusesItsInputAsOutputQuantizedInputAndBadFiles() throws Exception {
        Path m = tmp.resolve("m.gguf");
        RandomModel.write(new ModelShape(64, 1, 4, 4, 128, 400, 64, 10000, 1e-5, false), TensorType.Q8_0, 1, m);
        byte[] before = Files.readAllBytes(m);
        CliTest.Run r = CliTest.run("quantize", "--model", m.toString(), "--out", m.toString(), "--type", "q4_0");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--out") && r.err().contains("input"), r.err());
        r = CliTest.run("quantize", "--model", m.toString(), "--out", tmp.resolve("./m.gguf").toString(), "--type", "q4_0");
        assertEquals(2, r.code(), r.err());
        assertArrayEquals(before, Files.readAllBytes(m));
        // a quantized input: the file and the tensor are named
        r = CliTest.run("quantize", "--model", m.toString(), "--out", tmp.resolve("o.gguf").toString(), "--type", "q4_0");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("m.gguf") && r.err().contains("token_embd.weight") && r.err().contains("q8_0"), r.err());
        assertFalse(Files.exists(tmp.resolve("o.gguf")));
        // not a GGUF: the file is named
        Path bad = tmp.resolve("bad.gguf");
        Files.writeString(bad, "GGUF and nothing else");
        r = CliTest.run("quantize", "--model", bad.toString(), "--out", tmp.resolve("o.gguf").toString(), "--type", "q8_0");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("bad.gguf"), r.err());
        // unknown or impossible targets are usage errors
        assertEquals(2, CliTest.run("quantize", "--model", m.toString(), "--out", tmp.resolve("o.gguf").toString(), "--type",
                "q3_k").code());
        assertEquals(2, CliTest.run("quantize", "--model", m.toString(), "--out", tmp.resolve("o.gguf").toString(), "--type",
                "q9").code());
        assertEquals(2, CliTest.run("quantize", "--model", tmp.resolve("absent.gguf").toString(), "--out",
                tmp.resolve("o.gguf").toString(), "--type", "q8_0").code());
    }

    @Test
    void rowsThatDoNotFitTheBlockFallBackToQ8_0OrF16() throws Exception {
        Path in = tmp.resolve("odd.gguf");
        try (GgufWriter w = new GgufWriter()) {
            w.putString("general.architecture", "llama");
            w.addTensorNormal("a.weight", TensorType.F32, new long[] {96, 4}, 0f, 1f, 1); // 96: Q8_0 blocks, not K
            w.addTensorNormal("b.weight", TensorType.F16, new long[] {40, 4}, 0f, 1f, 1); // 40: no block fits
            w.addTensorNormal("c.bias", TensorType.F32, new long[] {256, 2}, 0f, 1f, 1);  // not a weight: kept
            w.write(in);
        }
        Path out = tmp.resolve("odd-q4k.gguf");
        assertEquals(0, CliTest.run("quantize", "--model", in.toString(), "--out", out.toString(), "--type", "q4_k").code());
        try (GgufFile q = GgufFile.open(out)) {
            assertEquals(TensorType.Q8_0, q.tensor("a.weight").type());
            assertEquals(TensorType.F16, q.tensor("b.weight").type());
            assertEquals(TensorType.F32, q.tensor("c.bias").type());
        }
    }

    private static void assertSameValue(GgufFile a, GgufFile b, String key) {
        assertTrue(b.has(key), key);
        assertEquals(a.type(key), b.type(key), key);
        if (a.type(key) != GgufValueType.ARRAY) {
            assertEquals(a.get(key), b.get(key), key);
            return;
        }
        GgufValueType e = a.arrayType(key);
        if (e == GgufValueType.STRING) assertArrayEquals(a.getStringArray(key), b.getStringArray(key), key);
        else if (e.isFloat()) assertArrayEquals(a.getFloatArray(key), b.getFloatArray(key), key);
        else assertArrayEquals(a.getIntArray(key), b.getIntArray(key), key);
    }
}
