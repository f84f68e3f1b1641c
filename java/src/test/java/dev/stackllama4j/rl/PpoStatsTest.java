package dev.stackllama4j.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PpoStatsTest {
    static PpoLoss.Result result(double pg, double vf, double err, double retVar, boolean skipped) {
        return new PpoLoss.Result(pg + 0.1 * vf, pg, vf, new double[0][], new double[0][], 0.25, 0.01, 0.02, 1.0, skipped, 2.0,
                0.0, 0.5, retVar, 0.3, err, 0.5, 0.4, 0.6);
    }

    @Test
    void namesAndValuesByHand() {
        double[][] lp = {{-1, -2, -0.5}, {-1}};
        double[][] ref = {{-1.5, -1, -0.5}, {-3}};
        // kl = [[0.5, -1, 0], [2]]: per sequence -0.5 and 2 -> objective/kl 0.75
        Rewards.Result r = Rewards.compute(new double[] {1, 3}, lp, ref, 0.2, KlEstimator.KL);
        PpoStats s = PpoStats.of(new double[] {2, 6}, new double[] {1, 3}, r, lp, new int[] {4, 7}, 0.2, 1.41e-5,
                List.of(result(-0.2, 1.0, 0.5, 2.0, false), result(0.0, 0.0, 1.5, 4.0, true)));
        assertEquals(0.75, s.get("objective/kl"), 1e-15);
        assertEquals(0.2, s.get("objective/kl_coef"));
        assertEquals(2.25, s.get("objective/entropy"), 1e-15);          // mean(3.5, 1)
        assertEquals(-0.075, s.get("ppo/mean_non_score_reward"), 1e-15); // mean(-0.1, 0.2, 0, -0.4)
        assertEquals(2.0, s.get("ppo/mean_scores"), 1e-15);
        assertEquals(Math.sqrt(2), s.get("ppo/std_scores"), 1e-15);     // unbiased: (1 + 1)/1
        assertEquals(4.0, s.get("env/reward_mean"), 1e-15);
        assertEquals(Math.sqrt(8), s.get("env/reward_std"), 1e-15);
        assertEquals(2.0, s.get("tokens/responses_len_mean"), 1e-15);
        assertEquals(5.5, s.get("tokens/queries_len_mean"), 1e-15);
        assertEquals(Math.sqrt(4.5), s.get("tokens/queries_len_std"), 1e-15);  // unbiased: (2.25 + 2.25)/1
        assertEquals(1.41e-5, s.get("ppo/learning_rate"));
        assertEquals(-0.1, s.get("ppo/loss/policy"), 1e-15);
        assertEquals(0.5, s.get("ppo/loss/value"), 1e-15);
        assertEquals(-0.05, s.get("ppo/loss/total"), 1e-15);            // mean(-0.1, 0)
        assertEquals(0.25, s.get("ppo/policy/clipfrac"));
        assertEquals(0.01, s.get("ppo/policy/approxkl"), 1e-15);
        assertEquals(0.02, s.get("ppo/policy/policykl"), 1e-15);
        assertEquals(2.0, s.get("ppo/policy/entropy"), 1e-15);
        assertEquals(0.5, s.get("ppo/returns/mean"), 1e-15);
        assertEquals(3.0, s.get("ppo/returns/var"), 1e-15);
        assertEquals(1.0, s.get("ppo/val/error"), 1e-15);
        assertEquals(1 - 1.0 / 3.0, s.get("ppo/val/var_explained"), 1e-15);
        assertEquals(0.4, s.get("ppo/val/mean"), 1e-15);
        assertEquals(0.6, s.get("ppo/val/var"), 1e-15);
        assertEquals(0.5, s.get("ppo/val/clipfrac"), 1e-15);
        assertEquals(1.0, s.get("ppo/minibatches_skipped"));
        for (String name : List.of("objective/kl", "objective/kl_coef", "objective/entropy", "ppo/mean_scores", "ppo/std_scores",
                "ppo/loss/policy", "ppo/loss/value", "ppo/loss/total", "ppo/policy/clipfrac", "ppo/policy/approxkl",
                "ppo/policy/policykl", "ppo/policy/entropy", "ppo/returns/mean", "ppo/returns/var", "ppo/val/mean", "ppo/val/var",
                "ppo/val/var_explained", "ppo/val/clipfrac", "env/reward_mean", "env/reward_std", "ppo/learning_rate",
                "tokens/queries_len_mean", "tokens/queries_len_std", "tokens/responses_len_mean", "tokens/responses_len_std")) {
            assertTrue(s.map().containsKey(name), name);
        }
        assertTrue(s.negativeKlWarning().isEmpty());
        assertThrows(IllegalArgumentException.class, () -> s.get("ppo/nope"));
    }

    @Test
    void negativeKlWarningExplainsTheCause() {
        assertTrue(PpoStats.negativeKlWarning(-0.5).isEmpty());
        assertTrue(PpoStats.negativeKlWarning(Double.NaN).isEmpty());
        Optional<String> w = PpoStats.negativeKlWarning(-1.7);
        assertTrue(w.isPresent());
        String msg = w.get();
        assertTrue(msg.contains("-1.700"), msg);
        assertTrue(msg.contains("top-k") && msg.contains("top-p") && msg.contains("temperature"), msg);
        assertTrue(msg.contains("minimum number of tokens"), msg);
    }
}
