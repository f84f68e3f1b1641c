package dev.stackllama4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.engine.Backend;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.Precision;
import dev.stackllama4j.io.Npy;
import dev.stackllama4j.testing.SharedFiles;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fast precision (8-bit activations, integer dot products) against the exact one on the real
 * stories260K model quantized by {@code quantize}: logits relative error, top-1 agreement and the
 * change of perplexity over a TinyStories paragraph, and the {@code --precision} flag.
 */
class PrecisionTest {
    static final String TEXT = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
            + "One day, she saw a big, red ball. She wanted to play with it, so she ran to get it.";

    @TempDir
    Path tmp;

    /** Bound on |perplexity fast / exact - 1|: about twice its spread under float rounding (below). */
    static final double PPL_BOUND = 0.01;

    record Agreement(double relErr, double top1, double pplExact, double pplFast, String kernels) {}

    static Agreement compare(Path model) {
        try (LlamaModel m = LlamaModel.load(model);
                LlamaModel fastModel = LlamaModel.load(model, LlamaModel.Options.defaults().withPrecision(Precision.FAST))) {
            int[] ids = m.tokenizer().encode(TEXT, true, false);
            float[][] exact = m.logits(ids);
            float[] lpExact = m.logProbs(ids);
            Backend.kernelsRan();
            float[][] fast = fastModel.logits(ids);
            String kernels = Backend.kernelsRan();
            float[] lpFast = fastModel.logProbs(ids);
            double worst = 0, scale = 0;
            int agree = 0;
            for (int i = 0; i < ids.length; i++) {
                for (int v = 0; v < exact[i].length; v++) {
                    worst = Math.max(worst, Math.abs(fast[i][v] - exact[i][v]));
                    scale = Math.max(scale, Math.abs(exact[i][v]));
                }
                if (argmax(fast[i]) == argmax(exact[i])) agree++;
            }
            return new Agreement(worst / scale, agree / (double) ids.length, ppl(lpExact), ppl(lpFast), kernels);
        }
    }

    static double ppl(float[] lp) {
        double s = 0;
        for (float v : lp) s += v;
        return Math.exp(-s / lp.length);
    }

    static int argmax(float[] v) {
        int b = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[b]) b = i;
        return b;
    }

    Path quantized(String type) {
        Path src = SharedFiles.require("models/stories260K/stories260K.gguf");
        Path out = tmp.resolve("stories260K-" + type + ".gguf");
        CliTest.Run r = CliTest.run("quantize", "--model", src.toString(), "--out", out.toString(), "--type", type);
        assertEquals(0, r.code(), r.err());
        return out;
    }

    /**
     * Q8_0 (the ffn_down weights, 172 wide, stay F16: no integer path): the activation step
     * (max|x|/254 per 32 values, its scale kept as FP16 as ggml's block_q8_0) is the only
     * difference. Measured: logits within 0.0123 of the largest logit, top-1 agreement 1.0 over
     * the paragraph, perplexity 1.6824 -> 1.6823 (-0.01%).
     * The perplexity change is as large as float rounding makes it: scaling every integer-path
     * product by 1 +- 1e-7 .. 1e-6 (an ulp or a few) flips some later activation roundings and
     * moved it over 1.6735 .. 1.6881 (-0.53% .. +0.34%), the logit error over 0.0109 .. 0.0135.
     * Bounds: about twice that spread (1% on perplexity, 0.025 on logits; the top-1 bound allows two
     * flips); a mis-decoded block (a wrong scale or nibble order) gives errors of order 1 and
     * fails all three.
     */
    @Test
    void q8_0FastAgreesWithExact() {
        Agreement a = compare(quantized("q8_0"));
        System.out.printf("q8_0 fast vs exact: logits rel. err %.5f, top-1 %.3f, ppl %.4f -> %.4f; kernels %s%n", a.relErr(), a.top1(),
                a.pplExact(), a.pplFast(), a.kernels());
        assertTrue(a.kernels().contains("q8_0/"), a.kernels()); // the integer path ran
        assertTrue(a.relErr() > 0, "fast equals exact: the integer path did not run");
        assertTrue(a.relErr() < 0.025, "logits relative error " + a.relErr());
        assertTrue(a.top1() >= 0.95, "top-1 agreement " + a.top1());
        assertTrue(Math.abs(a.pplFast() / a.pplExact() - 1) < PPL_BOUND, a.pplExact() + " -> " + a.pplFast());
    }

    /**
     * Q4_0 (output Q8_0, ffn_down F16): measured 0.0129 of the largest logit, top-1 1.0,
     * perplexity 1.8463 -> 1.8463 (1.8439 .. 1.8498 under the same rounding perturbations); the
     * same bounds.
     */
    @Test
    void q4_0FastAgreesWithExact() {
        Agreement a = compare(quantized("q4_0"));
        System.out.printf("q4_0 fast vs exact: logits rel. err %.5f, top-1 %.3f, ppl %.4f -> %.4f; kernels %s%n", a.relErr(), a.top1(),
                a.pplExact(), a.pplFast(), a.kernels());
        assertTrue(a.kernels().contains("q4_0/"), a.kernels());
        assertTrue(a.relErr() > 0 && a.relErr() < 0.025, "logits relative error " + a.relErr());
        assertTrue(a.top1() >= 0.95, "top-1 agreement " + a.top1());
        assertTrue(Math.abs(a.pplFast() / a.pplExact() - 1) < PPL_BOUND, a.pplExact() + " -> " + a.pplFast());
    }

    /** logits defaults to exact; --precision fast changes them; a bad value is a usage error. */
    @Test
    void logitsCommandTakesPrecision() throws Exception {
        Path model = quantized("q8_0");
        Path exact = tmp.resolve("e.npy"), dflt = tmp.resolve("d.npy"), fast = tmp.resolve("f.npy");
        String tokens = "1,400,401,402,403";
        assertEquals(0, CliTest.run("logits", "--model", model.toString(), "--tokens", tokens, "--out", dflt.toString()).code());
        assertEquals(0, CliTest.run("logits", "--model", model.toString(), "--tokens", tokens, "--precision", "exact", "--out",
                exact.toString()).code());
        assertEquals(0, CliTest.run("logits", "--model", model.toString(), "--tokens", tokens, "--precision", "fast", "--out",
                fast.toString()).code());
        float[] e = row(exact), d = row(dflt), f = row(fast);
        assertTrue(Arrays.equals(e, d), "logits must default to exact");
        assertFalse(Arrays.equals(e, f), "--precision fast must change the logits of a Q8_0 model");
        CliTest.Run bad = CliTest.run("logits", "--model", model.toString(), "--tokens", tokens, "--precision", "medium", "--out",
                fast.toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("expected exact or fast"), bad.err());
        assertThrows(IllegalArgumentException.class, () -> Precision.parse("medium"));
    }

    private static float[] row(Path npy) throws Exception {
        Npy.Array a = Npy.read(npy);
        float[] r = new float[a.cols()];
        for (int v = 0; v < r.length; v++) r[v] = (float) a.get(a.rows() - 1, v);
        return r;
    }
}
