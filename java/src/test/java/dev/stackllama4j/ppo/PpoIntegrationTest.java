package dev.stackllama4j.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackllama4j.data.Prepare;
import dev.stackllama4j.data.SynthSite;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.io.AtomicFileSet;
import dev.stackllama4j.pipeline.DemoPipeline;
import dev.stackllama4j.rl.PpoConfig;
import dev.stackllama4j.testing.SharedFiles;
import dev.stackllama4j.train.LoraConfig;
import dev.stackllama4j.train.RunFolder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PPO end to end on stories260K (from ../shared) and the easy synthetic site: SFT, then PPO.
 * The bounds were set from measured runs with margin; everything is seeded and the engine is
 * deterministic for a given thread count, so the run is reproducible on this machine kind.
 */
class PpoIntegrationTest {
    @TempDir
    static Path tmp;

    static Path data, sft;
    static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());

    @BeforeAll
    static void siteAndSft() throws Exception {
        Path base = SharedFiles.require("models/stories260K/stories260K.gguf");
        DemoPipeline p = new DemoPipeline(new DemoPipeline.Settings(tmp, List.of(), base, SynthSite.Difficulty.EASY, 2000, 200, 150, 0, 3),
                QUIET);
        data = p.prepare(p.site());
        sft = p.sft(base, data);
    }

    static PpoConfig config(int batch) {
        return PpoConfig.defaults().toBuilder().learningRate(5e-4).batchSize(batch).miniBatchSize(4).initKlCoef(0.05).minNewTokens(4)
                .maxNewTokens(12).seed(3).build();
    }

    /**
     * One PPO run is a chaotic process: a last-bit change anywhere in the engine (a summation
     * order, an exp) sends a seeded run down another trajectory, and single runs of this setting
     * end anywhere from no change to +10 points. So the claim is made of the mean over three
     * seeds, at a learning rate where no measured seed lost ground.
     */
    @Test
    void withTheCheckerAsRewardTrueCorrectnessRisesOnAverageOverSeedsWithinAKlBound() throws Exception {
        LoraConfig lora = new LoraConfig(16, 32f, 0f, EnumSet.allOf(LoraConfig.Target.class), 3);
        int[] seeds = {3, 4, 6};
        double before = Double.NaN, gain = 0;
        StringBuilder runs = new StringBuilder();
        for (int seed : seeds) {
            try (PpoSession s = PpoSession.open(sft, lora, RewardFunction.checker())) {
                PpoConfig c = config(16).toBuilder().learningRate(2.5e-4).seed(seed).build();
                Prompts prompts = new Prompts(Prompts.read(data.resolve("rl.jsonl"), s.model().tokenizer(), 64, new int[1]), 3);
                List<Prompts.Prompt> held = Prompts.read(data.resolve("evaluation.jsonl"), s.model().tokenizer(), 64, new int[1]);
                held = held.subList(0, Math.min(128, held.size()));
                Path out = tmp.resolve("ppo-checker-" + seed);
                List<PpoRun.StepResult> steps;
                try (RunFolder f = RunFolder.open(out, RunFolder.Mode.FRESH, QUIET)) {
                    steps = new PpoRun(s.policy(), s.reward(), prompts, c, new PpoRun.Settings(50, 0, 1.0), f, QUIET).run();
                }
                assertEquals(50, steps.size());
                Map<String, Object> r = s.compare(held, c.maxNewTokens(), 102, QUIET, 0);
                before = (double) r.get("correct_before");
                double after = (double) r.get("correct_after"), kl = (double) r.get("kl_after");
                runs.append(String.format(" seed %d: %.3f -> %.3f (KL %.1f);", seed, before, after, kl));
                // the checker is the reward, so the reward and the correctness rate are the same figure here
                assertEquals(before, (double) r.get("reward_before"), 1e-12);
                assertTrue(after >= before - 0.03, "a seed lost ground:" + runs);
                assertTrue(kl < 40, "KL to the reference " + kl + " nats per answer");
                gain += (after - before) / seeds.length;
                if (seed == seeds[0]) checkArtefacts(out, lora);
            }
        }
        // measured on this machine kind: 0.086 -> 0.102, 0.117, 0.133 (mean +0.031, KL 1.9-2.7)
        System.err.println("oracle PPO:" + runs);
        assertTrue(gain >= 0.02, "mean gain in true correctness " + gain + ":" + runs);
    }

    // TRL's stats are all there, and the run left its artefacts
    private static void checkArtefacts(Path out, LoraConfig lora) throws Exception {
        JsonNode last = new ObjectMapper().readTree(Files.readAllLines(out.resolve("metrics.jsonl")).get(49));
        for (String k : List.of("objective/kl", "objective/kl_coef", "objective/entropy", "ppo/mean_scores", "ppo/std_scores",
                "ppo/loss/policy", "ppo/loss/value", "ppo/policy/clipfrac", "ppo/policy/approxkl", "ppo/policy/entropy",
                "ppo/returns/mean", "ppo/val/var_explained", "env/reward_mean", "time/ppo/generate_s", "time/ppo/optimize_s"))
            assertTrue(last.has(k), "missing stat " + k);
        assertTrue(Files.size(out.resolve("ppo.png")) > 1000);
        try (LlamaModel m = LlamaModel.load(sft); LoraAdapter a = dev.stackllama4j.train.AdapterFile.load(out.resolve("adapter.gguf"), m)) {
            assertEquals(lora.r(), a.config().r());
        }
    }

    @Test
    void withALearnedRewardModelTheRewardRisesWithinAKlBoundAndResumeContinuesTheRun() throws Exception {
        DemoPipeline p = new DemoPipeline(new DemoPipeline.Settings(tmp.resolve("rm"), List.of(), sft, SynthSite.Difficulty.EASY, 0, 0,
                150, 0, 3), QUIET);
        Path rm = p.reward(sft, data);
        LoraConfig lora = new LoraConfig(16, 32f, 0f, EnumSet.allOf(LoraConfig.Target.class), 3);
        PpoConfig c = PpoConfig.defaults().toBuilder().learningRate(1.5e-4).batchSize(16).miniBatchSize(4).initKlCoef(0.2).horizon(1000)
                .minNewTokens(4).maxNewTokens(12).seed(3).build();
        Path out = tmp.resolve("ppo-rm");
        try (PpoSession s = PpoSession.open(sft, lora, RewardFunction.learned(sft, rm))) {
            Prompts prompts = new Prompts(Prompts.read(data.resolve("rl.jsonl"), s.model().tokenizer(), 64, new int[1]), 3);
            List<Prompts.Prompt> held = Prompts.read(data.resolve("evaluation.jsonl"), s.model().tokenizer(), 64, new int[1]);
            held = held.subList(0, Math.min(128, held.size()));
            // a run stopped after 20 of 40 steps ...
            try (RunFolder f = RunFolder.open(out, RunFolder.Mode.FRESH, QUIET)) {
                new PpoRun(s.policy(), s.reward(), prompts, c, new PpoRun.Settings(20, 10, 1.0), f, QUIET).run();
            }
        }
        try (PpoSession s = PpoSession.open(sft, lora, RewardFunction.learned(sft, rm))) {
            Prompts prompts = new Prompts(Prompts.read(data.resolve("rl.jsonl"), s.model().tokenizer(), 64, new int[1]), 3);
            List<Prompts.Prompt> held = Prompts.read(data.resolve("evaluation.jsonl"), s.model().tokenizer(), 64, new int[1]);
            held = held.subList(0, Math.min(128, held.size()));
            // ... is resumed to 40 from its checkpoint
            List<PpoRun.StepResult> more;
            try (RunFolder f = RunFolder.open(out, RunFolder.Mode.RESUME, QUIET)) {
                more = new PpoRun(s.policy(), s.reward(), prompts, c, new PpoRun.Settings(40, 10, 1.0), f, QUIET).run();
            }
            assertEquals(20, more.size());
            assertEquals(21, more.get(0).step());
            assertEquals(40, Files.readAllLines(out.resolve("metrics.jsonl")).size());
            Map<String, Object> r = s.compare(held, c.maxNewTokens(), 102, QUIET, 0);
            double before = (double) r.get("reward_before"), after = (double) r.get("reward_after");
            assertTrue(after > before + 0.3, "reward-model score " + before + " -> " + after);
            assertTrue((double) r.get("kl_after") < 15, "KL " + r.get("kl_after"));
        }
    }
}
