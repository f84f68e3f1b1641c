package dev.stackllama4j.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.data.Template;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.model.ModelShape;
import dev.stackllama4j.model.RandomModel;
import dev.stackllama4j.train.LoraConfig;
import dev.stackllama4j.train.LrSchedule;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RewardRunTest {
    @TempDir
    Path tmp;

    static final String[] WORDS = {"apple", "river", "stone", "cloud", "paper", "glass", "music", "train", "light", "table"};

    /** Answers of random words; the chosen one contains the marker "great", the rejected one does not. */
    static List<RewardData.TokenPair> plantedPairs(LlamaModel m, int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<RewardData.TokenPair> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String q = "Question " + r.nextInt(100) + " about " + WORDS[r.nextInt(WORDS.length)] + "?";
            StringBuilder a = new StringBuilder(), b = new StringBuilder();
            int len = 3 + r.nextInt(4);
            int marker = r.nextInt(len);
            for (int w = 0; w < len; w++) {
                a.append(w == marker ? "great" : WORDS[r.nextInt(WORDS.length)]).append(' ');
                b.append(WORDS[r.nextInt(WORDS.length)]).append(' ');
            }
            out.add(new RewardData.TokenPair(String.valueOf(i), m.tokenizer().encode(Template.format(q, a.toString().trim()), true, false),
                    m.tokenizer().encode(Template.format(q, b.toString().trim()), true, false)));
        }
        return out;
    }

    @Test
    void tinyModelLearnsAPlantedPreferenceToNinetyFivePercentHeldOut() throws Exception {
        Path f = tmp.resolve("m.gguf");
        RandomModel.write(new ModelShape(64, 2, 4, 2, 160, 400, 256, 10000, 1e-5, false), TensorType.F32, 2, f);
        try (LlamaModel m = LlamaModel.load(f)) {
            List<RewardData.TokenPair> train = plantedPairs(m, 256, 1), held = plantedPairs(m, 200, 2);
            LoraConfig lora = new LoraConfig(8, 32f, 0.1f, EnumSet.of(LoraConfig.Target.Q, LoraConfig.Target.V), 0);
            RewardConfig c = new RewardConfig(3e-3, 8, 1, 4, LrSchedule.Kind.LINEAR, 5, 0.001, 512, 1.0, 0, 0, lora, 0, 0);
            RewardRun run = new RewardRun(m, c, train, held, tmp.resolve("out"), new PrintStream(new ByteArrayOutputStream()));
            assertEquals(128, run.totalSteps());
            RewardRun.Summary s = run.run(false);
            assertTrue(s.eval().accuracy() >= 0.95, "held-out accuracy " + s.eval().accuracy());
            // the saved reward model scores the same as the trained one
            try (RewardModelFile.Loaded r = RewardModelFile.load(s.rewardModel(), m, false);
                    SequenceScorer sc = new SequenceScorer(m, r.lora(), r.head(), 2)) {
                RewardRun.Evaluation again = RewardRun.evaluate(sc, held, 16);
                assertEquals(s.eval().accuracy(), again.accuracy(), 1e-12);
                assertEquals(s.eval().loss(), again.loss(), 1e-4);
            }
        }
    }

    @Test
    void scoresDoNotDependOnPaddingOrBatchCompanions() {
        Path f = tmp.resolve("m.gguf");
        RandomModel.write(new ModelShape(64, 2, 4, 2, 160, 400, 256, 10000, 1e-5, false), TensorType.Q8_0, 2, f);
        try (LlamaModel m = LlamaModel.load(f);
                var lora = dev.stackllama4j.engine.LoraAdapter.create(m, RewardConfig.defaultLora(3));
                SequenceScorer sc = new SequenceScorer(m, lora, RewardHead.init(64, 1), 2)) {
            int[] a = m.tokenizer().encode("Question: hi\n\nAnswer: hello there", true, false);
            int[] b = m.tokenizer().encode("Question: a much longer question with many words in it\n\nAnswer: ok", true, false);
            double alone = sc.score(List.of(a), false)[0];
            double[] both = sc.score(List.of(b, a), false);
            assertEquals(alone, both[1], 1e-5);
            // the head on the model's own hidden state (an F32 KV cache: the trainer's keys are F32)
            m.useKvType(dev.stackllama4j.engine.KvType.F32);
            float[][] hidden = m.hiddenStates(a);
            RewardHead h = RewardHead.init(64, 1);
            double direct = 0;
            for (int i = 0; i < 64; i++) direct += h.weight[i] * hidden[a.length - 1][i];
            assertEquals(direct, alone, 1e-4);
        }
    }
}
