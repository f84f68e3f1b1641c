package dev.stackllama4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.model.ModelShape;
import dev.stackllama4j.model.RandomModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code dpo} and {@code ppo --algo} on the command line: a run folder with TRL's stats, usage errors naming the flag. */
class DpoCommandTest {
    @TempDir
    Path tmp;

    @Test
    void dpoWritesAnAdapterAndTrlStatsAndResumesOnlyWithTheSameSettings() throws Exception {
        Path model = tmp.resolve("m.gguf");
        RandomModel.write(new ModelShape(32, 1, 2, 2, 64, 400, 128, 10000, 1e-5, false), TensorType.Q8_0, 1, model);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 8; i++)
            b.append("{\"qid\": ").append(i).append(", \"question\": \"How much is ").append(i).append(" plus 2?\", \"response_j\": \"")
                    .append(i + 2).append("\", \"response_k\": \"").append(i + 3).append("\"}\n");
        Path pairs = tmp.resolve("pairs.jsonl");
        Files.writeString(pairs, b.toString());
        Path out = tmp.resolve("dpo");
        List<String> args = List.of("dpo", "--model", model.toString(), "--train-file", pairs.toString(), "--eval-file", pairs.toString(),
                "--output", out.toString(), "--batch-size", "2", "--grad-accum", "2", "--warmup-steps", "0", "--lr-schedule", "constant");
        CliTest.Run r = CliTest.run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("dpo: 2/2 steps"), r.out());
        assertTrue(Files.exists(out.resolve("adapter.gguf")) && Files.exists(out.resolve("checkpoint.gguf")));
        JsonNode last = new ObjectMapper().readTree(Files.readAllLines(out.resolve("metrics.jsonl")).get(1));
        for (String k : List.of("loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen",
                "logps/rejected", "eval_loss", "eval_rewards/accuracies"))
            assertTrue(last.get(k).isNumber() && Double.isFinite(last.get(k).asDouble()), k + " in " + last);
        // the folder holds a run: refused without --resume; a resume with another β is refused naming it
        assertEquals(1, CliTest.run(args.toArray(String[]::new)).code());
        List<String> other = new java.util.ArrayList<>(args);
        other.addAll(List.of("--resume", "--beta", "0.2"));
        r = CliTest.run(other.toArray(String[]::new));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("beta: 0.1 → 0.2"), r.err());
    }

    @Test
    void badSettingsAreUsageErrorsNamingTheFlag() {
        CliTest.Run r = CliTest.run("dpo", "--model", "m.gguf", "--train-file", "p.jsonl", "--output", "o", "--loss-type", "ipo",
                "--label-smoothing", "0.1");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--label-smoothing applies to --loss-type sigmoid only (got ipo)"), r.err());
        r = CliTest.run("ppo", "--model", "m.gguf", "--prompts", "p.jsonl", "--output", "o", "--oracle-reward", "--algo", "grpo",
                "--group-size", "1");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--algo grpo needs --group-size >= 2"), r.err());
        r = CliTest.run("ppo", "--model", "m.gguf", "--prompts", "p.jsonl", "--output", "o", "--oracle-reward", "--algo", "rloo",
                "--group-size", "5");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--batch-size (32) must be a multiple of --group-size (5)"), r.err());
    }
}
