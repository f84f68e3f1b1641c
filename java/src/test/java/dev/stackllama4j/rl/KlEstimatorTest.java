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
    void fullKlByHand() {
        // p = (1/2, 1/2), q = (1/4, 3/4): ½ln(½/¼) + ½ln(½/¾) = ½ln2 + ½ln(2/3) = ½ln(4/3)
        float[] p = {(float) Math.log(0.5), (float) Math.log(0.5)};
        float[] q = {(float) Math.log(0.25), (float) Math.log(0.75)};
        assertEquals(0.5 * Math.log(4.0 / 3.0), KlEstimator.full(p, q), 1e-6);
        // p = (1, 0), q = (½, ½): only the first term counts, ln 2; the p = 0 term is 0, not NaN
        float[] p2 = {0f, Float.NEGATIVE_INFINITY};
        float[] q2 = {(float) Math.log(0.5), (float) Math.log(0.5)};
        assertEquals(Math.log(2), KlEstimator.full(p2, q2), 1e-6);
        assertEquals(0.0, KlEstimator.full(q, q), 1e-12);
        assertTrue(KlEstimator.full(q, p) > 0);
        // from logits through LogProbs: logits (0, ln3) are p = (1/4, 3/4)
        float[] lq = LogProbs.logSoftmax(new float[] {0f, (float) Math.log(3)});
        assertEquals(Math.log(0.25), lq[0], 1e-6);
        assertEquals(0.5 * Math.log(4.0 / 3.0), KlEstimator.full(p, lq), 1e-6);
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
        assertThrows(IllegalArgumentException.class, () -> KlEstimator.full(new float[2], new float[3]));
        e = assertThrows(IllegalArgumentException.class,
                () -> KlEstimator.KL.perToken(new double[][] {{1, 2}}, new double[][] {{1}}));
        assertTrue(e.getMessage().contains("row 0"), e.getMessage());
    }
}
