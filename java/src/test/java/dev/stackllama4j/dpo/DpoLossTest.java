package dev.stackllama4j.dpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.stackllama4j.train.LrSchedule;
import org.junit.jupiter.api.Test;

/** The losses against values worked out by hand (β 0.1; pair 1: h = 2, pair 2: h = −1). */
class DpoLossTest {
    // pair 1: π_c −10, π_r −12, ref −11 / −11 → h = 2, β·h = 0.2; pair 2: π_c −5, π_r −4, ref −5 / −5 → h = −1, β·h = −0.1
    static final double[] PC = {-10, -5}, PR = {-12, -4}, RC = {-11, -5}, RR = {-11, -5};

    @Test
    void sigmoidMatchesHandComputation() {
        DpoLoss.Result r = DpoLoss.compute(PC, PR, RC, RR, DpoLoss.Kind.SIGMOID, 0.1, 0);
        // −logσ(0.2) = ln(1 + e^−0.2) = 0.5981388693, −logσ(−0.1) = ln(1 + e^0.1) = 0.7443966600
        assertEquals((0.5981388693 + 0.7443966600) / 2, r.loss(), 1e-9);
        // d/dh = −β·σ(−β·h): σ(−0.2) = 0.4501660027, σ(0.1) = 0.5249791875; mean over 2 pairs
        assertEquals(-0.1 * 0.4501660027 / 2, r.dChosen()[0], 1e-10);
        assertEquals(0.1 * 0.4501660027 / 2, r.dRejected()[0], 1e-10);
        assertEquals(-0.1 * 0.5249791875 / 2, r.dChosen()[1], 1e-10);
        // rewards: pair 1 chosen 0.1, rejected −0.1; pair 2 chosen 0, rejected 0.1
        assertEquals(0.05, r.rewardsChosen(), 1e-12);
        assertEquals(0.0, r.rewardsRejected(), 1e-12);
        assertEquals(0.05, r.margin(), 1e-12);
        assertEquals(0.5, r.accuracy(), 0);
        assertEquals(-7.5, r.logpsChosen(), 0);
        assertEquals(-8.0, r.logpsRejected(), 0);
    }

    @Test
    void labelSmoothingIsConservativeDpo() {
        DpoLoss.Result r = DpoLoss.compute(PC, PR, RC, RR, DpoLoss.Kind.SIGMOID, 0.1, 0.1);
        // 0.9·ln(1 + e^−0.2) + 0.1·ln(1 + e^0.2) = 0.9·0.5981388693 + 0.1·0.7981388693 = 0.6181388693
        // 0.9·ln(1 + e^0.1) + 0.1·ln(1 + e^−0.1) = 0.9·0.7443966600 + 0.1·0.6443966600 = 0.7343966600
        assertEquals((0.6181388693 + 0.7343966600) / 2, r.loss(), 1e-9);
        // d/dh = −0.9·β·σ(−β·h) + 0.1·β·σ(β·h): pair 1 −0.09·0.4501660027 + 0.01·0.5498339973
        assertEquals((-0.09 * 0.4501660027 + 0.01 * 0.5498339973) / 2, r.dChosen()[0], 1e-10);
    }

    @Test
    void hingeMatchesHandComputation() {
        // max(0, 1 − 0.2) = 0.8, max(0, 1 + 0.1) = 1.1; both inside the margin: d/dh = −β
        DpoLoss.Result r = DpoLoss.compute(PC, PR, RC, RR, DpoLoss.Kind.HINGE, 0.1, 0);
        assertEquals((0.8 + 1.1) / 2, r.loss(), 1e-12);
        assertEquals(-0.05, r.dChosen()[0], 1e-12);
        assertEquals(0.05, r.dRejected()[1], 1e-12);
        // past the margin (β·h = 2 > 1): no loss, no gradient
        DpoLoss.Result far = DpoLoss.compute(new double[] {0}, new double[] {-20}, new double[] {0}, new double[] {0},
                DpoLoss.Kind.HINGE, 0.1, 0);
        assertEquals(0, far.loss(), 0);
        assertEquals(0, far.dChosen()[0], 0);
    }

    @Test
    void ipoMatchesHandComputation() {
        // 1/(2β) = 5: (2 − 5)² = 9, (−1 − 5)² = 36; d/dh = 2(h − 5): −6, −12
        DpoLoss.Result r = DpoLoss.compute(PC, PR, RC, RR, DpoLoss.Kind.IPO, 0.1, 0);
        assertEquals((9 + 36) / 2.0, r.loss(), 1e-12);
        assertEquals(-3, r.dChosen()[0], 1e-12);
        assertEquals(6, r.dRejected()[1], 1e-12);
    }

    @Test
    void gradientsMatchFiniteDifferencesForEveryKind() {
        double[] pc = {-3.2, -7.1, -1.0}, pr = {-4.0, -6.0, -9.5}, rc = {-3.0, -7.5, -2.0}, rr = {-3.9, -5.0, -9.0};
        for (DpoLoss.Kind k : DpoLoss.Kind.values()) {
            double ls = k == DpoLoss.Kind.SIGMOID ? 0.2 : 0;
            DpoLoss.Result r = DpoLoss.compute(pc, pr, rc, rr, k, 0.7, ls);
            for (int i = 0; i < 3; i++) {
                double e = 1e-6;
                double[] a = pc.clone(), b = pc.clone();
                a[i] += e;
                b[i] -= e;
                double fd = (DpoLoss.compute(a, pr, rc, rr, k, 0.7, ls).loss() - DpoLoss.compute(b, pr, rc, rr, k, 0.7, ls).loss()) / (2 * e);
                assertEquals(fd, r.dChosen()[i], 1e-7, k + " chosen " + i);
                a = pr.clone();
                b = pr.clone();
                a[i] += e;
                b[i] -= e;
                fd = (DpoLoss.compute(pc, a, rc, rr, k, 0.7, ls).loss() - DpoLoss.compute(pc, b, rc, rr, k, 0.7, ls).loss()) / (2 * e);
                assertEquals(fd, r.dRejected()[i], 1e-7, k + " rejected " + i);
            }
        }
    }

    @Test
    void stableForLargeLogRatios() {
        DpoLoss.Result r = DpoLoss.compute(new double[] {0}, new double[] {-1e4}, new double[] {0}, new double[] {0},
                DpoLoss.Kind.SIGMOID, 1, 0);
        assertEquals(0, r.loss(), 1e-300);
        r = DpoLoss.compute(new double[] {-1e4}, new double[] {0}, new double[] {0}, new double[] {0}, DpoLoss.Kind.SIGMOID, 1, 0);
        assertEquals(1e4, r.loss(), 1e-6);
        assertEquals(-1, r.dChosen()[0], 1e-12);
    }

    @Test
    void configRejectsBadSettingsNamingTheFlag() {
        DpoConfig d = DpoConfig.defaults();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new DpoConfig(0, d.lossType(), 0, d.lr(),
                d.batchSize(), d.gradAccum(), d.epochs(), d.schedule(), d.warmupSteps(), d.weightDecay(), d.maxLength(), d.maxGradNorm(),
                0, 0, d.lora(), 0, 0));
        assertEquals("--beta must be > 0, got 0.0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new DpoConfig(0.1, DpoLoss.Kind.IPO, 0.1, d.lr(), 4, 4, 1,
                LrSchedule.Kind.COSINE, 0, 0, 512, 1, 0, 0, d.lora(), 0, 0));
        assertEquals("--label-smoothing applies to --loss-type sigmoid only (got ipo)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DpoLoss.Kind.parse("kto"));
        assertEquals("--loss-type must be sigmoid, hinge or ipo, got kto", e.getMessage());
    }
}
