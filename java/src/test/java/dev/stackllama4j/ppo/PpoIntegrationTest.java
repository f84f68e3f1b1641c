package dev.stackllama4j.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackllama4j.pipeline.DemoPipeline;
import dev.stackllama4j.rl.PpoConfig;
import dev.stackllama4j.train.LoraConfig;
import dev.stackllama4j.train.RunFolder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo end to end, as a new user runs it (no ../shared): a LLaMA pretrained here, SFT of every
 * weight, a reward model and PPO, for the three seeds docs/pipeline.md reports. Everything is
 * seeded and the engine is deterministic for a given thread count, but one PPO run is a chaotic
 * process, so the claims are the table's: means over the seeds, and no seed losing ground. The
 * bounds fail on a reward-hacked run (reward-model score up, true correctness flat or down).
 */
class PpoIntegrationTest {
    @TempDir
    static Path tmp;

    static final long[] SEEDS = {1, 2, 3};
    static final List<Map<String, Object>> reports = new ArrayList<>();
    static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());

    @BeforeAll
    static void runTheDemoForEachSeed() throws Exception {
        for (long seed : SEEDS) {
            DemoPipeline.Settings d = DemoPipeline.Settings.defaults(tmp.resolve("seed-" + seed));
            DemoPipeline.Settings s = new DemoPipeline.Settings(d.out(), d.posts(), d.baseModel(), d.difficulty(), d.questions(),
                    d.pretrainSteps(), d.sftSteps(), d.rewardSteps(), d.ppoSteps(), d.evalEvery(), seed);
            reports.add(new DemoPipeline(s, QUIET).runAll(title -> {}));
        }
    }

    static double d(Map<String, Object> r, String key) {
        return ((Number) r.get(key)).doubleValue();
    }

    static String table() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < SEEDS.length; i++) {
            Map<String, Object> r = reports.get(i);
            b.append(String.format("%n  seed %d: reward accuracy %.3f, correct %.3f -> %.3f, score %.2f -> %.2f, KL %.2f", SEEDS[i],
                    d(r, "reward_eval_accuracy"), d(r, "correct_before"), d(r, "correct_after"), d(r, "reward_before"),
                    d(r, "reward_after"), d(r, "kl_after")));
        }
        return b.toString();
    }

    @Test
    void rlhfRaisesTrueCorrectnessWithTheRewardOnEverySeed() {
        double gain = 0, accuracy = 0;
        for (Map<String, Object> r : reports) {
            gain += (d(r, "correct_after") - d(r, "correct_before")) / SEEDS.length;
            accuracy += d(r, "reward_eval_accuracy") / SEEDS.length;
            // every seed gains (measured +23 to +50 points); a flat or reward-hacked seed (the reward model over-scoring
            // answers it never saw: +0.8 points with the score up by 1.1) fails
            assertTrue(d(r, "correct_after") - d(r, "correct_before") >= GATE_SEED_GAIN, "a seed did not gain true correctness:" + table());
            // the reward-model score rises with true correctness (measured +2.0 to +4.0)
            assertTrue(d(r, "reward_after") - d(r, "reward_before") >= GATE_SCORE_RISE, "the reward-model score did not rise:" + table());
            // measured 2.1 to 12.1 nats (seed 1's last evaluation; 3.0 twenty steps before)
            assertTrue(d(r, "kl_after") > 0 && d(r, "kl_after") < 20, "KL to the SFT model out of range:" + table());
        }
        System.err.println("demo over seeds:" + table());
        assertTrue(accuracy >= GATE_ACCURACY, "mean held-out reward-model accuracy " + accuracy + ":" + table());
        assertTrue(gain >= GATE_GAIN, "mean gain in held-out true correctness " + gain + ":" + table());
    }

    // Measured (docs/pipeline.md, seeds 1-3): reward-model accuracy 0.946 / 0.836 / 0.915 (mean 0.899);
    // true correctness 0.328 -> 0.828, 0.250 -> 0.484, 0.281 -> 0.656 (mean gain +0.370); score -2.17 -> 1.83,
    // -0.17 -> 1.34, -2.64 -> 0.11. The runs docs/pipeline.md records as flat or reward-hacked (mean gains +0.065,
    // -0.026; a seed at +0.008) fail the gain bounds; the targets are accuracy 0.85 and a 20-point gain.
    static final double GATE_ACCURACY = 0.85, GATE_GAIN = 0.20, GATE_SEED_GAIN = 0.10, GATE_SCORE_RISE = 0.5;

    @Test
    void summaryAndFigureAreWritten() throws Exception {
        Path out = tmp.resolve("seed-1");
        JsonNode s = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        for (String k : List.of("base_model", "sft_eval_loss", "reward_eval_accuracy", "reward_before", "reward_after", "correct_before",
                "correct_after", "kl_after", "seconds", "heldout_curve_step_correct_score_kl"))
            assertTrue(s.has(k), "summary.json lacks " + k);
        for (String stage : List.of("site", "prepare", "pretrain", "sft", "reward", "ppo", "total"))
            assertTrue(s.get("seconds").get(stage).asDouble() > 0, "no time for stage " + stage);
        assertTrue(s.get("base_model").asText().startsWith("pretrained here"), s.get("base_model").asText());
        // the curve starts at the SFT model and ends at the reported after-PPO figures
        JsonNode curve = s.get("heldout_curve_step_correct_score_kl");
        assertEquals(0.0, curve.get(0).get(0).asDouble());
        assertEquals(s.get("correct_before").asDouble(), curve.get(0).get(1).asDouble(), 1e-12);
        JsonNode last = curve.get(curve.size() - 1);
        assertEquals(DemoPipeline.Settings.defaults(out).ppoSteps(), last.get(0).asDouble());
        assertEquals(s.get("correct_after").asDouble(), last.get(1).asDouble(), 1e-12);
        assertEquals(s.get("reward_after").asDouble(), last.get(2).asDouble(), 1e-12);
        assertTrue(Files.size(out.resolve("ppo-heldout.png")) > 1000);
        // the PPO run's own artefacts: TRL's stats, its plot, its adapter
        JsonNode row = new ObjectMapper().readTree(Files.readAllLines(out.resolve("ppo/metrics.jsonl")).get(DemoPipeline.Settings.defaults(out).ppoSteps() - 1));
        for (String k : List.of("objective/kl", "objective/kl_coef", "ppo/mean_scores", "ppo/loss/policy", "ppo/loss/value",
                "ppo/policy/clipfrac", "ppo/val/var_explained", "env/reward_mean", "time/ppo/optimize_s"))
            assertTrue(row.has(k), "missing stat " + k);
        assertTrue(Files.size(out.resolve("ppo/ppo.png")) > 1000);
        assertTrue(Files.isRegularFile(out.resolve("ppo/adapter.gguf")));
    }

    @Test
    void aStoppedPpoRunResumesToTheSameEnd() throws Exception {
        Path run = tmp.resolve("seed-1");
        Path sft = run.resolve("sft/model.gguf"), rm = run.resolve("reward/reward.gguf"), data = run.resolve("data");
        LoraConfig lora = new LoraConfig(16, 32f, 0f, EnumSet.allOf(LoraConfig.Target.class), 3);
        PpoConfig c = new DemoPipeline(DemoPipeline.Settings.defaults(run), QUIET).ppoConfig();
        Path straight = tmp.resolve("ppo-straight"), stopped = tmp.resolve("ppo-stopped");
        for (int part = 0; part < 3; part++) {
            try (PpoSession s = PpoSession.open(sft, lora, RewardFunction.learned(sft, rm))) {
                Prompts prompts = new Prompts(Prompts.read(data.resolve("rl.jsonl"), s.model().tokenizer(), 64, new int[1]), 3);
                // part 0: 12 steps straight; part 1: 6 steps, then part 2 resumes to 12 in a new session
                Path out = part == 0 ? straight : stopped;
                List<PpoRun.StepResult> steps;
                try (RunFolder f = RunFolder.open(out, part == 2 ? RunFolder.Mode.RESUME : RunFolder.Mode.FRESH, QUIET, PpoRun.OUTPUTS)) {
                    steps = new PpoRun(s.policy(), s.reward(), prompts, c, new PpoRun.Settings(part == 1 ? 6 : 12, 3, 1.0), f, QUIET).run();
                }
                assertEquals(part == 0 ? 12 : 6, steps.size());
            }
        }
        List<String> a = Files.readAllLines(straight.resolve("metrics.jsonl")), b = Files.readAllLines(stopped.resolve("metrics.jsonl"));
        assertEquals(12, b.size());
        ObjectMapper m = new ObjectMapper();
        for (int i = 0; i < 12; i++)
            for (String k : List.of("env/reward_mean", "objective/kl", "ppo/loss/policy"))
                assertEquals(m.readTree(a.get(i)).get(k).asDouble(), m.readTree(b.get(i)).get(k).asDouble(), 0.0, "step " + (i + 1) + " " + k);
    }
}
