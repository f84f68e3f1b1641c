package dev.stackllama4j.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PairwiseLossTest {
    @Test
    void lossAndGradientsByHand() {
        // pairs with r_j - r_k = 0, 2, -1:
        // loss = (log 2 + log(1+e^-2) + log(1+e^1)) / 3
        // d/dr_j = -σ(-(r_j - r_k)) / 3 = -(0.5, σ(-2), σ(1)) / 3 ; d/dr_k = the negatives
        PairwiseLoss.Result r = PairwiseLoss.compute(new double[] {1, 3, 0}, new double[] {1, 1, 1});
        double expected = (Math.log(2) + Math.log(1 + Math.exp(-2)) + Math.log(1 + Math.E)) / 3;
        assertEquals(expected, r.loss(), 1e-12);
        double s2 = 1 / (1 + Math.exp(2)), s1 = 1 / (1 + Math.exp(-1));
        assertEquals(-0.5 / 3, r.dChosen()[0], 1e-12);
        assertEquals(-s2 / 3, r.dChosen()[1], 1e-12);
        assertEquals(-s1 / 3, r.dChosen()[2], 1e-12);
        for (int i = 0; i < 3; i++) assertEquals(-r.dChosen()[i], r.dRejected()[i], 1e-15);
        // ties count as incorrect
        assertEquals(1.0 / 3, PairwiseLoss.accuracy(new double[] {1, 3, 0}, new double[] {1, 1, 1}), 1e-12);
    }

    @Test
    void gradientMatchesFiniteDifferencesAndIsStableForLargeMargins() {
        double[] j = {0.3, -2.0, 40.0, -40.0}, k = {0.1, 1.5, 0.0, 0.0};
        PairwiseLoss.Result r = PairwiseLoss.compute(j, k);
        double h = 1e-6;
        for (int i = 0; i < j.length; i++) {
            double[] jp = j.clone(), jm = j.clone();
            jp[i] += h;
            jm[i] -= h;
            double num = (PairwiseLoss.compute(jp, k).loss() - PairwiseLoss.compute(jm, k).loss()) / (2 * h);
            assertEquals(num, r.dChosen()[i], 1e-7);
        }
        // -logsigmoid(-40) = 40 + log(1 + e^-40): no overflow, no NaN
        assertEquals(40.0, PairwiseLoss.compute(new double[] {-40}, new double[] {0}).loss(), 1e-12);
        assertEquals(0.0, PairwiseLoss.compute(new double[] {40}, new double[] {0}).loss(), 1e-15);
    }
}
