package dev.stackllama4j.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.testing.SharedFiles;
import java.util.List;
import org.junit.jupiter.api.Test;

class GeneratorTest {
    @Test
    void batchedGenerationEqualsEachPromptAlone() {
        try (LlamaModel m = LlamaModel.load(SharedFiles.fixture("models/gqa_f32.gguf"))) {
            List<int[]> prompts = List.of(new int[] {1, 72, 101}, new int[] {1, 80}, new int[] {1, 90, 91, 92, 93, 94});
            SamplingParams p = new SamplingParams(0.9, 20, 0.95, 11, 12, 0, false);
            Generator g = new Generator(m);
            List<Generator.Result> batch = g.generate(prompts, p, new int[] {12, 5, 9}, null);
            for (int i = 0; i < prompts.size(); i++) {
                Generator.Result alone = g.generate(List.of(prompts.get(i)), p.withSeed(p.seed() + i),
                        new int[] {new int[] {12, 5, 9}[i]}, null).get(0);
                assertArrayEquals(alone.tokens(), batch.get(i).tokens(), "prompt " + i);
            }
            assertEquals(5, batch.get(1).tokens().length);
        }
    }

    @Test
    void greedyDecodingFollowsArgmaxOfAFullForward() {
        try (LlamaModel m = LlamaModel.load(SharedFiles.fixture("models/untied_f16.gguf"))) {
            int[] prompt = {1, 50, 60};
            Generator.Result r = new Generator(m).generate(prompt, SamplingParams.greedy(6).withSeed(3), null);
            int[] all = java.util.Arrays.copyOf(prompt, prompt.length + r.tokens().length);
            System.arraycopy(r.tokens(), 0, all, prompt.length, r.tokens().length);
            float[][] logits = m.logits(all);
            for (int i = 0; i < r.tokens().length; i++)
                assertEquals(argmax(logits[prompt.length - 1 + i]), r.tokens()[i]);
        }
    }

    @Test
    void stopsAtEosAndHonoursMinTokens(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
        // init's small weights give near-uniform logits, so sampling reaches EOS within a few hundred tokens.
        java.nio.file.Path f = tmp.resolve("m.gguf");
        dev.stackllama4j.model.RandomModel.write(new dev.stackllama4j.model.ModelShape(64, 1, 4, 4, 128, 400, 4096, 10000, 1e-5, false),
                dev.stackllama4j.engine.TensorType.F32, 3, f);
        try (LlamaModel m = LlamaModel.load(f)) {
            int eos = m.tokenizer().vocabulary().eos();
            SamplingParams p = new SamplingParams(1.0, 0, 1.0, 4, 3000, 0, true);
            Generator.Result r = new Generator(m).generate(new int[] {1}, p, null);
            assertTrue(r.stoppedAtEos(), "no EOS in " + r.tokens().length + " tokens");
            assertEquals(eos, r.tokens()[r.tokens().length - 1]);
            for (int i = 0; i < r.tokens().length - 1; i++) assertTrue(r.tokens()[i] != eos);
            int min = r.tokens().length + 5;
            SamplingParams later = new SamplingParams(1.0, 0, 1.0, 4, 3000, min, true);
            Generator.Result longer = new Generator(m).generate(new int[] {1}, later, null);
            assertTrue(longer.tokens().length >= min);
            for (int i = 0; i < min - 1; i++) assertTrue(longer.tokens()[i] != eos, "EOS before min-new-tokens at " + i);
            SamplingParams ignore = new SamplingParams(1.0, 0, 1.0, 4, 300, 0, false);
            assertEquals(300, new Generator(m).generate(new int[] {1}, ignore, null).tokens().length);
        }
    }

    private static int argmax(float[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
        return best;
    }
}
