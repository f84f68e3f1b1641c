package dev.stackllama4j.inference;

import dev.stackllama4j.engine.Bandwidth;
import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.GgufTensorInfo;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.Session;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * llama-bench-style throughput: prompt processing (one forward over {@code promptTokens}), and
 * generation at batch 1 and batch 8 (sequences decoding side by side), each the best of
 * {@code repeats} runs, beside the decode floor: weight bytes read per token over the measured
 * read bandwidth.
 */
public final class Bench {
    public record Config(int promptTokens, int genTokens, int repeats) {
        public Config {
            if (promptTokens < 1 || genTokens < 1 || repeats < 1)
                throw new IllegalArgumentException("prompt tokens, generated tokens and repeats must be >= 1");
        }
    }

    private Bench() {}

    public static Map<String, Object> run(LlamaModel model, Config c) {
        Map<String, Object> r = new LinkedHashMap<>();
        int vocab = (int) model.info().vocab();
        int ctx = c.promptTokens() + c.genTokens() + 1;
        r.put("prefill_tok_s", best(c.repeats(), () -> prefill(model, c.promptTokens(), vocab)));
        r.put("decode_tok_s", best(c.repeats(), () -> decode(model, 1, c.genTokens(), ctx, vocab)));
        r.put("decode_batch8_tok_s", best(c.repeats(), () -> decode(model, 8, c.genTokens(), ctx, vocab)));
        long bytes = weightBytesPerToken(model);
        double bw = Bandwidth.measureGBps(1L << 30, 3);
        double bound = bw * 1e9 / bytes;
        r.put("weight_bytes_per_token", bytes);
        r.put("read_bandwidth_gb_s", round(bw));
        r.put("decode_bound_tok_s", round(bound));
        r.put("decode_vs_bound", round((double) r.get("decode_tok_s") / bound));
        return r;
    }

    /** Bytes of weights one decode step reads: every matrix once; of the embedding only one row. */
    public static long weightBytesPerToken(LlamaModel model) {
        long total = 0;
        try (GgufFile f = GgufFile.open(model.path())) {
            for (GgufTensorInfo t : f.tensors()) {
                if (t.name().equals("token_embd.weight")) total += model.info().tiedOutput() ? t.nBytes() : t.nBytes() / t.dims()[1];
                else total += t.nBytes();
            }
        }
        return total;
    }

    private static double prefill(LlamaModel model, int n, int vocab) {
        int[] toks = tokens(n, vocab);
        boolean[] out = new boolean[n];
        out[n - 1] = true;
        try (Session s = model.newSession(1, n)) {
            long t0 = System.nanoTime();
            s.decode(toks, null, out, true);
            return n / ((System.nanoTime() - t0) / 1e9);
        }
    }

    private static double decode(LlamaModel model, int batch, int steps, int ctx, int vocab) {
        int[] first = new int[batch], seqs = new int[batch], step = new int[batch];
        for (int b = 0; b < batch; b++) {
            first[b] = 1;
            seqs[b] = b;
        }
        float[] logits = new float[batch * vocab];
        try (Session s = model.newSession(batch, ctx)) {
            s.decode(first, seqs, null, true);
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                s.logits(logits);
                for (int b = 0; b < batch; b++) step[b] = 3 + Math.floorMod(i * 31 + b * 7, vocab - 3);
                s.decode(step, seqs, null, true);
            }
            return (double) steps * batch / ((System.nanoTime() - t0) / 1e9);
        }
    }

    private static int[] tokens(int n, int vocab) {
        int[] t = new int[n];
        t[0] = 1;
        for (int i = 1; i < n; i++) t[i] = 3 + Math.floorMod(i * 131, vocab - 3);
        return t;
    }

    private static double best(int repeats, java.util.function.DoubleSupplier f) {
        double b = 0;
        for (int i = 0; i < repeats; i++) b = Math.max(b, f.getAsDouble());
        return round(b);
    }

    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
