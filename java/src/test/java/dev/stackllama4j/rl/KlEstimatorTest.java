package dev.stackllama4j.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class KlEstimatorTest {
    @Test
    void sampledTokenEstimatorsByHand() {
        // lp = -1, ref = -1.5: d = 0.5
        assertEquals(0.5, KlEstimator.KL.perToken(-1.0, -1.5), 1e-15);
        assertEquals(0.5, KlEstimator.ABS.perToken(-1.0, -1.5), 1e-15);
        assertEquals(0.125, KlEstimator.MSE.perToken(-1.0, -1.5), 1e-15);
        // lp = -2, ref = -1: d = -1; kl is the only one that can go negative
        assertEquals(-1.0, KlEstimator.KL.perToken(-2.0, -1.0), 1e-15);
        assertEquals(1.0, KlEstimator.ABS.perToken(-2.0, -1.0), 1e-15);
        assertEquals(0.5, KlEstimator.MSE.perToken(-2.0, -1.0), 1e-15);

        double[][] kl = KlEstimator.KL.perToken(new double[][] {{-1, -2}, {-0.5}}, new double[][] {{-1.5, -1}, {-0.5}});
        assertArrayEquals(new double[] {0.5, -1.0}, kl[0], 1e-15);
        assertArrayEquals(new double[] {0.0}, kl[1], 1e-15);
    }

    @Test
    void fullKlReferenceByHand() {
        // p = (1/2, 1/2), q = (1/4, 3/4) from logits (0, 0) and (0, ln 3): ½ln(½/¼) + ½ln(½/¾) = ½ln(4/3)
        float[] p = {0f, 0f}, q = {0f, (float) Math.log(3)};
        assertEquals(0.5 * Math.log(4.0 / 3.0), LogProbs.fullKl(p, q), 1e-7);
        // p = (1, 0), q = (½, ½): only the first term counts, ln 2; the p = 0 term is 0, not NaN
        assertEquals(Math.log(2), LogProbs.fullKl(new float[] {0f, Float.NEGATIVE_INFINITY}, p), 1e-12);
        assertEquals(0.0, LogProbs.fullKl(q, q), 1e-15);
        assertTrue(LogProbs.fullKl(q, p) > 0);
        assertEquals(Math.log(0.25), LogProbs.logSoftmax(q)[0], 1e-7);
        assertThrows(IllegalArgumentException.class, () -> LogProbs.fullKl(new float[2], new float[3]));
    }

    @Test
    void entropyFromLogitsByHand() {
        // uniform over 4: ln 4; p = (1/4, 3/4): -(¼ln¼ + ¾ln¾)
        assertEquals(Math.log(4), LogProbs.entropyFromLogits(new float[] {2f, 2f, 2f, 2f}), 1e-6);
        double h = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
        assertEquals(h, LogProbs.entropyFromLogits(new float[] {100f, 100f + (float) Math.log(3)}), 1e-5);
    }

    @Test
    void parseAndErrors() {
        assertEquals(KlEstimator.FULL, KlEstimator.parse("Full"));
        assertEquals("mse", KlEstimator.MSE.flag());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KlEstimator.parse("k3"));
        assertTrue(e.getMessage().contains("--kl-penalty"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> KlEstimator.FULL.perToken(-1, -1));
        e = assertThrows(IllegalArgumentException.class,
                () -> KlEstimator.KL.perToken(new double[][] {{1, 2}}, new double[][] {{1}}));
        assertTrue(e.getMessage().contains("row 0"), e.getMessage());
    }
}
