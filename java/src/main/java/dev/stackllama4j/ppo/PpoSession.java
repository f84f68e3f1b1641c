package dev.stackllama4j.ppo;

import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.TrunkId;
import dev.stackllama4j.reward.RewardHead;
import dev.stackllama4j.rl.PpoConfig;
import dev.stackllama4j.train.AdapterFile;
import dev.stackllama4j.train.LoraConfig;
import dev.stackllama4j.train.Merge;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything a PPO run holds open: the policy trunk (the base with the SFT adapter merged, as
 * StackLLaMA does), the PPO adapter and value head, and the reward function. Shared by the
 * {@code ppo} command and the demo.
 */
public final class PpoSession implements AutoCloseable {
    private final LlamaModel model;
    private final LoraAdapter lora;
    private final Policy policy;
    private final RewardFunction reward;

    private PpoSession(LlamaModel model, LoraAdapter lora, Policy policy, RewardFunction reward) {
        this.model = model;
        this.lora = lora;
        this.policy = policy;
        this.reward = reward;
    }

    /** The SFT-merged trunk's file name in the run folder. */
    public static final String MERGED_SFT = "sft-merged.gguf";

    /** The policy trunk: {@code model} with {@code sftAdapter} merged in, written to {@code workDir/sft-merged.gguf}. */
    public static Path mergeSft(Path model, Path sftAdapter, Path workDir) throws IOException {
        return mergeSft(model, sftAdapter, workDir, TrunkId.Check.REFUSE);
    }

    /** {@link #mergeSft(Path, Path, Path)}; {@code check}: what an SFT adapter trained on another trunk does. */
    public static Path mergeSft(Path model, Path sftAdapter, Path workDir, TrunkId.Check check) throws IOException {
        Files.createDirectories(workDir);
        Path trunk = workDir.resolve(MERGED_SFT);
        try (LlamaModel base = LlamaModel.load(model); LoraAdapter sft = AdapterFile.load(sftAdapter, base, false, check)) {
            Merge.merge(base, sft, null, trunk);
        }
        return trunk;
    }

    /** @param reward the reward function (owned by the session from now on, closed with it) */
    public static PpoSession open(Path trunk, LoraConfig ppoLora, RewardFunction reward) {
        return open(trunk, ppoLora, reward, LlamaModel.Options.defaults());
    }

    /** {@link #open(Path, LoraConfig, RewardFunction)} with the trunk loaded with {@code options} (KV cache type, precision). */
    public static PpoSession open(Path trunk, LoraConfig ppoLora, RewardFunction reward, LlamaModel.Options options) {
        LlamaModel m;
        try {
            m = LlamaModel.load(trunk, options);
        } catch (RuntimeException e) {
            reward.close();
            throw e;
        }
        return open(m, ppoLora, reward);
    }

    /** A learned reward model on the policy's own trunk: one mapping of the weights serves both. */
    public static PpoSession openSharedTrunk(Path trunk, LoraConfig ppoLora, Path rewardModel) {
        return openSharedTrunk(trunk, ppoLora, rewardModel, TrunkId.Check.REFUSE);
    }

    /** {@link #openSharedTrunk(Path, LoraConfig, Path)}; {@code check}: what a reward model trained on another trunk does. */
    public static PpoSession openSharedTrunk(Path trunk, LoraConfig ppoLora, Path rewardModel, TrunkId.Check check) {
        return openSharedTrunk(trunk, ppoLora, rewardModel, check, LlamaModel.Options.defaults());
    }

    /** {@link #openSharedTrunk(Path, LoraConfig, Path, TrunkId.Check)} with the trunk loaded with {@code options}. */
    public static PpoSession openSharedTrunk(Path trunk, LoraConfig ppoLora, Path rewardModel, TrunkId.Check check,
            LlamaModel.Options options) {
        LlamaModel m = LlamaModel.load(trunk, options);
        RewardFunction reward;
        try {
            reward = RewardFunction.learned(m, rewardModel, false, check);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
        return open(m, ppoLora, reward);
    }

    private static PpoSession open(LlamaModel m, LoraConfig ppoLora, RewardFunction reward) {
        LoraAdapter lora = null;
        try {
            lora = LoraAdapter.create(m, ppoLora);
            // the value head starts at zero: values start neutral and are learned from the returns
            RewardHead head = new RewardHead(new float[(int) m.info().dim()]);
            return new PpoSession(m, lora, new Policy(m, lora, head), reward);
        } catch (RuntimeException e) {
            if (lora != null) lora.close();
            m.close();
            reward.close();
            throw e;
        }
    }

    public Policy policy() {
        return policy;
    }

    public RewardFunction reward() {
        return reward;
    }

    /** Before (adapter off: the SFT model) / after (adapter on) figures on held-out prompts. */
    public Map<String, Object> compare(List<Prompts.Prompt> held, int maxNew, long seed, PrintStream log, int show) {
        PpoEvaluation.Report before = PpoEvaluation.run(policy, reward, held, false, maxNew, seed);
        PpoEvaluation.Report after = PpoEvaluation.run(policy, reward, held, true, maxNew, seed);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("eval_prompts", held.size());
        r.put("reward_before", before.meanScore());
        r.put("reward_after", after.meanScore());
        r.put("correct_before", before.correctRate());
        r.put("correct_after", after.correctRate());
        r.put("kl_after", after.kl());
        log.printf("%-28s %10s %10s%n", "held-out (" + held.size() + " prompts)", "before", "after");
        log.printf("%-28s %10.3f %10.3f%n", "mean reward-model score", before.meanScore(), after.meanScore());
        if (!Double.isNaN(before.correctRate()))
            log.printf("%-28s %10.3f %10.3f%n", "true correctness (checker)", before.correctRate(), after.correctRate());
        log.printf("%-28s %10.3f %10.3f%n", "KL to the SFT reference", 0.0, after.kl());
        for (int i = 0; i < Math.min(show, held.size()); i++) {
            log.printf("%nQ: %s%n  before: %s%s%n  after:  %s%s%n", held.get(i).question().replace("\n", " "),
                    before.samples().get(i).answer().replace("\n", " ").strip(), before.samples().get(i).correct() ? "  [correct]" : "",
                    after.samples().get(i).answer().replace("\n", " ").strip(), after.samples().get(i).correct() ? "  [correct]" : "");
        }
        return r;
    }

    /**
     * A PpoConfig's sampling limits are in tokens; prompts longer than the context minus them are
     * dropped, and so are those longer than the reward model's training length minus them (so the
     * reward model scores texts of the length it was trained on; StackLLaMA keeps prompts under 512).
     */
    public int maxPromptTokens(PpoConfig c) {
        int byReward = reward.maxLength() - c.maxNewTokens();
        if (byReward < 1)
            throw new IllegalArgumentException("--max-new-tokens " + c.maxNewTokens() + " leaves no room for a prompt in the reward model's "
                    + "training length of " + reward.maxLength() + " tokens");
        return Math.min(maxPromptTokens(model, c), byReward);
    }

    public static int maxPromptTokens(LlamaModel m, PpoConfig c) {
        int room = Math.min(4096, m.contextLength()) - c.maxNewTokens();
        if (room < 1)
            throw new IllegalArgumentException("--max-new-tokens " + c.maxNewTokens() + " leaves no room for a prompt in the model's context of "
                    + m.contextLength() + " tokens");
        return room;
    }

    /** Where {@link #maxPromptTokens}'s limit comes from, for messages. */
    public String promptLimitReason(PpoConfig c) {
        if (reward.maxLength() - c.maxNewTokens() < maxPromptTokens(model, c))
            return "the reward model's training length " + reward.maxLength() + " minus --max-new-tokens " + c.maxNewTokens();
        return (model.contextLength() > 4096 ? "4096 (the rollout cap)" : "the model's context " + model.contextLength())
                + " minus --max-new-tokens " + c.maxNewTokens();
    }

    public LlamaModel model() {
        return model;
    }

    @Override
    public void close() {
        policy.close();
        reward.close();  // before the model: a shared-trunk reward function reads it
        lora.close();
        model.close();
    }
}
