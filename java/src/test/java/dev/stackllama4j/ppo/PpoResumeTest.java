package dev.stackllama4j.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.model.ModelShape;
import dev.stackllama4j.model.RandomModel;
import dev.stackllama4j.rl.KlEstimator;
import dev.stackllama4j.rl.PpoConfig;
import dev.stackllama4j.train.Checkpoint;
import dev.stackllama4j.train.LoraConfig;
import dev.stackllama4j.train.RunFolder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * A PPO run that crashes mid-way and is resumed from its last checkpoint (in a new process's
 * worth of objects: model, adapter, value head, reward function all opened afresh) ends exactly
 * where the uninterrupted run ends: every metrics row, every adapter tensor and the value head
 * with its optimizer moments, bit for bit.
 */
class PpoResumeTest {
    @TempDir
    Path tmp;

    static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());
    static final int STEPS = 5, SAVE_EVERY = 2, CRASH_AT = 4;

    /** A score that varies with the response; throws (a simulated crash) at call {@code crashAt} (0: never). */
    static RewardFunction reward(int crashAt) {
        int[] calls = {0};
        return (queries, responses, questions, answers) -> {
            if (++calls[0] == crashAt) throw new IllegalStateException("simulated crash in step " + crashAt);
            double[] s = new double[answers.size()];
            for (int i = 0; i < s.length; i++) s[i] = (responses.get(i).length % 3) - 1.0 + 0.1 * (responses.get(i)[0] % 5);
            return s;
        };
    }

    void run(Path model, Path prompts, KlEstimator kl, RewardFunction reward, Path out, RunFolder.Mode mode) throws Exception {
        PpoConfig c = PpoConfig.defaults().toBuilder().learningRate(2e-2).batchSize(4).miniBatchSize(2).ppoEpochs(2).minNewTokens(2)
                .maxNewTokens(6).klPenalty(kl).seed(3).build();
        // dropout on: a resumed run must restore the dropout-mask counter to draw the same masks
        LoraConfig lora = new LoraConfig(4, 8f, 0.1f, EnumSet.of(LoraConfig.Target.Q, LoraConfig.Target.V, LoraConfig.Target.DOWN), 1);
        try (PpoSession s = PpoSession.open(model, lora, reward); RunFolder f = RunFolder.open(out, mode, QUIET, PpoRun.OUTPUTS)) {
            Prompts p = new Prompts(Prompts.read(prompts, s.model().tokenizer(), s.maxPromptTokens(c), new int[1]), 1);
            new PpoRun(s.policy(), s.reward(), p, c, new PpoRun.Settings(STEPS, SAVE_EVERY, 1.0), f, QUIET).run();
        }
    }

    @ParameterizedTest
    @EnumSource(value = KlEstimator.class, names = {"KL", "FULL"})
    void aRunCrashedAfterACheckpointResumesBitIdentically(KlEstimator kl) throws Exception {
        Path model = tmp.resolve("m.gguf");
        RandomModel.write(new ModelShape(64, 2, 4, 2, 160, 400, 256, 10000, 1e-5, false), TensorType.F32, 5, model);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 16; i++) b.append("{\"qid\": ").append(i).append(", \"question\": \"What is ").append(i).append(" times 3?\"}\n");
        Path prompts = tmp.resolve("rl.jsonl");
        Files.writeString(prompts, b.toString());

        Path straight = tmp.resolve("straight"), crashed = tmp.resolve("crashed");
        run(model, prompts, kl, reward(0), straight, RunFolder.Mode.FRESH);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> run(model, prompts, kl, reward(CRASH_AT), crashed, RunFolder.Mode.FRESH));
        assertTrue(e.getMessage().contains("simulated crash"), e.getMessage());
        // the crash left step 3's metrics row past the last checkpoint (step 2), and no adapter
        assertEquals(CRASH_AT - 2, Checkpoint.State.read(crashed.resolve("checkpoint.gguf")).integer("step", 0, STEPS));
        assertEquals(CRASH_AT - 1, Files.readAllLines(crashed.resolve("metrics.jsonl")).size());
        assertFalse(Files.exists(crashed.resolve("adapter.gguf")));

        run(model, prompts, kl, reward(0), crashed, RunFolder.Mode.RESUME);

        List<String> a = Files.readAllLines(straight.resolve("metrics.jsonl")), r = Files.readAllLines(crashed.resolve("metrics.jsonl"));
        assertEquals(STEPS, a.size());
        assertEquals(STEPS, r.size());
        ObjectMapper json = new ObjectMapper();
        for (int i = 0; i < STEPS; i++) {
            JsonNode x = json.readTree(a.get(i)), y = json.readTree(r.get(i));
            int compared = 0;
            for (Iterator<String> it = x.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (k.startsWith("time/")) continue;  // wall-clock
                assertTrue(y.has(k), "resumed row " + (i + 1) + " lacks " + k);
                assertEquals(x.get(k).asDouble(), y.get(k).asDouble(), 0.0, "step " + (i + 1) + " " + k);
                compared++;
            }
            assertTrue(compared > 20, "too few stats compared: " + compared);
        }
        // the run moved: the adapter is not its initial value and the KL is not zero throughout
        assertTrue(json.readTree(a.get(STEPS - 1)).get("objective/kl").asDouble() != 0.0);
        try (GgufFile fa = GgufFile.open(straight.resolve("adapter.gguf")); GgufFile fb = GgufFile.open(crashed.resolve("adapter.gguf"))) {
            assertEquals(fa.tensors().size(), fb.tensors().size());
            for (var t : fa.tensors()) assertArrayEquals(fa.readFloats(t.name()), fb.readFloats(t.name()), t.name());
        }
        // the final checkpoints hold the value head, its AdamW moments and the adapter's moments
        try (GgufFile fa = GgufFile.open(straight.resolve("checkpoint.gguf")); GgufFile fb = GgufFile.open(crashed.resolve("checkpoint.gguf"))) {
            assertTrue(fa.hasTensor(PpoRun.VALUE_HEAD));
            float[] head = fa.readFloats(PpoRun.VALUE_HEAD);
            boolean trained = false;
            for (float v : head) trained |= v != 0f;
            assertTrue(trained, "the value head never trained");
            assertEquals(fa.tensors().size(), fb.tensors().size());
            for (var t : fa.tensors()) assertArrayEquals(fa.readFloats(t.name()), fb.readFloats(t.name()), t.name());
        }
    }
}
