package dev.stackllama4j.rl;

/**
 * Which policy-gradient algorithm the {@code ppo} command runs, validated on construction. PPO
 * uses {@link PpoConfig} whole; GRPO and RLOO drop the value head, GAE and advantage whitening and
 * take {@link GroupAdvantages} instead, with PPO's clipped ratio objective, KL penalty (estimator,
 * β and its controller) and everything else of {@link PpoConfig}.
 *
 * @param algo ppo, grpo or rloo. Default ppo.
 * @param groupSize responses sampled per prompt; a step's {@code batchSize} responses are
 *     {@code batchSize / groupSize} prompts × {@code groupSize}. At least 2 for grpo and rloo.
 *     Default 1.
 */
public record AlgoConfig(GroupAdvantages.Algo algo, int groupSize) {
    public AlgoConfig {
        if (algo == null) throw new IllegalArgumentException("--algo must be ppo, grpo or rloo");
        if (groupSize < 1) throw new IllegalArgumentException("--group-size must be >= 1, got " + groupSize);
        if (algo != GroupAdvantages.Algo.PPO && groupSize < 2)
            throw new IllegalArgumentException("--algo " + algo.name().toLowerCase() + " needs --group-size >= 2 (samples per prompt), got "
                    + groupSize);
    }

    public static AlgoConfig defaults() {
        return new AlgoConfig(GroupAdvantages.Algo.PPO, 1);
    }

    /** Checks that a step's batch splits into whole groups. */
    public void requireFits(PpoConfig c) {
        if (c.batchSize() % groupSize != 0)
            throw new IllegalArgumentException("--batch-size (" + c.batchSize() + ") must be a multiple of --group-size (" + groupSize + ")");
    }
}
