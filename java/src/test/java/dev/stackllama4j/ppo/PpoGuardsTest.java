package dev.stackllama4j.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.model.ModelShape;
import dev.stackllama4j.model.RandomModel;
import dev.stackllama4j.rl.PpoConfig;
import dev.stackllama4j.train.Checkpoint;
import dev.stackllama4j.train.DivergedException;
import dev.stackllama4j.train.LoraConfig;
import dev.stackllama4j.train.RunFolder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PPO never ends with exit 0 and a non-finite or runaway result; the last good checkpoint stays. */
class PpoGuardsTest {
    @TempDir
    Path tmp;

    static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());
    Path model, prompts;

    @BeforeEach
    void files() throws Exception {
        model = tmp.resolve("m.gguf");
        RandomModel.write(new ModelShape(64, 2, 4, 2, 160, 400, 256, 10000, 1e-5, false), TensorType.F32, 5, model);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 16; i++) b.append("{\"qid\": ").append(i).append(", \"question\": \"How much is ").append(i).append(" plus 2?\"}\n");
        prompts = tmp.resolve("rl.jsonl");
        Files.writeString(prompts, b.toString());
    }

    /** A score that varies with the answer, so the policy gets a gradient; NaN from step {@code nanFrom} on (0: never). */
    static RewardFunction reward(int nanFrom) {
        int[] calls = {0};
        return (queries, responses, questions, answers) -> {
            calls[0]++;
            double[] s = new double[answers.size()];
            for (int i = 0; i < s.length; i++) s[i] = nanFrom > 0 && calls[0] >= nanFrom ? Double.NaN : (responses.get(i).length % 3) - 1.0;
            return s;
        };
    }

    List<PpoRun.StepResult> run(double lr, RewardFunction reward, int steps, double maxKl, Path out) throws Exception {
        PpoConfig c = PpoConfig.defaults().toBuilder().learningRate(lr).batchSize(4).miniBatchSize(2).ppoEpochs(2).minNewTokens(2)
                .maxNewTokens(6).seed(1).build();
        LoraConfig lora = new LoraConfig(4, 8f, 0f, EnumSet.of(LoraConfig.Target.Q, LoraConfig.Target.V), 1);
        try (PpoSession s = PpoSession.open(model, lora, reward);
                RunFolder f = RunFolder.open(out, RunFolder.Mode.FRESH, QUIET, PpoRun.OUTPUTS)) {
            Prompts p = new Prompts(Prompts.read(prompts, s.model().tokenizer(), s.maxPromptTokens(c), new int[1]), 1);
            return new PpoRun(s.policy(), s.reward(), p, c, new PpoRun.Settings(steps, 1, 1.0, maxKl), f, QUIET).run();
        }
    }

    static void assertNoAdapterAndAFiniteCheckpointBefore(Path out, int failedStep) throws Exception {
        assertFalse(Files.exists(out.resolve("adapter.gguf")), "an adapter was written from a bad state");
        Path ckpt = out.resolve("checkpoint.gguf");
        if (failedStep > 1) {
            assertEquals(failedStep - 1, Checkpoint.State.read(ckpt).integer("step", 0, 100));
            try (GgufFile f = GgufFile.open(ckpt)) {
                for (var t : f.tensors()) for (float x : f.readFloats(t.name())) assertTrue(Float.isFinite(x), t.name());
            }
        }
    }

    static int stepOf(DivergedException e) {
        return Integer.parseInt(e.getMessage().substring(5, e.getMessage().indexOf(':')));
    }

    @Test
    void aNonFiniteRewardStopsTheRunAtItsStepNamingIt() throws Exception {
        Path out = tmp.resolve("nan-reward");
        DivergedException e = assertThrows(DivergedException.class, () -> run(1e-3, reward(3), 4, 0, out));
        assertTrue(e.getMessage().startsWith("step 3: reward[0] is NaN; stopped without writing an adapter; the last good checkpoint is "
                + out.resolve("checkpoint.gguf")), e.getMessage());
        assertNoAdapterAndAFiniteCheckpointBefore(out, 3);
    }

    @Test
    void aLearningRateThatBlowsUpStopsAtTheFirstNonFiniteQuantity() throws Exception {
        Path out = tmp.resolve("lr1e20");
        DivergedException e = assertThrows(DivergedException.class, () -> run(1e20, reward(0), 4, 0, out));
        assertTrue(e.getMessage().matches("step \\d+: (reward|policy log-prob|value|reference log-prob|ppo/loss/total|objective/kl|trained "
                + "weight|value head weight).* is (NaN|-?Infinity); stopped without writing an adapter.*"), e.getMessage());
        assertNoAdapterAndAFiniteCheckpointBefore(out, stepOf(e));
    }

    @Test
    void maxKlStopsARunawayRunAndWithoutItTheSameRunFinishes() throws Exception {
        List<PpoRun.StepResult> free = run(3e-2, reward(0), 4, 0, tmp.resolve("free"));
        double[] kl = new double[free.size()];
        double peak = 0;
        for (int i = 0; i < kl.length; i++) peak = Math.max(peak, kl[i] = (double) free.get(i).row().get("objective/kl"));
        assertTrue(peak > 1e-3, "the test needs a run whose KL grows; KL by step " + java.util.Arrays.toString(kl));
        assertTrue(Files.exists(tmp.resolve("free/adapter.gguf")));
        // cap at half the peak: the same (seeded) run must stop at the first step whose KL passes it
        double cap = peak / 2;
        int stop = 0;
        while (!(kl[stop] > cap)) stop++;
        Path out = tmp.resolve("capped");
        DivergedException e = assertThrows(DivergedException.class, () -> run(3e-2, reward(0), 4, cap, out));
        assertTrue(e.getMessage().startsWith("step " + (stop + 1) + ": objective/kl " + String.format("%.4g", kl[stop]) + " exceeds --max-kl "
                + cap), e.getMessage());
        assertNoAdapterAndAFiniteCheckpointBefore(out, stop + 1);
    }
}
