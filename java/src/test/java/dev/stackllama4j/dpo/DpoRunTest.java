package dev.stackllama4j.dpo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackllama4j.data.Template;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.engine.Trainable;
import dev.stackllama4j.model.ModelShape;
import dev.stackllama4j.model.RandomModel;
import dev.stackllama4j.reward.RewardRunTest;
import dev.stackllama4j.tokenizer.Tokenizer;
import dev.stackllama4j.train.LoraConfig;
import dev.stackllama4j.train.LrSchedule;
import dev.stackllama4j.train.RunFolder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DpoRunTest {
    @TempDir
    Path tmp;

    static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());
    /** RewardRunTest's planted preference (the chosen answer holds "great"), answers of 2–4 words, as DPO pairs. */
    static List<DpoData.Pair> plantedPairs(Tokenizer tok, int n, long seed) {
        List<DpoData.Pair> out = new ArrayList<>();
        for (RewardRunTest.PlantedText t : RewardRunTest.plantedTexts(n, seed, 2, 3)) {
            int[] prompt = tok.encode(Template.prompt(t.question()), tok.vocabulary().addBos(), false);
            int[] j = DpoData.side(tok, t.question(), t.chosen()), k = DpoData.side(tok, t.question(), t.rejected());
            out.add(new DpoData.Pair(String.valueOf(out.size()), j, DpoData.answerStart(prompt, j), k, DpoData.answerStart(prompt, k)));
        }
        return out;
    }

    Path tinyModel() {
        Path f = tmp.resolve("m.gguf");
        RandomModel.write(new ModelShape(32, 2, 4, 2, 64, 400, 128, 10000, 1e-5, false), TensorType.F32, 3, f);
        return f;
    }

    static DpoConfig config(DpoLoss.Kind kind, double smoothing, double lr, int maxSteps, int saveEvery, float dropout) {
        LoraConfig lora = new LoraConfig(4, 8f, dropout, EnumSet.allOf(LoraConfig.Target.class), 1);
        return new DpoConfig(0.5, kind, smoothing, lr, 4, 1, 1, LrSchedule.Kind.CONSTANT, 0, 0.0, 512, 1.0, 0, saveEvery, lora, 2, maxSteps);
    }

    /**
     * The whole DPO loss (policy and reference passes, answer-token sums, the loss) against central
     * differences of itself in every LoRA tensor kind, with B made non-zero so A has a gradient too.
     */
    @Test
    void gradientWithRespectToLoraParametersMatchesFiniteDifferences() {
        try (LlamaModel m = LlamaModel.load(tinyModel())) {
            List<DpoData.Pair> pairs = plantedPairs(m.tokenizer(), 4, 7);
            for (DpoLoss.Kind kind : List.of(DpoLoss.Kind.SIGMOID, DpoLoss.Kind.IPO)) {
                DpoConfig c = config(kind, kind == DpoLoss.Kind.SIGMOID ? 0.1 : 0, 1e-3, 1, 0, 0f);
                try (LoraAdapter lora = LoraAdapter.create(m, c.lora()); DpoRun.Objective obj = new DpoRun.Objective(m, lora, c)) {
                    SplittableRandom r = new SplittableRandom(11);
                    for (int t = 0; t < lora.tensors().size(); t++) {
                        float[] v = lora.get(t, Trainable.Field.VALUE);
                        for (int i = 0; i < v.length; i++) v[i] = (float) (0.3 * (r.nextDouble() - 0.5));
                        lora.set(t, Trainable.Field.VALUE, v);
                    }
                    lora.zeroGrad();
                    double loss = obj.step(pairs, 1f).get("loss");
                    assertEquals(loss, obj.evaluate(pairs).get("loss"), 1e-6, "training and evaluation passes agree");
                    int checked = 0;
                    for (String name : List.of("blk.0.attn_q.weight.lora_a", "blk.1.attn_v.weight.lora_b", "blk.1.ffn_down.weight.lora_b",
                            "blk.0.ffn_gate.weight.lora_a")) {
                        int t = lora.index(name);
                        assertTrue(t >= 0, name);
                        float[] g = lora.get(t, Trainable.Field.GRAD), v = lora.get(t, Trainable.Field.VALUE);
                        for (int n = 0; n < 4; n++) {
                            int i = r.nextInt(v.length);
                            double h = 1e-2;
                            float keep = v[i];
                            v[i] = (float) (keep + h);
                            lora.set(t, Trainable.Field.VALUE, v);
                            double up = obj.evaluate(pairs).get("loss");
                            v[i] = (float) (keep - h);
                            lora.set(t, Trainable.Field.VALUE, v);
                            double down = obj.evaluate(pairs).get("loss");
                            v[i] = keep;
                            lora.set(t, Trainable.Field.VALUE, v);
                            double fd = (up - down) / (2 * h);
                            assertEquals(fd, g[i], 0.02 * Math.abs(fd) + 2e-4, kind + " " + name + "[" + i + "]: analytic " + g[i] + ", finite difference " + fd);
                            if (Math.abs(fd) > 1e-3) checked++;
                        }
                    }
                    assertTrue(checked >= 8, kind + ": only " + checked + " of 16 checked gradients were clearly non-zero");
                }
            }
        }
    }

    /**
     * 12 steps straight through against 6 steps and a resume to 12: same metrics rows and the same
     * adapter bytes (dropout on, so the dropout counter must be restored too); the run learns the
     * planted preference on held-out pairs; its stats carry TRL's names.
     */
    @Test
    void resumeIsExactAndTheRunLearnsAPlantedPreference() throws Exception {
        Path model = tinyModel();
        try (LlamaModel m = LlamaModel.load(model)) {
            List<DpoData.Pair> train = plantedPairs(m.tokenizer(), 48, 1), held = plantedPairs(m.tokenizer(), 32, 2);
            DpoRun.Summary whole;
            try (RunFolder f = RunFolder.open(tmp.resolve("whole"), RunFolder.Mode.FRESH, QUIET, DpoRun.OUTPUTS)) {
                whole = new DpoRun(m, config(DpoLoss.Kind.SIGMOID, 0, 1e-2, 12, 4, 0.1f), train, held, f, QUIET).run();
            }
            try (RunFolder f = RunFolder.open(tmp.resolve("split"), RunFolder.Mode.FRESH, QUIET, DpoRun.OUTPUTS)) {
                new DpoRun(m, config(DpoLoss.Kind.SIGMOID, 0, 1e-2, 6, 4, 0.1f), train, held, f, QUIET).run();
            }
            DpoRun.Summary resumed;
            try (RunFolder f = RunFolder.open(tmp.resolve("split"), RunFolder.Mode.RESUME, QUIET, DpoRun.OUTPUTS)) {
                resumed = new DpoRun(m, config(DpoLoss.Kind.SIGMOID, 0, 1e-2, 12, 4, 0.1f), train, held, f, QUIET).run();
            }
            assertEquals(12, resumed.stepsDone());
            List<String> a = Files.readAllLines(tmp.resolve("whole/metrics.jsonl")), b = Files.readAllLines(tmp.resolve("split/metrics.jsonl"));
            // the split run evaluated at its end (step 6) as well; compare every row's training figures
            assertEquals(12, a.size());
            ObjectMapper json = new ObjectMapper();
            for (int i = 0; i < 12; i++) {
                Map<?, ?> x = json.readValue(a.get(i), Map.class), y = json.readValue(b.get(i), Map.class);
                for (String k : List.of("step", "loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins",
                        "logps/chosen", "logps/rejected", "lr", "grad_norm"))
                    assertEquals(x.get(k), y.get(k), "row " + (i + 1) + " " + k);
            }
            assertArrayEquals(Files.readAllBytes(whole.adapter()), Files.readAllBytes(resumed.adapter()));
            assertEquals(whole.eval(), resumed.eval());
            Map<String, Double> e = whole.eval();
            assertTrue(e.get("rewards/accuracies") >= 0.9 && e.get("rewards/margins") > 0, "held-out DPO stats after 12 steps: " + e);
            assertTrue(e.get("rewards/chosen") > e.get("rewards/rejected"));
        }
    }
}
