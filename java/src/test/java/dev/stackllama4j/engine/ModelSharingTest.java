package dev.stackllama4j.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.testing.SharedFiles;
import dev.stackllama4j.train.LoraConfig;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** A loaded model is shared read-only; what varies per use (the adapter) lives in sessions. */
class ModelSharingTest {
    static final int[] SEQ = {1, 72, 101, 40, 7, 99, 13, 55, 201, 3, 17, 64};

    /** An adapter with random A and B (a fresh one has B = 0 and would equal the base model). */
    static LoraAdapter randomAdapter(LlamaModel m, long seed) {
        LoraAdapter a = LoraAdapter.create(m, new LoraConfig(4, 8f, 0f, EnumSet.allOf(LoraConfig.Target.class), seed));
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < a.tensors().size(); i++) {
            float[] v = new float[(int) a.tensors().get(i).elements()];
            for (int k = 0; k < v.length; k++) v[k] = (float) (r.nextDouble() - 0.5) * 0.2f;
            a.set(i, LoraAdapter.Field.VALUE, v);
        }
        return a;
    }

    @Test
    void sessionSettingsAreFixedAtLoadNotMutableOnASharedModel() {
        // a model shared across threads must not change under them: no public mutator
        for (java.lang.reflect.Method meth : LlamaModel.class.getMethods())
            assertFalse(meth.getName().startsWith("use") || meth.getName().startsWith("set"),
                    "LlamaModel." + meth.getName() + " mutates a shared model; put it in LlamaModel.Options or the session");
        java.nio.file.Path f = SharedFiles.fixture("models/gqa_f32.gguf");
        try (LlamaModel f16 = LlamaModel.load(f);
                LlamaModel f32 = LlamaModel.load(f, LlamaModel.Options.defaults().withKvType(KvType.F32).withPrecision(Precision.FAST))) {
            assertEquals(KvType.F16, f16.kvType());
            assertEquals(Precision.EXACT, f16.precision());
            assertEquals(KvType.F32, f32.kvType());
            assertEquals(Precision.FAST, f32.precision());
            // the KV cache type reaches the sessions: an F16 cache rounds the keys and values
            assertFalse(java.util.Arrays.equals(f16.logProbs(SEQ), f32.logProbs(SEQ)));
        }
        assertThrows(IllegalArgumentException.class, () -> new LlamaModel.Options(Device.CPU, 0, null, Precision.EXACT));
        assertThrows(IllegalArgumentException.class, () -> new LlamaModel.Options(Device.CPU, 0, KvType.F16, null));
    }

    @Test
    void twoThreadsDecodeDifferentAdaptersOnOneModel() throws Exception {
        try (LlamaModel m = LlamaModel.load(SharedFiles.fixture("models/gqa_f32.gguf"));
                LoraAdapter a = randomAdapter(m, 1); LoraAdapter b = randomAdapter(m, 2)) {
            float[] refA = m.logProbs(SEQ, a), refB = m.logProbs(SEQ, b), refBase = m.logProbs(SEQ);
            assertFalse(java.util.Arrays.equals(refA, refB), "the two adapters must change the outputs differently");
            assertFalse(java.util.Arrays.equals(refA, refBase));
            ExecutorService pool = Executors.newFixedThreadPool(3);
            try {
                List<Future<?>> runs = new ArrayList<>();
                LoraAdapter[] adapters = {a, b, null};
                float[][] refs = {refA, refB, refBase};
                for (int t = 0; t < 3; t++) {
                    int k = t;
                    runs.add(pool.submit(() -> {
                        for (int it = 0; it < 40; it++) {
                            try (Session s = m.newSession(1, SEQ.length, adapters[k])) {
                                boolean[] out = new boolean[SEQ.length];
                                java.util.Arrays.fill(out, 0, SEQ.length - 1, true);
                                s.decode(SEQ, null, out, true);
                                float[] lp = s.logProbs(java.util.Arrays.copyOfRange(SEQ, 1, SEQ.length));
                                assertArrayEquals(refs[k], lp, "thread " + k + " iteration " + it);
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : runs) f.get();
            } finally {
                pool.shutdown();
            }
            assertEquals(0, m.openSessions());
        }
    }

    @Test
    void closeWithOpenSessionsFailsClearly() {
        LlamaModel m = LlamaModel.load(SharedFiles.fixture("models/gqa_f32.gguf"));
        Session s = m.newSession(1, 8);
        IllegalStateException e = assertThrows(IllegalStateException.class, m::close);
        assertTrue(e.getMessage().contains("1 open session"), e.getMessage());
        assertEquals(2, m.logProbs(new int[] {1, 5, 6}).length, "the model still works after the refused close");
        s.close();
        m.close();
        assertThrows(IllegalStateException.class, () -> m.logits(new int[] {1}));
        m.close(); // twice is a no-op
    }

    @Test
    void loadingNeverResetsTheSharedThreadPool() {
        try (LlamaModel m = LlamaModel.load(SharedFiles.fixture("models/gqa_f32.gguf"))) {
            int before = Backend.threads();
            try (LlamaModel other = LlamaModel.load(SharedFiles.fixture("models/untied_f16.gguf"))) {
                assertEquals(before, Backend.threads());
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Backend.setThreads(before + 1));
            assertTrue(e.getMessage().contains("before loading"), e.getMessage());
            Backend.setThreads(before); // the current value is accepted and changes nothing
            assertEquals(before, Backend.threads());
        }
    }

    private static void leakASession(LlamaModel m) {
        m.newSession(1, 8); // never closed
    }

    @Test
    void anUnclosedSessionIsFreedByTheCleanerWithAWarning() throws InterruptedException {
        try (LlamaModel m = LlamaModel.load(SharedFiles.fixture("models/gqa_f32.gguf"))) {
            long leaks = NativeHandle.leaksCleaned();
            leakASession(m);
            assertEquals(1, m.openSessions());
            for (int i = 0; i < 200 && m.openSessions() > 0; i++) {
                System.gc();
                Thread.sleep(10);
            }
            assertEquals(0, m.openSessions(), "the Cleaner should have freed the session");
            assertTrue(NativeHandle.leaksCleaned() > leaks);
            assertTrue(NativeHandle.recentLeakMessages().stream()
                            .anyMatch(w -> w.startsWith("a Session was garbage-collected without close()")),
                    NativeHandle.recentLeakMessages().toString());
        }
    }
}
