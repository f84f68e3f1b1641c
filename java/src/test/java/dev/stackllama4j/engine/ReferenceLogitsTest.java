package dev.stackllama4j.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackllama4j.io.Npy;
import dev.stackllama4j.testing.SharedFiles;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Our logits and final hidden states against an independent implementation (PyTorch float64,
 * scripts/reference/llama_ref.py, on the same dequantized weights): max |err| ≤ 1e-4 × max |logit|
 * per the fixture README. Models in every weight type, GQA, untied output, a non-default rope base.
 */
class ReferenceLogitsTest {
    static final double REL_TOL = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {"models/gqa_f32_p16", "models/gqa_f32_p70", "models/untied_f16_p16",
            "models/ropebase_q8_0_p16", "models/q4_0_p16", "models/q4_k_p16", "models/kquant_mix_p16"})
    void randomModelsMatchReference(String fixture) throws IOException {
        JsonNode meta = new ObjectMapper().readTree(SharedFiles.fixture(fixture + ".json").toFile());
        Path model = SharedFiles.fixture("models/" + meta.get("model").asText());
        compare(model, meta, fixture);
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K_bos", "stories260K_prompt80"})
    void stories260KMatchesReference(String fixture) throws IOException {
        Path model = SharedFiles.require("models/stories260K/stories260K.gguf");
        JsonNode meta = new ObjectMapper().readTree(SharedFiles.fixture(fixture + ".json").toFile());
        compare(model, meta, fixture);
    }

    private static void compare(Path modelPath, JsonNode meta, String fixture) throws IOException {
        int[] tokens = ints(meta.get("tokens"));
        String dir = fixture.contains("/") ? fixture.substring(0, fixture.lastIndexOf('/') + 1) : "";
        Npy.Array ref = Npy.read(SharedFiles.fixture(dir + meta.get("logits_file").asText()));
        Npy.Array refHidden = Npy.read(SharedFiles.fixture(dir + meta.get("hidden_file").asText()));
        int[] positions = ints(meta.get("positions"));
        // the exact cache: these references allow float rounding only
        try (LlamaModel m = LlamaModel.load(modelPath, LlamaModel.Options.defaults().withKvType(KvType.F32))) {
            float[][] logits = m.logits(tokens);
            float[][] hidden = m.hiddenStates(tokens);
            double scale = meta.get("max_abs_logit").asDouble();
            double worst = 0, worstHidden = 0, hiddenScale = 0;
            for (int i = 0; i < positions.length; i++) {
                for (int v = 0; v < ref.cols(); v++)
                    worst = Math.max(worst, Math.abs(logits[positions[i]][v] - ref.get(i, v)));
                for (int d = 0; d < refHidden.cols(); d++) {
                    worstHidden = Math.max(worstHidden, Math.abs(hidden[positions[i]][d] - refHidden.get(i, d)));
                    hiddenScale = Math.max(hiddenScale, Math.abs(refHidden.get(i, d)));
                }
            }
            assertTrue(worst <= REL_TOL * scale, fixture + ": max |logit err| " + worst + " > " + REL_TOL + " × " + scale);
            assertTrue(worstHidden <= REL_TOL * hiddenScale,
                    fixture + ": max |hidden err| " + worstHidden + " > " + REL_TOL + " × " + hiddenScale);
            // argmax agrees wherever the reference's top-2 margin is clear of the tolerance
            JsonNode argmax = meta.get("argmax"), margin = meta.get("top2_margin");
            for (int i = 0; i < positions.length; i++) {
                if (margin.get(i).asDouble() < 10 * REL_TOL * scale) continue;
                assertEquals(argmax.get(i).asInt(), argmaxOf(logits[positions[i]]), fixture + ": argmax at " + i);
            }
        }
    }

    static int argmaxOf(float[] v) {
        int b = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[b]) b = i;
        return b;
    }

    static int[] ints(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) out[i] = arr.get(i).asInt();
        return out;
    }

    @org.junit.jupiter.api.Test
    void logProbsEqualLogSoftmaxOfLogits() {
        Path model = SharedFiles.fixture("models/gqa_f32.gguf");
        // the exact cache: these references allow float rounding only
        try (LlamaModel m = LlamaModel.load(model, LlamaModel.Options.defaults().withKvType(KvType.F32))) {
            int[] toks = {1, 72, 101, 108, 108, 111, 260, 265};
            float[][] logits = m.logits(toks);
            float[] lp = m.logProbs(toks);
            assertEquals(toks.length - 1, lp.length);
            for (int i = 0; i < lp.length; i++) {
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (float x : logits[i]) max = Math.max(max, x);
                for (float x : logits[i]) sum += Math.exp(x - max);
                double expected = logits[i][toks[i + 1]] - max - Math.log(sum);
                assertEquals(expected, lp[i], 1e-5);
            }
            assertArrayEquals(new float[0], m.logProbs(new int[] {1}));
        }
    }
}
