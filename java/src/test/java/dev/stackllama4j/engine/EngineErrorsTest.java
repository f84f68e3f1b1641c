package dev.stackllama4j.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.testing.SharedFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Native failures surface as typed Java exceptions carrying the engine's message. */
class EngineErrorsTest {
    @TempDir
    Path tmp;

    @Test
    void missingFileIsIoNamingThePath() {
        Path p = tmp.resolve("nope.gguf");
        EngineException e = assertThrows(EngineException.Io.class, () -> GgufFile.open(p));
        assertTrue(e.getMessage().contains("nope.gguf"), e.getMessage());
    }

    @Test
    void badMagicIsFormatNamingFileAndExpectation() throws IOException {
        Path p = tmp.resolve("bad.gguf");
        Files.write(p, "NOTAGGUFFILE-----------------------------".getBytes());
        EngineException e = assertThrows(EngineException.Format.class, () -> GgufFile.open(p));
        assertTrue(e.getMessage().contains("bad.gguf") && e.getMessage().toLowerCase().contains("magic"), e.getMessage());
        assertEquals(3, e.status());
    }

    @Test
    void truncatedModelFileIsFormat() throws IOException {
        Path src = SharedFiles.fixture("models/gqa_f32.gguf");
        byte[] all = Files.readAllBytes(src);
        Path cut = tmp.resolve("cut.gguf");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length / 2));
        EngineException e = assertThrows(EngineException.Format.class, () -> LlamaModel.load(cut));
        assertTrue(e.getMessage().contains("cut.gguf"), e.getMessage());
    }

    @Test
    void absentKeyIsNotFoundNamingTheKey() {
        try (GgufFile f = GgufFile.open(SharedFiles.fixture("models/gqa_f32.gguf"))) {
            EngineException e = assertThrows(EngineException.NotFound.class, () -> f.getLong("no.such.key"));
            assertTrue(e.getMessage().contains("no.such.key"));
            assertEquals("llama", f.getString("general.architecture"));
        }
    }

    @Test
    void nonLlamaArchitectureIsUnsupported() {
        Path p = tmp.resolve("gpt.gguf");
        try (GgufWriter w = new GgufWriter()) {
            w.putString("general.architecture", "gpt2");
            w.write(p);
        }
        EngineException e = assertThrows(EngineException.Unsupported.class, () -> LlamaModel.load(p));
        assertTrue(e.getMessage().contains("gpt2"), e.getMessage());
    }

    @Test
    void outOfVocabularyTokenIsInvalidArgumentAndSessionSurvives() {
        try (LlamaModel m = LlamaModel.load(SharedFiles.fixture("models/gqa_f32.gguf")); Session s = m.newSession(1, 8)) {
            assertThrows(EngineException.InvalidArgument.class, () -> s.decode(new int[] {1, 99999}, null, null, true));
            assertEquals(0, s.length(0));
            s.decode(new int[] {1, 2}, null, null, true);
            assertEquals(2, s.length(0));
        }
    }

    @Test
    void quantizationRoundTripsThroughTheBridge() {
        float[] v = new float[64];
        for (int i = 0; i < v.length; i++) v[i] = (float) Math.sin(i * 0.37) * 3;
        float[] back = Quantization.dequantize(TensorType.Q8_0, Quantization.quantize(TensorType.Q8_0, v), v.length);
        for (int i = 0; i < v.length; i++) assertEquals(v[i], back[i], 3.0 / 127);
        assertArrayEquals(v, Quantization.dequantize(TensorType.F32, Quantization.quantize(TensorType.F32, v), v.length));
        assertThrows(EngineException.InvalidArgument.class, () -> Quantization.quantize(TensorType.Q8_0, new float[33]));
    }

    @Test
    void matmulThroughTensorsMatchesJavaLoop() {
        try (Backend b = Backend.open(Device.CPU)) {
            float[] w = new float[32 * 3], x = new float[32 * 2];
            for (int i = 0; i < w.length; i++) w[i] = (i % 7) - 3;
            for (int i = 0; i < x.length; i++) x[i] = (i % 5) * 0.5f;
            try (Tensor W = Tensor.of(b, TensorType.Q8_0, w, 32, 3); Tensor X = Tensor.of(b, TensorType.F32, x, 32, 2);
                    Tensor O = Tensor.create(b, TensorType.F32, 3, 2)) {
                Tensor.matmul(O, W, X);
                float[] o = O.toFloats();
                float[] wq = W.toFloats();
                for (int n = 0; n < 2; n++)
                    for (int m = 0; m < 3; m++) {
                        double s = 0;
                        for (int k = 0; k < 32; k++) s += x[n * 32 + k] * wq[m * 32 + k];
                        assertEquals(s, o[n * 3 + m], 1e-4);
                    }
            }
        }
    }

    /** A model with a NaN or an infinity in a weight is refused at load, naming the tensor (generate and score never see it). */
    @Test
    void nonFiniteWeightsAreRefusedAtLoadNamingTheTensor() throws IOException {
        for (String kind : new String[] {"nan", "inf"}) {
            for (TensorType type : new TensorType[] {TensorType.F32, TensorType.Q8_0}) {
                Path p = tmp.resolve(kind + "-" + type + ".gguf");
                dev.stackllama4j.model.RandomModel.write(new dev.stackllama4j.model.ModelShape(64, 2, 4, 2, 160, 400, 256, 10000, 1e-5, false),
                        type, 3, p);
                long at;
                try (GgufFile f = GgufFile.open(p)) {
                    at = f.dataOffset() + f.tensor("blk.1.attn_v.weight").offset();
                }
                try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.WRITE)) {
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                    // an f32 value, or a q8_0 block's fp16 scale (the first two bytes of the block)
                    if (type == TensorType.F32) b.putFloat(kind.equals("nan") ? Float.NaN : Float.POSITIVE_INFINITY);
                    else b.putShort((short) (kind.equals("nan") ? 0x7E00 : 0x7C00)).putShort((short) 0);
                    b.flip();
                    ch.write(type == TensorType.F32 ? b : b.limit(2), at);
                }
                EngineException e = assertThrows(EngineException.Format.class, () -> LlamaModel.load(p));
                // in a q8_0 block the value decoded is scale × quant: ±inf, or NaN where the quant is 0
                String value = type == TensorType.F32 ? kind : kind.equals("nan") ? "nan" : "";
                assertTrue(e.getMessage().contains(p + ": tensor blk.1.attn_v.weight holds a non-finite value (" + value)
                        && e.getMessage().contains(") at element 0"), e.getMessage());
            }
        }
    }

    /** No session, hence no generate, logits or score, runs past the model's context unless it is raised explicitly. */
    @Test
    void sessionsPastTheContextAreRefused() {
        Path p = tmp.resolve("ctx64.gguf");
        dev.stackllama4j.model.RandomModel.write(new dev.stackllama4j.model.ModelShape(64, 1, 4, 2, 128, 400, 64, 10000, 1e-5, false),
                TensorType.F32, 3, p);
        try (LlamaModel m = LlamaModel.load(p)) {
            m.newSession(2, 64).close();
            EngineException e = assertThrows(EngineException.InvalidArgument.class, () -> m.newSession(1, 65));
            assertTrue(e.getMessage().contains("65 positions asked for, past the model's context of 64 tokens"), e.getMessage());
            int[] long65 = new int[65];
            java.util.Arrays.fill(long65, 5);
            assertThrows(EngineException.InvalidArgument.class, () -> m.logits(long65));
        }
        try (LlamaModel m = LlamaModel.load(p, new LlamaModel.Options(Device.AUTO, 128))) {
            m.newSession(1, 128).close();
        }
    }
}
