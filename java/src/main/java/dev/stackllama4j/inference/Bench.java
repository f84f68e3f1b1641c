package dev.stackllama4j.inference;

import dev.stackllama4j.engine.AdamW;
import dev.stackllama4j.engine.Backend;
import dev.stackllama4j.engine.Bandwidth;
import dev.stackllama4j.engine.Device;
import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.GgufTensorInfo;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.ModelInfo;
import dev.stackllama4j.engine.Session;
import dev.stackllama4j.engine.Tensor;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.engine.Trainer;
import dev.stackllama4j.train.LoraConfig;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * llama-bench-style throughput: prompt processing (one forward over {@code promptTokens}),
 * generation at batch 1 and batch 8 (sequences decoding side by side), and a LoRA training step
 * (forward + backward + AdamW, LoRA q,v r=16 over the frozen base, {@code trainBatch ×
 * trainSeq} random tokens), each the best of {@code repeats} runs. Beside them the physical
 * floors measured in the same process: for decode, weight bytes read per token over the measured
 * read bandwidth; for training, matmul FLOPs per token over a measured F32 matmul rate.
 */
public final class Bench {
    /**
     * @param trainBatch sequences per training step; 0 skips the training figure
     * @param matmulSize side of the square F32 matmul that measures the machine's FLOP rate
     */
    public record Config(int promptTokens, int genTokens, int repeats, int trainBatch, int trainSeq, int matmulSize) {
        public Config {
            if (promptTokens < 1 || genTokens < 1 || repeats < 1)
                throw new IllegalArgumentException("prompt tokens, generated tokens and repeats must be >= 1");
            if (trainBatch < 0) throw new IllegalArgumentException("training batch must be >= 0 (0 skips training)");
            if (trainBatch > 0 && trainSeq < 2) throw new IllegalArgumentException("training sequence length must be >= 2");
            if (matmulSize < 16) throw new IllegalArgumentException("matmul size must be >= 16");
        }

        public Config(int promptTokens, int genTokens, int repeats) {
            this(promptTokens, genTokens, repeats, 4, 128, 1024);
        }
    }

    private Bench() {}

    public static Map<String, Object> run(LlamaModel model, Config c) {
        Map<String, Object> r = new LinkedHashMap<>();
        int vocab = (int) model.info().vocab();
        int ctx = c.promptTokens() + c.genTokens() + 1;
        r.put("precision", model.precision().name().toLowerCase(java.util.Locale.ROOT));
        dev.stackllama4j.engine.Backend.kernelsRan();
        r.put("prefill_tok_s", best(c.repeats(), () -> prefill(model, c.promptTokens(), vocab)));
        r.put("prefill_kernels", dev.stackllama4j.engine.Backend.kernelsRan());
        r.put("amx", dev.stackllama4j.engine.Backend.amxStatus());
        long bytes = weightBytesPerToken(model);
        DecodeVsFloor d = decodeVsFloor(model, Math.max(5, c.repeats()), c.genTokens(), ctx, vocab, bytes);
        r.put("decode_tok_s", round(d.bestTokS()));
        r.put("decode_batch8_tok_s", best(c.repeats(), () -> decode(model, 8, c.genTokens(), ctx, vocab)));
        r.put("decode_kernels", dev.stackllama4j.engine.Backend.kernelsRan());
        if (c.trainBatch() > 0) r.put("train_tok_s", train(model, c.trainBatch(), c.trainSeq(), c.repeats()));
        r.put("weight_bytes_per_token", bytes);
        r.put("read_bandwidth_gb_s", round(d.medianFloorGBps()));
        r.put("decode_bound_tok_s", round(d.medianFloorGBps() * 1e9 / bytes));
        r.put("decode_vs_bound", round(d.medianRatio()));
        r.put("decode_runs_tok_s", rounded(d.tokS()));
        r.put("read_bandwidth_runs_gb_s", rounded(d.floorGBps()));
        r.put("decode_vs_bound_runs", rounded(d.ratio()));
        r.put("copy_bandwidth_gb_s", round(d.medianCopyGBps()));
        r.put("decode_vs_copy_bound", round(d.medianCopyRatio(bytes)));
        if (c.trainBatch() > 0) {
            double flops = trainFlopsPerToken(model.info(), c.trainSeq(), LoraConfig.defaults());
            double gflops = matmulGflops(c.matmulSize(), Math.max(3, c.repeats()));
            double trainBound = gflops * 1e9 / flops;
            r.put("train_batch", c.trainBatch());
            r.put("train_seq", c.trainSeq());
            r.put("train_flops_per_token", Math.round(flops));
            r.put("matmul_f32_gflop_s", round(gflops));
            r.put("train_bound_tok_s", round(trainBound));
            r.put("train_vs_bound", round((double) r.get("train_tok_s") / trainBound));
        }
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

    /**
     * Matmul FLOPs of one training token (multiply and add = 2), LoRA over a frozen base, sequences
     * of {@code seq} tokens with a causal mask. Not 6·P: the base gets no weight gradients, only
     * input gradients so the signal reaches the adapters below.
     * <pre>
     *   P      = L·(d·q + 2·d·kv + q·d + 3·d·f) + d·V       matmul weights (embedding lookup is free)
     *   c      = (T + 1) / 2                                 mean causal context
     *   fwd    = 2·P + L·4·q·c                               projections; scores Q·Kᵀ and P·V
     *   bwd    = 2·P − 2·d·(q + 2·kv) + L·8·q·c              input gradients of every projection except
     *                                                         layer 0's q,k,v (the embedding is frozen);
     *                                                         dS = dO·Vᵀ, dV, dQ, dK: 4 products
     *   lora   = Σ adapted (in, out): 6·r·(in + out) − [layer 0] 2·r·in
     *            (fwd A·x, B·u; bwd dB, du = Bᵀ·dy, dA, dx = Aᵀ·du)
     * </pre>
     * d dim, q = heads·head_dim, kv = kv_heads·head_dim, f ffn, V vocab, L layers, r rank.
     * Norms, RoPE, softmax, cross-entropy and AdamW are O(d) or O(V) per token and left out.
     */
    public static double trainFlopsPerToken(ModelInfo m, int seq, LoraConfig lora) {
        double d = m.dim(), q = m.heads() * m.headDim(), kv = m.kvHeads() * m.headDim(), f = m.ffn(), v = m.vocab();
        double layers = m.layers(), c = (seq + 1) / 2.0, r = lora.r();
        double p = layers * (d * q + 2 * d * kv + q * d + 3 * d * f) + d * v;
        double fwd = 2 * p + layers * 4 * q * c;
        double bwd = 2 * p - 2 * d * (q + 2 * kv) + layers * 8 * q * c;
        double adapters = 0;
        for (LoraConfig.Target t : lora.targets()) {
            double[] io = switch (t) {
                case Q -> new double[] {d, q};
                case K, V -> new double[] {d, kv};
                case O -> new double[] {q, d};
                case GATE, UP -> new double[] {d, f};
                case DOWN -> new double[] {f, d};
            };
            adapters += layers * 6 * r * (io[0] + io[1]) - 2 * r * io[0];
        }
        return fwd + bwd + adapters;
    }

    /** GFLOP/s of {@code out = x·wᵀ} with F32 n×n operands on the CPU pool, best of {@code repeats}. */
    public static double matmulGflops(int n, int repeats) {
        SplittableRandom rnd = new SplittableRandom(7);
        float[] vals = new float[n * n];
        for (int i = 0; i < vals.length; i++) vals[i] = (float) (rnd.nextDouble() * 2 - 1);
        try (Backend cpu = Backend.open(Device.CPU);
                Tensor w = Tensor.of(cpu, TensorType.F32, vals, n, n);
                Tensor x = Tensor.of(cpu, TensorType.F32, vals, n, n);
                Tensor out = Tensor.create(cpu, TensorType.F32, n, n)) {
            Tensor.matmul(out, w, x); // warm-up: pages, caches, thread pool
            double best = Double.MAX_VALUE;
            for (int i = 0; i < repeats; i++) {
                long t0 = System.nanoTime();
                Tensor.matmul(out, w, x);
                best = Math.min(best, (System.nanoTime() - t0) / 1e9);
            }
            return 2.0 * n * n * n / best / 1e9;
        }
    }

    /**
     * Tokens/s of one optimiser step as SFT takes it (zero grads, forward + cross-entropy +
     * backward, clip, AdamW) on random tokens; one warm-up step, then the best of {@code repeats}.
     */
    private static double train(LlamaModel model, int batch, int seq, int repeats) {
        int vocab = (int) model.info().vocab();
        int rows = batch * seq;
        SplittableRandom rnd = new SplittableRandom(11);
        int[] tokens = new int[rows], targets = new int[rows];
        for (int i = 0; i < rows; i++) tokens[i] = rnd.nextInt(vocab);
        for (int i = 0; i < rows; i++) targets[i] = (i + 1) % seq == 0 ? Trainer.IGNORE : tokens[i + 1];
        AdamW opt = AdamW.of(1e-4, 0.05);
        try (LoraAdapter lora = LoraAdapter.create(model, LoraConfig.defaults());
                Trainer tr = Trainer.create(model, lora, batch, seq, false)) {
            double best = Double.MAX_VALUE;
            for (int i = 0; i <= repeats; i++) {
                long t0 = System.nanoTime();
                lora.zeroGrad();
                tr.stepCrossEntropy(tokens, targets, null, 1f);
                lora.clipGradNorm(1.0);
                lora.adamwStep(opt);
                double s = (System.nanoTime() - t0) / 1e9;
                if (i > 0) best = Math.min(best, s);
            }
            return round(rows / best);
        }
    }

    /**
     * Decode at batch 1 against the read floor, measured in pairs. This machine's read bandwidth
     * changes by up to 1.6× within seconds (see docs/performance.md), so a best-of floor and a
     * best-of decode taken at different moments compare two different machines. Each run reads
     * 512 MiB (best of 3) just before and just after its decode; its floor is the mean of the two
     * and its ratio is its tokens/s over that floor. The reported ratio and floor are medians
     * over the runs; the spread of the floors shows how much the machine moved. Before each run a
     * 256 MiB copy (STREAM's count: read plus written bytes) gives the copy floor beside it.
     */
    record DecodeVsFloor(double[] tokS, double[] floorGBps, double[] ratio, double[] copyGBps) {
        double bestTokS() {
            return Arrays.stream(tokS).max().orElse(0);
        }

        double medianRatio() {
            return median(ratio);
        }

        double medianFloorGBps() {
            return median(floorGBps);
        }

        double medianCopyGBps() {
            return median(copyGBps);
        }

        /** Median over the runs of tokens/s over the copy floor measured just before the run. */
        double medianCopyRatio(long bytesPerToken) {
            double[] q = new double[tokS.length];
            for (int i = 0; i < q.length; i++) q[i] = tokS[i] / (copyGBps[i] * 1e9 / bytesPerToken);
            return median(q);
        }
    }

    static DecodeVsFloor decodeVsFloor(LlamaModel model, int runs, int steps, int ctx, int vocab, long bytesPerToken) {
        double[] tokS = new double[runs], floor = new double[runs], ratio = new double[runs], copy = new double[runs];
        for (int i = 0; i < runs; i++) {
            copy[i] = Bandwidth.measureCopyGBps(1L << 28, 3);
            double before = Bandwidth.measureGBps(1L << 29, 3);
            tokS[i] = decode(model, 1, steps, ctx, vocab);
            double after = Bandwidth.measureGBps(1L << 29, 3);
            floor[i] = (before + after) / 2;
            ratio[i] = tokS[i] / (floor[i] * 1e9 / bytesPerToken);
        }
        return new DecodeVsFloor(tokS, floor, ratio, copy);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
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

    private static List<Double> rounded(double[] v) {
        return Arrays.stream(v).map(Bench::round).boxed().toList();
    }

    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
