package dev.stackllama4j.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class WhitenTest {
    @Test
    void unbiasedVarianceOverAllTokensOfTheBatch() {
        // (1, 2 | 3): mean 2, unbiased var ((-1)² + 0 + 1²)/(3-1) = 1
        double s = 1 / Math.sqrt(1 + 1e-8);
        double[][] w = Whiten.whiten(new double[][] {{1, 2}, {3}}, true);
        assertArrayEquals(new double[] {-s, 0}, w[0], 1e-15);
        assertArrayEquals(new double[] {s}, w[1], 1e-15);
        double[][] kept = Whiten.whiten(new double[][] {{1, 2}, {3}}, false);
        assertArrayEquals(new double[] {2 - s, 2}, kept[0], 1e-15);
        assertArrayEquals(new double[] {2 + s}, kept[1], 1e-15);
    }

    @Test
    void besselCorrectionMatters() {
        // (0, 4): mean 2; unbiased var 8 (torch.var / masked_var), biased would be 4
        double[][] w = Whiten.whiten(new double[][] {{0, 4}}, true);
        assertEquals(-2 / Math.sqrt(8 + 1e-8), w[0][0], 1e-15);
        assertEquals(0.7071067811865476, w[0][1], 1e-8);
        assertEquals(8.0, Ragged.var(new double[][] {{0}, {4}}, true), 1e-15);
        assertEquals(4.0, Ragged.var(new double[][] {{0}, {4}}, false), 1e-15);
    }

    @Test
    void needsTwoTokens() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Whiten.whiten(new double[][] {{1}, {}}, true));
        assertEquals("whitening needs at least 2 tokens in the batch (unbiased variance), got 1", e.getMessage());
    }
}
