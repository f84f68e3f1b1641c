package dev.stackllama4j.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** GRPO and RLOO advantages against values worked out by hand. */
class GroupAdvantagesTest {
    @Test
    void grpoNormalisesWithinEachGroup() {
        // group 1: 1, 2, 3 → mean 2, unbiased std 1 → −1/1.0001, 0, 1/1.0001
        // group 2: 4, 4, 10 → mean 6, deviations −2, −2, 4, std sqrt((4 + 4 + 16) / 2) = sqrt(12) = 3.4641016151
        double[] a = GroupAdvantages.grpo(new double[] {1, 2, 3, 4, 4, 10}, 3);
        double s = 3.4641016151377544 + 1e-4;
        assertArrayEquals(new double[] {-1 / 1.0001, 0, 1 / 1.0001, -2 / s, -2 / s, 4 / s}, a, 1e-12);
    }

    @Test
    void grpoOfAGroupWithEqualRewardsIsZeroNotNaN() {
        assertArrayEquals(new double[] {0, 0}, GroupAdvantages.grpo(new double[] {0.7, 0.7}, 2), 0);
    }

    @Test
    void rlooSubtractsTheMeanOfTheOthers() {
        // group 1: 1 − (2+3)/2 = −1.5, 2 − (1+3)/2 = 0, 3 − (1+2)/2 = 1.5
        // group 2: 4 − 7 = −3, 4 − 7 = −3, 10 − 4 = 6
        double[] a = GroupAdvantages.rloo(new double[] {1, 2, 3, 4, 4, 10}, 3);
        assertArrayEquals(new double[] {-1.5, 0, 1.5, -3, -3, 6}, a, 1e-12);
        // equal to k/(k−1) times the deviation from the group mean
        assertEquals(3.0 / 2 * (10 - 6), a[5], 1e-12);
    }

    @Test
    void returnsSumEachResponsesRewardsAndAdvantagesSpreadOverItsTokens() {
        double[][] rewards = {{-0.1, -0.2, 1.5}, {0.3}};
        assertArrayEquals(new double[] {1.2, 0.3}, GroupAdvantages.returns(rewards), 1e-12);
        double[][] t = GroupAdvantages.perToken(new double[] {2, -1}, rewards);
        assertArrayEquals(new double[] {2, 2, 2}, t[0], 0);
        assertArrayEquals(new double[] {-1}, t[1], 0);
    }

    @Test
    void badGroupsAreRefusedNamingTheFlag() {
        assertEquals("a group needs at least 2 samples (--group-size), got 1",
                assertThrows(IllegalArgumentException.class, () -> GroupAdvantages.rloo(new double[] {1}, 1)).getMessage());
        assertEquals("5 returns do not form groups of 2",
                assertThrows(IllegalArgumentException.class, () -> GroupAdvantages.grpo(new double[5], 2)).getMessage());
        assertEquals("--algo grpo needs --group-size >= 2 (samples per prompt), got 1",
                assertThrows(IllegalArgumentException.class, () -> new AlgoConfig(GroupAdvantages.Algo.GRPO, 1)).getMessage());
        AlgoConfig k3 = new AlgoConfig(GroupAdvantages.Algo.RLOO, 3);
        assertEquals("--batch-size (32) must be a multiple of --group-size (3)",
                assertThrows(IllegalArgumentException.class, () -> k3.requireFits(PpoConfig.defaults())).getMessage());
        assertEquals("--algo must be ppo, grpo or rloo, got a2c",
                assertThrows(IllegalArgumentException.class, () -> GroupAdvantages.Algo.parse("a2c")).getMessage());
    }
}
