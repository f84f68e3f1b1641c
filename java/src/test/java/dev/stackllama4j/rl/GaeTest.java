package dev.stackllama4j.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class GaeTest {
    @Test
    void threeStepsWrittenOut() {
        // r = (0, 0, 1), V = (0.5, 0.5, 0.5), γ = 1, λ = 0.5, V after the end = 0
        // t=2: δ = 1 + 0 - 0.5 = 0.5              A2 = 0.5
        // t=1: δ = 0 + 0.5 - 0.5 = 0              A1 = 0 + 0.5·0.5 = 0.25
        // t=0: δ = 0 + 0.5 - 0.5 = 0              A0 = 0 + 0.5·0.25 = 0.125
        Gae.Result g = Gae.advantages(new double[][] {{0.5, 0.5, 0.5}}, new double[][] {{0, 0, 1}}, 1.0, 0.5);
        assertArrayEquals(new double[] {0.125, 0.25, 0.5}, g.advantages()[0], 1e-15);
        assertArrayEquals(new double[] {0.625, 0.75, 1.0}, g.returns()[0], 1e-15);
    }

    @Test
    void threeStepsWithDiscount() {
        // r = (0.1, -0.2, 1.0), V = (0.3, 0.4, 0.6), γ = 0.9, λ = 0.95 (γλ = 0.855)
        // t=2: δ = 1.0 - 0.6 = 0.4                         A2 = 0.4
        // t=1: δ = -0.2 + 0.9·0.6 - 0.4 = -0.06            A1 = -0.06 + 0.855·0.4 = 0.282
        // t=0: δ = 0.1 + 0.9·0.4 - 0.3 = 0.16              A0 = 0.16 + 0.855·0.282 = 0.40111
        // second response, one token: r = 2, V = 0.5 -> A = 1.5, R = 2 (independent of the first)
        Gae.Result g = Gae.advantages(new double[][] {{0.3, 0.4, 0.6}, {0.5}}, new double[][] {{0.1, -0.2, 1.0}, {2.0}}, 0.9, 0.95);
        assertArrayEquals(new double[] {0.40111, 0.282, 0.4}, g.advantages()[0], 1e-12);
        assertArrayEquals(new double[] {0.70111, 0.682, 1.0}, g.returns()[0], 1e-12);
        assertArrayEquals(new double[] {1.5}, g.advantages()[1], 1e-15);
        assertArrayEquals(new double[] {2.0}, g.returns()[1], 1e-15);
    }

    @Test
    void lambdaOneIsMonteCarlo() {
        // γ = λ = 1: A_t = Σ_{k≥t} r_k - V_t, so returns are the rewards-to-go (3, 2, 1... here 1.5, 0.5, 1)
        Gae.Result g = Gae.advantages(new double[][] {{7, -3, 2}}, new double[][] {{1, -0.5, 1}}, 1.0, 1.0);
        assertArrayEquals(new double[] {1.5, 0.5, 1.0}, g.returns()[0], 1e-12);
        assertArrayEquals(new double[] {1.5 - 7, 0.5 + 3, 1.0 - 2}, g.advantages()[0], 1e-12);
    }

    @Test
    void trlSequenceWhitensAdvantagesNotReturns() {
        double[][] v = {{0.3, 0.4, 0.6}, {0.5}};
        double[][] r = {{0.1, -0.2, 1.0}, {2.0}};
        PpoConfig cfg = PpoConfig.builder().gamma(0.9).lam(0.95).build();
        Gae.Result g = Gae.compute(v, r, cfg);
        // raw A = (0.40111, 0.282, 0.4, 1.5), mean 0.6457775; whitened with the unbiased std
        double[] raw = {0.40111, 0.282, 0.4, 1.5};
        double m = (raw[0] + raw[1] + raw[2] + raw[3]) / 4;
        double var = 0;
        for (double x : raw) var += (x - m) * (x - m);
        var /= 3;
        assertEquals((0.282 - m) / Math.sqrt(var + 1e-8), g.advantages()[0][1], 1e-12);
        assertEquals((1.5 - m) / Math.sqrt(var + 1e-8), g.advantages()[1][0], 1e-12);
        assertArrayEquals(new double[] {0.70111, 0.682, 1.0}, g.returns()[0], 1e-12);

        Gae.Result plain = Gae.compute(v, r, cfg.toBuilder().whitenAdvantages(false).build());
        assertArrayEquals(new double[] {0.40111, 0.282, 0.4}, plain.advantages()[0], 1e-12);
        assertThrows(IllegalArgumentException.class, () -> Gae.advantages(new double[][] {{1, 2}}, new double[][] {{1}}, 1, 1));
    }

    @Test
    void whitenedRewardsKeepTheirMean() {
        // rewards (0, 4): mean 2, unbiased var 8 -> whitened, mean added back: 2 ∓ 2/√8
        double[][] r = {{0, 4}};
        PpoConfig cfg = PpoConfig.builder().whitenRewards(true).whitenAdvantages(false).gamma(1).lam(1).build();
        Gae.Result g = Gae.compute(new double[][] {{0, 0}}, r, cfg);
        double lo = 2 - 2 / Math.sqrt(8 + 1e-8), hi = 2 + 2 / Math.sqrt(8 + 1e-8);
        assertArrayEquals(new double[] {lo + hi, hi}, g.returns()[0], 1e-12);
        assertEquals(4.0, r[0][1]);   // input left alone
    }
}
