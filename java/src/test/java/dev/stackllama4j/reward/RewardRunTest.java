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
import dev.stackllama4j.train.RunFolder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

public class RewardRunTest {
    @TempDir
    Path tmp;

    static final String[] WORDS = {"apple", "river", "stone", "cloud", "paper", "glass", "music", "train", "light", "table"};

    /** A question and two answers of random words; the chosen one contains the marker "great", the rejected one does not. */
    public record PlantedText(String question, String chosen, String rejected) {}

    /** {@code n} texts whose answers have {@code minWords} to {@code minWords + spread − 1} words. */
    public static List<PlantedText> plantedTexts(int n, long seed, int minWords, int spread) {
        SplittableRandom r = new SplittableRandom(seed);
        List<PlantedText> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String q = "Question " + r.nextInt(100) + " about " + WORDS[r.nextInt(WORDS.length)] + "?";
            StringBuilder a = new StringBuilder(), b = new StringBuilder();
            int len = minWords + r.nextInt(spread);
            int marker = r.nextInt(len);
            for (int w = 0; w < len; w++) {
                a.append(w == marker ? "great" : WORDS[r.nextInt(WORDS.length)]).append(' ');
                b.append(WORDS[r.nextInt(WORDS.length)]).append(' ');
            }
            out.add(new PlantedText(q, a.toString().trim(), b.toString().trim()));
        }
        return out;
    }

    static List<RewardData.TokenPair> plantedPairs(LlamaModel m, int n, long seed) {
        List<RewardData.TokenPair> out = new ArrayList<>();
        for (PlantedText t : plantedTexts(n, seed, 3, 4))
            out.add(new RewardData.TokenPair(String.valueOf(out.size()), m.tokenizer().encode(Template.format(t.question(), t.chosen()), true, false),
                    m.tokenizer().encode(Template.format(t.question(), t.rejected()), true, false)));
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
            PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
            RewardRun.Summary s;
            try (RunFolder out = RunFolder.open(tmp.resolve("out"), RunFolder.Mode.FRESH, quiet)) {
                RewardRun run = new RewardRun(m, c, train, held, out, quiet);
                assertEquals(128, run.totalSteps());
                s = run.run();
            }
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
            float[][] hidden;
            try (LlamaModel f32 = LlamaModel.load(f, LlamaModel.Options.defaults().withKvType(dev.stackllama4j.engine.KvType.F32))) {
                hidden = f32.hiddenStates(a);
            }
            RewardHead h = RewardHead.init(64, 1);
            double direct = 0;
            for (int i = 0; i < 64; i++) direct += h.weight[i] * hidden[a.length - 1][i];
            assertEquals(direct, alone, 1e-4);
        }
    }
}
