package dev.stackllama4j.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.rl.PpoConfig;
import dev.stackllama4j.train.LoraConfig;
import dev.stackllama4j.train.RunFolder;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No PPO forward has dropout by default (TRL ≥ 0.7.2): with one mini-batch per step and one epoch,
 * the training pass sees the same policy as the rollout, so the ratio is exactly 1 (approx KL 0)
 * at every step, also once the adapter is non-zero. {@code trainingDropout} keeps the old behaviour.
 */
class PpoDropoutTest {
    @TempDir
    Path tmp;

    List<PpoRun.StepResult> run(boolean trainingDropout, String name) throws Exception {
        PpoGuardsTest g = new PpoGuardsTest();
        g.tmp = tmp;
        g.files();
        PpoConfig c = PpoConfig.defaults().toBuilder().learningRate(1e-2).batchSize(4).miniBatchSize(4).ppoEpochs(1).minNewTokens(2)
                .maxNewTokens(6).trainingDropout(trainingDropout).seed(1).build();
        LoraConfig lora = new LoraConfig(4, 8f, 0.3f, EnumSet.allOf(LoraConfig.Target.class), 1);
        try (PpoSession s = PpoSession.open(g.model, lora, PpoGuardsTest.reward(0));
                RunFolder f = RunFolder.open(tmp.resolve(name), RunFolder.Mode.FRESH, PpoGuardsTest.QUIET, PpoRun.OUTPUTS)) {
            Prompts p = new Prompts(Prompts.read(g.prompts, s.model().tokenizer(), s.maxPromptTokens(c), new int[1]), 1);
            return new PpoRun(s.policy(), s.reward(), p, c, new PpoRun.Settings(3, 0, 1.0), f, PpoGuardsTest.QUIET).run();
        }
    }

    @Test
    void theRatioIsExactlyOneAtTheFirstMiniBatchOfEveryStepUnlessTrainingDropoutIsAskedFor() throws Exception {
        for (PpoRun.StepResult r : run(false, "default")) {
            assertEquals(0.0, (double) r.row().get("ppo/policy/approxkl"), 0.0, "step " + r.step());
            assertEquals(0.0, (double) r.row().get("ppo/policy/clipfrac"), 0.0, "step " + r.step());
        }
        List<PpoRun.StepResult> old = run(true, "dropout");
        // the adapter starts at zero (B = 0), so dropout changes nothing at step 1; from step 2 on it does
        for (PpoRun.StepResult r : old.subList(1, old.size()))
            assertTrue((double) r.row().get("ppo/policy/approxkl") > 0, "step " + r.step() + " with dropout on the training pass");
    }
}
