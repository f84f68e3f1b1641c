package dev.stackllama4j.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ScoresTest {
    static final double EPS = Math.ulp(1.0f);

    @Test
    void baselineOnly() {
        assertArrayEquals(new double[] {0.5, -1.5}, Scores.subtractBaseline(new double[] {1, -1}, 0.5), 1e-15);
        Scores s = new Scores(PpoConfig.defaults());
        assertArrayEquals(new double[] {3, -7}, s.process(new double[] {3, -7}), 0);   // no scaling, no clip
    }

    @Test
    void runningMomentsByHand() {
        Scores.RunningMoments m = new Scores.RunningMoments();
        // first batch (1, 2, 3) replaces the prior: mean 2, biased var 2/3, std (unbiased over 3) = 1
        double[] batch = m.update(new double[] {1, 2, 3});
        assertEquals(2.0, batch[0], 1e-12);
        assertEquals(1.0, batch[1], 1e-12);
        assertEquals(2.0, m.mean(), 1e-12);
        assertEquals(1.0, m.std(), 1e-12);
        // then (5, 5): together (1, 2, 3, 5, 5): mean 3.2, unbiased var 12.8/4 = 3.2
        m.update(new double[] {5, 5});
        assertEquals(3.2, m.mean(), 1e-12);
        assertEquals(Math.sqrt(3.2), m.std(), 1e-12);
        assertEquals(2.56, m.var(), 1e-12);
    }

    @Test
    void scalingNormAndClip() {
        double[] x = {1, 2, 3};
        Scores scale = new Scores(PpoConfig.builder().scoreScaling(true).build());
        assertArrayEquals(new double[] {1 / (1 + EPS), 2 / (1 + EPS), 3 / (1 + EPS)}, scale.process(x), 1e-12);
        Scores norm = new Scores(PpoConfig.builder().scoreScaling(true).scoreNorm(true).build());
        assertArrayEquals(new double[] {-1 / (1 + EPS), 0, 1 / (1 + EPS)}, norm.process(x), 1e-12);
        Scores clip = new Scores(PpoConfig.builder().scoreScaling(true).scoreNorm(true).scoreClip(0.5).build());
        assertArrayEquals(new double[] {-0.5, 0, 0.5}, clip.process(x), 1e-12);
        Scores clipOnly = new Scores(PpoConfig.builder().scoreClip(2).build());
        assertArrayEquals(new double[] {1, 2, 2}, clipOnly.process(x), 0);
        assertArrayEquals(new double[] {1, 2, 3}, x, 0);   // input left alone
    }
}
