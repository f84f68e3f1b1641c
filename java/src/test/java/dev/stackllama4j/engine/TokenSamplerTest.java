package dev.stackllama4j.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.inference.Sampling;
import dev.stackllama4j.testing.SharedFiles;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A batch of picks in one native call is the same as the picks one by one. */
class TokenSamplerTest {
    static final Sampling[] CONTROLS = {
        Sampling.builder().temperature(0.8).topK(40).topP(0.9).seed(7).build(),
        Sampling.builder().temperature(1.2).repeatPenalty(1.3).frequencyPenalty(0.2).presencePenalty(0.1)
                .logitBias(Map.of(5, 2f)).seed(8).build(),
        Sampling.builder().temperature(0.7).minP(0.05).seed(9).build(),
    };

    /** 30 steps of three sequences; batch: one sampleBatch per step, else sample() per row. */
    static int[] run(LlamaModel m, boolean batch, float[] logProbs) {
        TokenSampler[] s = new TokenSampler[3];
        for (int i = 0; i < 3; i++) s[i] = TokenSampler.create(m, CONTROLS[i]);
        int[] picked = new int[90];
        try (Session session = m.newSession(3, 64)) {
            session.decode(new int[] {1, 20, 1, 30, 1, 40}, new int[] {0, 0, 1, 1, 2, 2},
                    new boolean[] {false, true, false, true, false, true}, true);
            for (int step = 0; step < 30; step++) {
                TokenSampler.Pick[] p = new TokenSampler.Pick[3];
                if (batch) p = TokenSampler.sampleBatch(s, session, new int[] {0, 1, 2}, new int[] {-1, -1, -1});
                else for (int i = 0; i < 3; i++) p[i] = s[i].sample(session, i, -1, 0);
                int[] next = new int[3];
                for (int i = 0; i < 3; i++) {
                    s[i].accept(p[i].token());
                    next[i] = p[i].token();
                    picked[step * 3 + i] = p[i].token();
                    logProbs[step * 3 + i] = p[i].logProb();
                }
                session.decode(next, new int[] {0, 1, 2}, null, true);
            }
        } finally {
            for (TokenSampler t : s) t.close();
        }
        return picked;
    }

    @Test
    void sampleBatchEqualsPickByPickAndChecksItsArguments() {
        try (LlamaModel m = LlamaModel.load(SharedFiles.fixture("models/gqa_f32.gguf"))) {
            float[] lpBatch = new float[90], lpOne = new float[90];
            int[] batch = run(m, true, lpBatch), one = run(m, false, lpOne);
            assertArrayEquals(one, batch);
            assertArrayEquals(lpOne, lpBatch);
            long distinct = java.util.Arrays.stream(batch).distinct().count();
            assertTrue(distinct > 10, "a seeded draw, not a constant: " + distinct + " distinct tokens");
            for (float lp : lpBatch) assertTrue(lp < 0, "log-probs of the model: " + lp);

            try (TokenSampler s = TokenSampler.create(m, CONTROLS[0]); Session session = m.newSession(1, 8)) {
                session.decode(new int[] {1}, null, null, true);
                TokenSampler[] one1 = {s};
                assertThrows(IllegalArgumentException.class,
                        () -> TokenSampler.sampleBatch(one1, session, new int[] {0, 0}, new int[] {-1}));
                EngineException.InvalidArgument e = assertThrows(EngineException.InvalidArgument.class,
                        () -> TokenSampler.sampleBatch(one1, session, new int[] {1}, new int[] {-1}));
                assertTrue(e.getMessage().contains("row 1"), e.getMessage());
                // banned: never picked
                TokenSampler.Pick p = TokenSampler.sampleBatch(one1, session, new int[] {0}, new int[] {-1})[0];
                for (int i = 0; i < 20; i++)
                    assertTrue(TokenSampler.sampleBatch(one1, session, new int[] {0}, new int[] {p.token()})[0].token() != p.token());
                assertEquals(0, p.topIds().length);
            }
        }
    }
}
