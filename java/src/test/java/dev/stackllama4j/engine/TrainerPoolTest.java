package dev.stackllama4j.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.train.LoraConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** No-grad passes (PPO's old, reference and value passes; reward scoring) against the training forward. */
class TrainerPoolTest {
    static Path model() {
        Path p = Path.of("src/test/resources/fixtures/models/gqa_f32.gguf");
        return Files.exists(p) ? p : Path.of("java").resolve(p);
    }

    @Test
    void noGradPassEqualsTheKeepingForwardAndHoldsNoPerLayerBuffers() {
        try (LlamaModel m = LlamaModel.load(model());
                LoraAdapter lora = LoraAdapter.create(m, new LoraConfig(4, 8, 0.1f, LoraConfig.parseTargets("q,k,v,o,gate,up,down"), 3));
                TrainerPool pool = new TrainerPool(m, lora, 0)) {
            float[] b = new float[(int) lora.tensors().get(1).elements()];
            for (int i = 0; i < b.length; i++) b[i] = (float) Math.sin(i) * 0.05f;
            lora.set(1, LoraAdapter.Field.VALUE, b);  // a non-zero B: the adapter changes the outputs
            List<int[]> seqs = List.of(new int[] {1, 5, 9, 2, 7, 4, 3, 3, 8}, new int[] {3, 8, 1});
            TrainerPool.Batch nograd = pool.forward(seqs, true, false, true, false);
            float[] lp = nograd.logProbs.clone(), hidden = nograd.hidden.clone();
            long inferBytes = nograd.trainer.bufferBytes();
            assertThrows(EngineException.class, () -> pool.backward(nograd, true, true, 1f), "nothing was kept for a backward");
            TrainerPool.Batch kept = pool.forward(seqs, true, false, true, true);
            assertArrayEquals(lp, kept.logProbs, 0f);
            assertArrayEquals(hidden, kept.hidden, 0f);
            assertTrue(kept.trainer.bufferBytes() > inferBytes + m.info().layers() * seqs.size() * 16L * m.info().dim() * 4,
                    "the keeping forward adds every layer's input and activations");
            pool.backward(kept, true, true, 1f);
        }
    }
}
