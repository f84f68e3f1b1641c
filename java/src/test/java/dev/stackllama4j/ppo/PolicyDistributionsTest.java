package dev.stackllama4j.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.engine.KvType;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.Session;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.engine.Trainable;
import dev.stackllama4j.model.ModelShape;
import dev.stackllama4j.model.RandomModel;
import dev.stackllama4j.reward.RewardHead;
import dev.stackllama4j.rl.LogProbs;
import dev.stackllama4j.rl.PpoConfig;
import dev.stackllama4j.train.LoraConfig;
import dev.stackllama4j.train.RunFolder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The policy's whole-vocabulary quantities, reduced natively (no logits row reaches Java): the
 * entropy of the training pass (ppo/policy/entropy) and the {@code full} KL estimator, against
 * float64 references on an F32-KV session's logits with the adapter attached and detached (what
 * the {@code full} estimator computed before, one decode per response and a log-softmax here).
 */
class PolicyDistributionsTest {
    @TempDir
    Path tmp;

    static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());

    Path model() {
        Path f = tmp.resolve("m.gguf");
        RandomModel.write(new ModelShape(64, 2, 4, 2, 160, 400, 256, 10000, 1e-5, false), TensorType.F32, 5, f);
        return f;
    }

    /** Non-zero B (LoRA's initial B is 0: the adapter would be the identity). */
    static void randomizeB(LoraAdapter lora, long seed) {
        Random rng = new Random(seed);
        for (int i = 0; i < lora.tensors().size(); i++) {
            if (!lora.tensors().get(i).name().endsWith("lora_b")) continue;
            float[] v = new float[(int) lora.tensors().get(i).elements()];
            for (int j = 0; j < v.length; j++) v[j] = (float) (rng.nextGaussian() * 0.2);
            lora.set(i, Trainable.Field.VALUE, v);
        }
    }

    /** Session logits of the rows predicting each response token, adapter on or off. */
    static float[][] sessionRows(LlamaModel m, LoraAdapter lora, boolean on, int[] query, int[] response) {
        int[] seq = RewardFunction.concat(query, response);
        boolean[] out = new boolean[seq.length];
        for (int t = 0; t < response.length; t++) out[query.length + t - 1] = true;
        try (Session s = m.newSession(1, seq.length)) {
            s.setLora(lora, on);
            s.decode(seq, null, out, true);
            return s.logitRows();
        }
    }

    @Test
    void fullKlAndTrainingEntropyMatchFloat64ReferencesOnSessionLogits() {
        // the trainer's keys and values are F32
        try (LlamaModel m = LlamaModel.load(model(), LlamaModel.Options.defaults().withKvType(KvType.F32));
                LoraAdapter lora = LoraAdapter.create(m, new LoraConfig(4, 8f, 0f, EnumSet.allOf(LoraConfig.Target.class), 2))) {
            randomizeB(lora, 7);
            List<int[]> queries = List.of(new int[] {1, 17, 42, 5}, new int[] {1, 9}, new int[] {1, 200, 33, 7, 81, 4, 12});
            List<int[]> responses = List.of(new int[] {60, 61, 62}, new int[] {100, 7, 3, 250, 11}, new int[] {2});
            try (Policy p = new Policy(m, lora, new RewardHead(new float[(int) m.info().dim()]))) {
                double[][] kl = p.fullKl(queries, responses);
                double[][] entropy = p.evaluate(queries, responses, true, true, false).entropy();
                double sum = 0;
                for (int i = 0; i < queries.size(); i++) {
                    float[][] on = sessionRows(m, lora, true, queries.get(i), responses.get(i));
                    float[][] off = sessionRows(m, lora, false, queries.get(i), responses.get(i));
                    assertEquals(responses.get(i).length, kl[i].length);
                    for (int t = 0; t < kl[i].length; t++) {
                        double ke = LogProbs.fullKl(on[t], off[t]), he = LogProbs.entropyFromLogits(on[t]);
                        assertEquals(ke, kl[i][t], 1e-4 * Math.max(1, ke), "KL, response " + i + " token " + t);
                        assertEquals(he, entropy[i][t], 1e-4 * Math.max(1, he), "entropy, response " + i + " token " + t);
                        sum += ke;
                    }
                }
                assertTrue(sum > 1e-3, "the adapter must move the distribution for the KL check to mean anything: " + sum);
                // the no-grad passes carry no entropy
                assertEquals(null, p.evaluate(queries, responses, true, false, false).entropy());
            }
        }
    }

    @Test
    void everyPpoStepLogsAFiniteEntropyAndTrlsTokenAndLearningRateStats() throws Exception {
        Path model = model(), prompts = tmp.resolve("rl.jsonl");
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 8; i++) b.append("{\"qid\": ").append(i).append(", \"question\": \"What is ").append(i).append(" minus 1?\"}\n");
        Files.writeString(prompts, b.toString());
        PpoConfig c = PpoConfig.defaults().toBuilder().learningRate(1e-3).batchSize(4).miniBatchSize(2).ppoEpochs(1).minNewTokens(2)
                .maxNewTokens(5).seed(2).build();
        LoraConfig lora = new LoraConfig(4, 8f, 0.05f, EnumSet.of(LoraConfig.Target.Q, LoraConfig.Target.V), 1);
        RewardFunction reward = (q, r, questions, answers) -> {
            double[] s = new double[r.size()];
            for (int i = 0; i < s.length; i++) s[i] = r.get(i).length % 2;
            return s;
        };
        List<PpoRun.StepResult> steps;
        int[] queryLens;
        try (PpoSession s = PpoSession.open(model, lora, reward);
                RunFolder f = RunFolder.open(tmp.resolve("out"), RunFolder.Mode.FRESH, QUIET, PpoRun.OUTPUTS)) {
            Prompts p = new Prompts(Prompts.read(prompts, s.model().tokenizer(), s.maxPromptTokens(c), new int[1]), 1);
            queryLens = new int[8];
            for (int i = 0; i < 8; i++) queryLens[i] = p.at(i).tokens().length;
            steps = new PpoRun(s.policy(), s.reward(), p, c, new PpoRun.Settings(2, 0, 1.0), f, QUIET).run();
        }
        assertEquals(2, steps.size());
        for (int k = 0; k < 2; k++) {
            Map<String, Object> row = steps.get(k).row();
            double h = (double) row.get("ppo/policy/entropy");
            // a random model over 400 tokens is nearly uniform: entropy a little under ln 400 = 5.99
            assertTrue(Double.isFinite(h) && h > 5 && h <= Math.log(400) + 1e-6, "ppo/policy/entropy " + h);
            assertEquals(1e-3, (double) row.get("ppo/learning_rate"));
            double qMean = 0;
            for (int i = 4 * k; i < 4 * k + 4; i++) qMean += queryLens[i] / 4.0;
            assertEquals(qMean, (double) row.get("tokens/queries_len_mean"), 1e-12);
            double rMean = (double) row.get("tokens/responses_len_mean");
            assertTrue(rMean >= 1 && rMean <= 5, "tokens/responses_len_mean " + rMean);
            assertTrue(row.containsKey("tokens/queries_len_std") && row.containsKey("tokens/responses_len_std"));
        }
    }
}
