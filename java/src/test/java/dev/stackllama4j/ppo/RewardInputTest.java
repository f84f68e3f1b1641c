package dev.stackllama4j.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.stackllama4j.cli.Main;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.reward.RewardHead;
import dev.stackllama4j.reward.RewardModelFile;
import dev.stackllama4j.rl.PpoConfig;
import dev.stackllama4j.train.LoraConfig;
import dev.stackllama4j.train.RunFolder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reward model scores a PPO response exactly as {@code score} scores the same text: what train-reward trains on. */
class RewardInputTest {
    @TempDir
    Path tmp;

    record Scored(String question, String answer, int[] response, double score) {}

    static String scoreCli(Path model, Path rm, String question, String answer) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = new Main(Main.allCommands()).run(new String[] {"score", "--model", model.toString(), "--reward-adapter", rm.toString(),
                "--question", question, "--answer", answer}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        return out.toString(StandardCharsets.UTF_8).strip();
    }

    @Test
    void scoreOfATextEqualsTheInPpoScoreOfTheSameResponseWithOrWithoutEos() throws Exception {
        PpoGuardsTest g = new PpoGuardsTest();
        g.tmp = tmp;
        g.files();
        Path rm = tmp.resolve("reward.gguf");
        try (LlamaModel m = LlamaModel.load(g.model);
                LoraAdapter lora = LoraAdapter.create(m, new LoraConfig(4, 8f, 0f, EnumSet.of(LoraConfig.Target.Q), 3))) {
            RewardModelFile.save(rm, lora, RewardHead.init((int) m.info().dim(), 3), 128);
        }
        List<Scored> seen = new ArrayList<>();
        RewardFunction learned = RewardFunction.learned(g.model, rm);
        RewardFunction recording = new RewardFunction() {
            @Override
            public double[] score(List<int[]> queries, List<int[]> responses, List<String> questions, List<String> answers) {
                double[] s = learned.score(queries, responses, questions, answers);
                for (int i = 0; i < s.length; i++) seen.add(new Scored(questions.get(i), answers.get(i), responses.get(i), s[i]));
                return s;
            }

            @Override
            public void close() {
                learned.close();
            }
        };
        PpoConfig c = PpoConfig.defaults().toBuilder().batchSize(4).miniBatchSize(2).ppoEpochs(1).minNewTokens(2).maxNewTokens(6).seed(1)
                .build();
        LoraConfig lora = new LoraConfig(4, 8f, 0f, EnumSet.of(LoraConfig.Target.Q, LoraConfig.Target.V), 1);
        int eos;
        try (PpoSession s = PpoSession.open(g.model, lora, recording);
                RunFolder f = RunFolder.open(tmp.resolve("ppo"), RunFolder.Mode.FRESH, PpoGuardsTest.QUIET, PpoRun.OUTPUTS)) {
            Prompts p = new Prompts(Prompts.read(g.prompts, s.model().tokenizer(), s.maxPromptTokens(c), new int[1]), 1);
            new PpoRun(s.policy(), s.reward(), p, c, new PpoRun.Settings(1, 0, 1.0), f, PpoGuardsTest.QUIET).run();
            eos = s.model().tokenizer().vocabulary().eos();
            assertEquals(4, seen.size());
            // the same responses ending in EOS, as a rollout that stopped there hands them over
            List<int[]> queries = new ArrayList<>(), withEos = new ArrayList<>();
            List<String> questions = new ArrayList<>(), answers = new ArrayList<>();
            for (Scored x : seen.subList(0, 4)) {
                queries.add(s.model().tokenizer().encode(dev.stackllama4j.data.Template.prompt(x.question()), true, false));
                int[] r = Arrays.copyOf(x.response(), x.response().length + 1);
                r[r.length - 1] = eos;
                withEos.add(r);
                questions.add(x.question());
                answers.add(s.model().tokenizer().decode(r));
            }
            s.reward().score(queries, withEos, questions, answers);
        }
        assertEquals(8, seen.size());
        for (int i = 0; i < 4; i++) {
            Scored plain = seen.get(i), eosd = seen.get(i + 4);
            assertEquals(plain.answer(), eosd.answer(), "EOS decodes to nothing");
            assertFalse(plain.answer().isEmpty() && plain.response().length > 1, "a sampled answer decodes to text");
            assertEquals(String.format("%.6f", plain.score()), scoreCli(g.model, rm, plain.question(), plain.answer()), "response " + i);
            assertEquals(plain.score(), eosd.score(), 0.0, "the final EOS does not change the score (response " + i + ")");
        }
    }
}
