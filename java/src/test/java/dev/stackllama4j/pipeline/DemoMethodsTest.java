package dev.stackllama4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.data.SynthSite;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code demo --method ppo,dpo,grpo,rloo} on a budget of a few steps: every method runs on the same SFT and reward models and reports. */
class DemoMethodsTest {
    @TempDir
    Path tmp;

    @Test
    void everyMethodRunsOnTheSameModelsAndReportsBeforeAndAfter() throws Exception {
        DemoPipeline.Settings s = new DemoPipeline.Settings(tmp, List.of(), null, SynthSite.Difficulty.EASY, 60, 4, 2, 4, 2, 0, 1);
        Map<String, Object> report = new DemoPipeline(s, List.of(DemoPipeline.Method.values()), new PrintStream(new ByteArrayOutputStream()))
                .runAll(title -> {});
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> methods = (Map<String, Map<String, Object>>) report.get("methods");
        assertEquals(List.of("ppo", "dpo", "grpo", "rloo"), List.copyOf(methods.keySet()));
        double before = (double) methods.get("ppo").get("correct_before");
        for (Map.Entry<String, Map<String, Object>> m : methods.entrySet()) {
            Map<String, Object> r = m.getValue();
            assertEquals(before, (double) r.get("correct_before"), 0, m.getKey() + " starts from the same SFT model and prompts");
            for (String k : List.of("correct_after", "reward_after", "kl_after"))
                assertTrue(Double.isFinite((double) r.get(k)), m.getKey() + " " + k + " = " + r.get(k));
            assertTrue(Files.exists(tmp.resolve(m.getKey()).resolve("adapter.gguf")), m.getKey());
        }
        // PPO's figures stay at the report's top level, as with PPO alone
        assertEquals(methods.get("ppo").get("correct_after"), report.get("correct_after"));
        assertTrue(Files.exists(tmp.resolve("grpo/metrics.jsonl")) && Files.exists(tmp.resolve("dpo/metrics.jsonl")));
    }
}
