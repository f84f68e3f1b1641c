package dev.stackllama4j.rl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The pieces composed into a whole PPO loop on a toy policy (independent softmax per position,
 * 4 tokens, 3 positions; score = fraction of tokens equal to 2), with gradient descent through
 * the returned d loss/d logprob and d loss/d vpred. Checks the signs fit together: descending the
 * loss raises the reward, while the KL penalty keeps the policy a bounded distance from the start.
 */
class ToyPpoTest {
    static final int V = 4, T = 3, GOOD = 2;

    @Test
    void rewardRisesAndKlStaysBounded() {
        PpoConfig cfg = PpoConfig.builder().batchSize(16).miniBatchSize(4).ppoEpochs(4).seed(3).build();
        Random rng = new Random(cfg.seed());
        double[][] theta = new double[T][V];       // policy logits; the reference is the uniform start
        double[] w = new double[T];                // value per position
        KlController kl = KlController.of(cfg);
        double lr = 0.5;
        List<Double> meanScores = new ArrayList<>();
        double lastKl = 0;
        for (int step = 0; step < 40; step++) {
            int bs = cfg.batchSize();
            int[][] tok = new int[bs][T];
            double[][] lp = new double[bs][T], ref = new double[bs][T], val = new double[bs][T];
            double[] scores = new double[bs];
            for (int i = 0; i < bs; i++) {
                for (int t = 0; t < T; t++) {
                    double[] p = softmax(theta[t]);
                    double u = rng.nextDouble(), c = 0;
                    int v = V - 1;
                    for (int k = 0; k < V; k++) {
                        c += p[k];
                        if (u < c) { v = k; break; }
                    }
                    tok[i][t] = v;
                    lp[i][t] = Math.log(p[v]);
                    ref[i][t] = Math.log(1.0 / V);
                    val[i][t] = w[t];
                    if (v == GOOD) scores[i] += 1.0 / T;
                }
            }
            Rewards.Result rw = Rewards.compute(scores, lp, ref, kl.value(), cfg.klPenalty());
            Gae.Result g = Gae.compute(val, rw.rewards(), cfg);
            List<PpoLoss.Result> train = new ArrayList<>();
            for (int epoch = 0; epoch < cfg.ppoEpochs(); epoch++) {
                for (int[] mb : Minibatches.shuffled(bs, cfg.miniBatchSize(), rng)) {
                    double[][] newLp = new double[mb.length][T], vpred = new double[mb.length][T];
                    for (int j = 0; j < mb.length; j++) {
                        for (int t = 0; t < T; t++) {
                            newLp[j][t] = Math.log(softmax(theta[t])[tok[mb[j]][t]]);
                            vpred[j][t] = w[t];
                        }
                    }
                    PpoLoss.Result res = PpoLoss.compute(new PpoLoss.Batch(Ragged.select(lp, mb), newLp, Ragged.select(val, mb), vpred,
                            Ragged.select(g.advantages(), mb), Ragged.select(g.returns(), mb), null), cfg);
                    train.add(res);
                    // chain rule: d logp(v)/d logit(k) = [k == v] - p(k)
                    for (int j = 0; j < mb.length; j++) {
                        for (int t = 0; t < T; t++) {
                            double[] p = softmax(theta[t]);
                            for (int k = 0; k < V; k++) {
                                theta[t][k] -= lr * res.dLogprobs()[j][t] * ((k == tok[mb[j]][t] ? 1 : 0) - p[k]);
                            }
                            w[t] -= lr * 10 * res.dVpreds()[j][t];
                        }
                    }
                }
            }
            PpoStats stats = PpoStats.of(scores, scores, rw, lp, new int[scores.length], kl.value(), lr, train);
            kl.update(stats.get("objective/kl"), bs);
            meanScores.add(stats.get("ppo/mean_scores"));
            lastKl = stats.get("objective/kl");
        }
        // With a per-token reward and a factorised policy, the KL-regularised optimum is per position
        // π*(v) ∝ π_ref(v)·exp(r(v)/β): r(GOOD) = 1/3, uniform π_ref, so π*(GOOD) = e^{1/(3β)}/(e^{1/(3β)} + 3).
        double e = Math.exp(1.0 / (3 * kl.value()));
        double optimum = e / (e + V - 1);
        double pGood = 0;
        for (int t = 0; t < T; t++) pGood += softmax(theta[t])[GOOD] / T;
        System.out.printf("toy PPO: mean score %.3f -> %.3f, P(good) %.3f vs KL-regularised optimum %.3f, KL %.3f, beta %.4f%n",
                meanScores.get(0), avg(meanScores.subList(30, 40)), pGood, optimum, lastKl, kl.value());
        assertTrue(meanScores.get(0) < 0.35, "starts near the uniform policy's 0.25: " + meanScores.get(0));
        assertTrue(avg(meanScores.subList(30, 40)) > 0.5, "mean score should rise: " + meanScores);
        assertTrue(Math.abs(pGood - optimum) < 0.08, "P(good) " + pGood + " should settle near the optimum " + optimum);
        assertTrue(lastKl > 0 && lastKl < T * Math.log(V), "KL out of bounds: " + lastKl);
    }

    static double[] softmax(double[] x) {
        double m = Double.NEGATIVE_INFINITY, s = 0;
        for (double v : x) m = Math.max(m, v);
        double[] p = new double[x.length];
        for (int k = 0; k < x.length; k++) s += p[k] = Math.exp(x[k] - m);
        for (int k = 0; k < x.length; k++) p[k] /= s;
        return p;
    }

    static double avg(List<Double> xs) {
        return xs.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    }
}
