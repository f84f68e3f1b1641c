package dev.stackllama4j.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class RewardsTest {
    static final double[][] LP = {{-1, -2, -0.5}, {-1}};
    static final double[][] REF = {{-1.5, -1, -0.5}, {-3}};

    @Test
    void klPenaltyPerTokenAndScoreOnLastToken() {
        // kl = lp - ref = [[0.5, -1, 0], [2]]; β = 0.2 -> -β·kl = [[-0.1, 0.2, 0], [-0.4]]
        Rewards.Result r = Rewards.compute(new double[] {1.0, -2.0}, LP, REF, 0.2, KlEstimator.KL);
        assertArrayEquals(new double[] {0.5, -1, 0}, r.kls()[0], 1e-15);
        assertArrayEquals(new double[] {-0.1, 0.2, 0}, r.nonScoreRewards()[0], 1e-15);
        assertArrayEquals(new double[] {-0.1, 0.2, 1.0}, r.rewards()[0], 1e-15);
        assertArrayEquals(new double[] {-0.4}, r.nonScoreRewards()[1], 1e-15);
        assertArrayEquals(new double[] {-2.4}, r.rewards()[1], 1e-15);   // -0.4 + (-2)
    }

    @Test
    void otherEstimators() {
        // abs: [[0.5, 1, 0], [2]] -> penalties [[-0.1, -0.2, 0], [-0.4]]
        Rewards.Result a = Rewards.compute(new double[] {1.0, -2.0}, LP, REF, 0.2, KlEstimator.ABS);
        assertArrayEquals(new double[] {-0.1, -0.2, 1.0}, a.rewards()[0], 1e-15);
        // mse: [[0.125, 0.5, 0], [2]] with β = 1
        Rewards.Result m = Rewards.compute(new double[] {0.0, 0.0}, LP, REF, 1.0, KlEstimator.MSE);
        assertArrayEquals(new double[] {-0.125, -0.5, 0}, m.rewards()[0], 1e-15);
        assertArrayEquals(new double[] {-2.0}, m.rewards()[1], 1e-15);
        // full: per-token KL computed by the caller
        Rewards.Result f = Rewards.fromKl(new double[] {3.0}, new double[][] {{0.25, 0.5}}, 0.4);
        assertArrayEquals(new double[] {-0.1, -0.2 + 3.0}, f.rewards()[0], 1e-15);
    }

    @Test
    void badInput() {
        assertThrows(IllegalArgumentException.class, () -> Rewards.compute(new double[] {1}, LP, REF, 0.2, KlEstimator.KL));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Rewards.fromKl(new double[] {1, 2}, new double[][] {{0.1}, {}}, 0.2));
        assertEquals("response 1 is empty: no token to put its score on", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Rewards.compute(new double[] {1, 2}, LP, REF, 0.2, KlEstimator.FULL));
    }
}
