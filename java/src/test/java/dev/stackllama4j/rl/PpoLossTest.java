package dev.stackllama4j.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class PpoLossTest {
    static final double C = 0.2, CV = 0.2, VF = 0.1, THRESH = 10;

    /**
     * Five tokens in two responses, c = cv = 0.2, vf_coef = 0.1:
     * <pre>
     *      ratio  A    -A·r   -A·clip(r)  max     | v_old v    R   v_clip (v-R)² (vc-R)² max
     *  a   1.1    2    -2.2   -2.2        -2.2    | 0     0.1  1   0.1    0.81   0.81   0.81
     *  b   1.5    1    -1.5   -1.2        -1.2 c  | 0     0.5  1   0.2    0.25   0.64   0.64 c
     *  c   1.5   -1     1.5    1.2         1.5    | 0     0.5  0   0.2    0.25   0.04   0.25
     *  d   0.5   -1     0.5    0.8         0.8 c  | 1     2.0  2   1.2    0      0.64   0.64 c
     *  e   0.5    1    -0.5   -0.8        -0.5    | 1     1.5  0   1.2    2.25   1.44   2.25
     * </pre>
     * pg_loss = (-2.2 - 1.2 + 1.5 + 0.8 - 0.5)/5 = -0.32; vf_loss = ½·(0.81+0.64+0.25+0.64+2.25)/5 = 0.459;
     * loss = -0.32 + 0.1·0.459 = -0.2741. Clipped tokens (c) have zero gradient; the others
     * d/dlp = -A·r/5 and d/dv = 0.1·(v - R)/5.
     */
    static PpoLoss.Batch handBatch() {
        double[][] old = {{-1, -1, -1}, {-1, -1}};
        double[] r = {1.1, 1.5, 1.5, 0.5, 0.5};
        double[][] lp = {{-1 + Math.log(r[0]), -1 + Math.log(r[1]), -1 + Math.log(r[2])}, {-1 + Math.log(r[3]), -1 + Math.log(r[4])}};
        return new PpoLoss.Batch(old, lp, new double[][] {{0, 0, 0}, {1, 1}}, new double[][] {{0.1, 0.5, 0.5}, {2.0, 1.5}},
                new double[][] {{2, 1, -1}, {-1, 1}}, new double[][] {{1, 1, 0}, {2, 0}}, new double[][] {{1, 2, 3}, {4, 5}});
    }

    @Test
    void clippedLossesByHand() {
        PpoLoss.Result res = PpoLoss.compute(handBatch(), C, CV, VF, THRESH);
        assertEquals(-0.32, res.pgLoss(), 1e-12);
        assertEquals(0.459, res.vfLoss(), 1e-12);
        assertEquals(-0.2741, res.loss(), 1e-12);
        assertEquals(0.4, res.clipfrac(), 1e-15);
        assertEquals(0.4, res.valClipfrac(), 1e-15);
        assertArrayEquals(new double[] {-2.2 / 5, 0, 1.5 / 5}, res.dLogprobs()[0], 1e-12);
        assertArrayEquals(new double[] {0, -0.5 / 5}, res.dLogprobs()[1], 1e-12);
        assertArrayEquals(new double[] {0.1 * -0.9 / 5, 0, 0.1 * 0.5 / 5}, res.dVpreds()[0], 1e-12);
        assertArrayEquals(new double[] {0, 0.1 * 1.5 / 5}, res.dVpreds()[1], 1e-12);

        double l11 = Math.log(1.1), l15 = Math.log(1.5), l05 = Math.log(0.5);
        assertEquals(0.5 * (l11 * l11 + 2 * l15 * l15 + 2 * l05 * l05) / 5, res.approxkl(), 1e-12);
        assertEquals(-(l11 + 2 * l15 + 2 * l05) / 5, res.policykl(), 1e-12);
        assertEquals(1.02, res.meanRatio(), 1e-12);       // (1.1 + 1.5 + 1.5 + 0.5 + 0.5)/5
        assertFalse(res.skipped());
        assertEquals(3.0, res.entropy(), 1e-15);
        assertEquals(0.4, res.advantagesMean(), 1e-15);   // (2 + 1 - 1 - 1 + 1)/5
        assertEquals(0.8, res.returnsMean(), 1e-15);
        assertEquals(0.7, res.returnsVar(), 1e-12);       // (.04+.04+.64+1.44+.64)/4
        assertEquals(0.92, res.valVpred(), 1e-12);
        assertEquals(0.712, res.valError(), 1e-12);       // (0.81+0.25+0.25+0+2.25)/5
        assertEquals(0.4, res.valMean(), 1e-15);
        assertEquals(0.3, res.valVar(), 1e-12);           // (3·.16 + 2·.36)/4
    }

    @Test
    void ratioInsideClipRangeIsPlainPolicyGradient() {
        // every ratio within [0.8, 1.2]: pg_loss = mean(-A·r), nothing clipped
        double[][] old = {{0, 0}};
        double[][] lp = {{Math.log(0.9), Math.log(1.2 - 1e-9)}};
        double[][] v = {{0, 0}};
        PpoLoss.Result res = PpoLoss.compute(new PpoLoss.Batch(old, lp, v, v, new double[][] {{1, -3}}, v, null), C, CV, VF, THRESH);
        assertEquals((-0.9 + 3 * (1.2 - 1e-9)) / 2, res.pgLoss(), 1e-12);
        assertEquals(0.0, res.clipfrac());
        assertEquals(0.0, res.vfLoss());
        assertTrue(Double.isNaN(res.entropy()));
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        Random rnd = new Random(7);
        for (int trial = 0; trial < 20; trial++) {
            int rows = 1 + rnd.nextInt(4);
            double[][][] a = new double[6][rows][];
            for (int i = 0; i < rows; i++) {
                int n = 1 + rnd.nextInt(6);
                for (int k = 0; k < 6; k++) a[k][i] = new double[n];
                for (int t = 0; t < n; t++) {
                    a[0][i][t] = -1 - rnd.nextDouble() * 3;              // old logprobs
                    a[1][i][t] = a[0][i][t] + rnd.nextGaussian() * 0.3;  // new: ratios both inside and outside [0.8, 1.2]
                    a[2][i][t] = rnd.nextGaussian();                     // old values
                    a[3][i][t] = a[2][i][t] + rnd.nextGaussian() * 0.3;  // vpreds: some outside the value clip
                    a[4][i][t] = rnd.nextGaussian();                     // advantages
                    a[5][i][t] = rnd.nextGaussian();                     // returns
                }
            }
            PpoLoss.Result res = PpoLoss.compute(new PpoLoss.Batch(a[0], a[1], a[2], a[3], a[4], a[5], null), C, CV, VF, THRESH);
            double h = 1e-6;
            for (int which : new int[] {1, 3}) {
                double[][] grad = which == 1 ? res.dLogprobs() : res.dVpreds();
                for (int i = 0; i < rows; i++) {
                    for (int t = 0; t < a[which][i].length; t++) {
                        double keep = a[which][i][t];
                        a[which][i][t] = keep + h;
                        double up = PpoLoss.compute(new PpoLoss.Batch(a[0], a[1], a[2], a[3], a[4], a[5], null), C, CV, VF, THRESH).loss();
                        a[which][i][t] = keep - h;
                        double down = PpoLoss.compute(new PpoLoss.Batch(a[0], a[1], a[2], a[3], a[4], a[5], null), C, CV, VF, THRESH).loss();
                        a[which][i][t] = keep;
                        double fd = (up - down) / (2 * h);
                        assertEquals(fd, grad[i][t], 1e-7, "trial " + trial + (which == 1 ? " dlogprob" : " dvpred") + " [" + i + "][" + t + "]");
                    }
                }
            }
        }
    }

    @Test
    void highMeanRatioSkipsTheMiniBatch() {
        // ratios e³ ≈ 20.1 and 1: mean ≈ 10.5 > 10
        double[][] old = {{0, 0}};
        double[][] lp = {{3, 0}};
        double[][] z = {{0.5, 0.5}};
        PpoLoss.Result res = PpoLoss.compute(new PpoLoss.Batch(old, lp, z, new double[][] {{1, 1}}, new double[][] {{1, 1}}, z, null),
                C, CV, VF, THRESH);
        assertTrue(res.skipped());
        assertEquals((Math.exp(3) + 1) / 2, res.meanRatio(), 1e-12);
        assertEquals(0.0, res.loss());
        assertEquals(0.0, res.pgLoss());
        assertEquals(0.0, res.vfLoss());
        assertArrayEquals(new double[] {0, 0}, res.dLogprobs()[0]);
        assertArrayEquals(new double[] {0, 0}, res.dVpreds()[0]);
        assertEquals(2.25, res.approxkl(), 1e-12);         // stats still reported: ½·mean(9, 0)
    }

    @Test
    void earlyStopAtOneAndAHalfTargetKl() {
        PpoConfig on = PpoConfig.builder().earlyStopping(true).targetKl(0.1).build();
        assertTrue(PpoLoss.earlyStop(0.1501, on));
        assertFalse(PpoLoss.earlyStop(0.1499, on));
        assertFalse(PpoLoss.earlyStop(5.0, PpoConfig.defaults()));   // off by default
    }

    @Test
    void selectsMiniBatchRows() {
        PpoLoss.Batch mb = PpoLoss.Batch.select(handBatch(), new int[] {1});
        assertEquals(1, mb.logprobs().length);
        assertArrayEquals(new double[] {2.0, 1.5}, mb.vpreds()[0]);
        // token d and e alone: pg = (0.8 - 0.5)/2
        assertEquals(0.15, PpoLoss.compute(mb, PpoConfig.defaults()).pgLoss(), 1e-12);
    }
}
