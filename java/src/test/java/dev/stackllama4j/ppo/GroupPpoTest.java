package dev.stackllama4j.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.rl.AlgoConfig;
import dev.stackllama4j.rl.GroupAdvantages;
import dev.stackllama4j.rl.PpoConfig;
import dev.stackllama4j.train.LoraConfig;
import dev.stackllama4j.train.RunFolder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** GRPO and RLOO through the ppo loop on a tiny model: groups of k responses per prompt, finite stats, no value head. */
class GroupPpoTest {
    @TempDir
    Path tmp;

    /** PpoGuardsTest's tiny model and prompts. */
    PpoGuardsTest files() throws Exception {
        PpoGuardsTest g = new PpoGuardsTest();
        g.tmp = tmp;
        g.files();
        return g;
    }

    List<PpoRun.StepResult> runGroup(GroupAdvantages.Algo algo, Path out, List<List<int[]>> seen) throws Exception {
        PpoConfig c = PpoConfig.defaults().toBuilder().learningRate(3e-2).batchSize(6).miniBatchSize(2).ppoEpochs(2).minNewTokens(2)
                .maxNewTokens(6).seed(1).build();
        LoraConfig lora = new LoraConfig(4, 8f, 0f, EnumSet.of(LoraConfig.Target.Q, LoraConfig.Target.V), 1);
        PpoGuardsTest g = files();
        RewardFunction inner = PpoGuardsTest.reward(0);
        RewardFunction recording = (queries, responses, questions, answers) -> {
            seen.add(new ArrayList<>(queries));
            return inner.score(queries, responses, questions, answers);
        };
        try (PpoSession s = PpoSession.open(g.model, lora, recording);
                RunFolder f = RunFolder.open(out, RunFolder.Mode.FRESH, PpoGuardsTest.QUIET, PpoRun.OUTPUTS)) {
            Prompts p = new Prompts(Prompts.read(g.prompts, s.model().tokenizer(), s.maxPromptTokens(c), new int[1]), 1);
            return new PpoRun(s.policy(), s.reward(), p, c, new AlgoConfig(algo, 3), new PpoRun.Settings(3, 0, 1.0), f, PpoGuardsTest.QUIET).run();
        }
    }

    @Test
    void grpoAndRlooRunGroupsOfKWithFiniteStatsAndNoValueHead() throws Exception {
        for (GroupAdvantages.Algo algo : List.of(GroupAdvantages.Algo.GRPO, GroupAdvantages.Algo.RLOO)) {
            Path out = tmp.resolve(algo.name());
            List<List<int[]>> seen = new ArrayList<>();
            List<PpoRun.StepResult> steps = runGroup(algo, out, seen);
            assertEquals(3, steps.size());
            // each step scores 2 prompts × 3 responses, a group's queries consecutive and equal, the two groups different
            assertEquals(3, seen.size());
            for (List<int[]> q : seen) {
                assertEquals(6, q.size());
                for (int g = 0; g < 6; g += 3) {
                    assertArrayEquals(q.get(g), q.get(g + 1));
                    assertArrayEquals(q.get(g), q.get(g + 2));
                }
                assertTrue(!java.util.Arrays.equals(q.get(0), q.get(3)), algo + ": both groups got the same prompt");
            }
            double klSum = 0;
            for (PpoRun.StepResult r : steps) {
                for (Map.Entry<String, Object> e : r.row().entrySet())
                    // the policy entropy is not computed by the training pass yet (NaN for every algorithm)
                    if (e.getValue() instanceof Double d && !e.getKey().equals("ppo/policy/entropy"))
                        assertTrue(Double.isFinite(d), algo + " step " + r.step() + ": " + e.getKey() + " = " + d);
                assertEquals(0.0, (double) r.row().get("ppo/loss/value"), 0, "no value loss without a value head");
                assertTrue(r.row().keySet().stream().noneMatch(k -> k.startsWith("ppo/val/") || k.startsWith("ppo/returns/")),
                        "value-head statistics without a value head: " + r.row().keySet());
                klSum += Math.abs((double) r.row().get("objective/kl"));
            }
            assertTrue(klSum > 0, algo + ": the policy never moved from the reference");
            try (GgufFile f = GgufFile.open(out.resolve("checkpoint.gguf"))) {
                for (float w : f.readFloats(PpoRun.VALUE_HEAD)) assertEquals(0f, w, "the value head is not trained");
            }
            assertTrue(Files.exists(out.resolve("adapter.gguf")));
            String config = Files.readString(out.resolve("config.json"));
            assertTrue(config.contains("\"algo\" : \"" + algo.name().toLowerCase() + "\"") && config.contains("\"group-size\" : 3"), config);
        }
    }
}
