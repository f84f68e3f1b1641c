package dev.stackllama4j.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PpoConfigTest {
    @Test
    void stackLlamaDefaults() {
        PpoConfig c = PpoConfig.defaults();
        assertEquals(1.4e-5, c.learningRate());
        assertEquals(32, c.batchSize());
        assertEquals(4, c.miniBatchSize());
        assertEquals(1, c.gradAccum());
        assertEquals(4, c.ppoEpochs());
        assertEquals(0.2, c.initKlCoef());
        assertTrue(c.adaptiveKl());
        assertEquals(6, c.target());
        assertEquals(10000, c.horizon());
        assertEquals(KlEstimator.KL, c.klPenalty());
        assertEquals(1.0, c.gamma());
        assertEquals(0.95, c.lam());
        assertEquals(0.2, c.cliprange());
        assertEquals(0.2, c.cliprangeValue());
        assertEquals(0.1, c.vfCoef());
        assertEquals(0.0, c.rewardBaseline());
        assertEquals(10, c.ratioThreshold());
        assertEquals(32, c.minNewTokens());
        assertEquals(128, c.maxNewTokens());
        assertTrue(c.whitenAdvantages());
        assertTrue(c.stopAtEos());
        assertEquals(4, c.backwardBatchSize());
        assertEquals(c, c.toBuilder().build());
    }

    @Test
    void errorsNameTheFlag() {
        assertMessage("--batch-size (30) must be a multiple of --mini-batch-size × --grad-accum (4 × 2)",
                PpoConfig.builder().batchSize(30).gradAccum(2));
        assertMessage("--cliprange must be in (0, 1), got 1.5", PpoConfig.builder().cliprange(1.5));
        assertMessage("--max-new-tokens (16) must be >= --min-new-tokens (32)", PpoConfig.builder().maxNewTokens(16));
        assertMessage("--score-norm needs --score-scaling (the running std it divides by)", PpoConfig.builder().scoreNorm(true));
        assertMessage("--lam must be in [0, 1], got NaN", PpoConfig.builder().lam(Double.NaN));
        assertMessage("--ratio-threshold must be > 1, got 0.5", PpoConfig.builder().ratioThreshold(0.5));
        assertMessage("--ppo-epochs must be >= 1, got 0", PpoConfig.builder().ppoEpochs(0));
        assertMessage("--target must be > 0, got 0.0", PpoConfig.builder().target(0));
    }

    private static void assertMessage(String expected, PpoConfig.Builder b) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, b::build);
        assertEquals(expected, e.getMessage());
    }
}
