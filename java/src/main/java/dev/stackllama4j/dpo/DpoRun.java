package dev.stackllama4j.dpo;

import dev.stackllama4j.engine.AdamW;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.TrainerPool;
import dev.stackllama4j.train.AdapterFile;
import dev.stackllama4j.train.BatchLoop;
import dev.stackllama4j.train.Checkpoint;
import dev.stackllama4j.train.DivergedException;
import dev.stackllama4j.train.LrSchedule;
import dev.stackllama4j.train.RunFolder;
import dev.stackllama4j.train.RunSettings;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Direct Preference Optimization: a LoRA adapter over the (quantized) trunk trained on preference
 * pairs with a {@link DpoLoss}. The reference is the same trunk with the adapter off, so no second
 * model is held: its log-probs come from a no-grad pass with the adapter disabled. The gradient
 * with respect to each answer token's log-prob goes back through the native trainer's log-prob
 * backward. Output folder: {@code adapter.gguf} (llama.cpp LoRA), {@code checkpoint.gguf},
 * {@code metrics.jsonl} (TRL's DPO stat names), {@code config.json}; the loop, checkpoints and
 * resume are {@link BatchLoop}'s.
 */
public final class DpoRun {
    /** The run's own result files, besides those every {@link RunFolder} knows. */
    public static final String[] OUTPUTS = {"adapter.gguf"};

    /** Settings that may differ on --resume (see {@code SftRun.changeableOnResume}). */
    public static Set<String> changeableOnResume(DpoConfig c) {
        Set<String> s = new HashSet<>(Set.of("save-every"));
        if (c.schedule() == LrSchedule.Kind.CONSTANT && c.warmupSteps() == 0) s.addAll(Set.of("max-steps", "epochs"));
        return s;
    }

    /** Steps done, the last step's loss, the last evaluation's stats (null without eval pairs) and the adapter. */
    public record Summary(int stepsDone, int totalSteps, double lastLoss, Map<String, Double> eval, Path adapter) {}

    private final LlamaModel model;
    private final DpoConfig c;
    private final List<DpoData.Pair> train, eval;
    private final RunFolder out;
    private final PrintStream log;

    public DpoRun(LlamaModel model, DpoConfig config, List<DpoData.Pair> train, List<DpoData.Pair> eval, RunFolder out, PrintStream log) {
        long ctx = model.info().trainContext();
        for (List<DpoData.Pair> l : List.of(train, eval))
            for (DpoData.Pair p : l) {
                int longer = Math.max(p.chosen().length, p.rejected().length);
                if (longer > ctx)
                    throw new IllegalArgumentException("pair " + p.qid() + " has a side of " + longer
                            + " tokens, past the model's context of " + ctx + " (" + model.path() + "); lower --max-length");
            }
        if (train.size() < config.batchSize())
            throw new IllegalArgumentException(train.size() + " training pairs, fewer than one batch of " + config.batchSize());
        this.model = model;
        this.c = config;
        this.train = train;
        this.eval = eval;
        this.out = out;
        this.log = log;
    }

    public int totalSteps() {
        return BatchLoop.totalSteps(train.size(), c.batchSize(), c.gradAccum(), c.maxSteps(), c.epochs());
    }

    public Summary run() throws IOException {
        Path ckpt = out.checkpoint();
        out.input("model", model.path()).setting("data.train-pairs", train.size()).setting("data.eval-pairs", eval.size());
        Checkpoint.State s = out.begin("dpo", RunSettings.of(c), changeableOnResume(c));
        try (LoraAdapter lora = s != null ? Checkpoint.load(ckpt, model, 0) : LoraAdapter.create(model, c.lora());
                Objective obj = new Objective(model, lora, c)) {
            BatchLoop.Settings ls = new BatchLoop.Settings("dpo", c.lr(), c.schedule(), c.warmupSteps(), totalSteps(), c.batchSize(),
                    c.gradAccum(), c.weightDecay(), c.maxGradNorm(), c.evalEvery(), c.saveEvery(), c.seed() * 31);
            BatchLoop.Result r = new BatchLoop<>(ls, train, eval, out, log).run(obj, s);
            Path adapter = out.file("adapter.gguf");
            AdapterFile.save(adapter, lora);
            return new Summary(r.stepsDone(), totalSteps(), r.lastLoss(), r.eval(), adapter);
        }
    }

    /** DPO as a {@link BatchLoop} objective: the adapter trained, the reference its trunk. */
    public static final class Objective implements BatchLoop.Objective<DpoData.Pair>, AutoCloseable {
        private final LoraAdapter lora;
        private final DpoConfig c;
        private final TrainerPool pool;

        public Objective(LlamaModel model, LoraAdapter lora, DpoConfig config) {
            this.lora = lora;
            this.c = config;
            this.pool = new TrainerPool(model, lora, model.tokenizer().vocabulary().eos());
        }

        @Override
        public Map<String, Double> step(List<DpoData.Pair> batch, float gradScale) {
            List<int[]> seqs = sequences(batch);
            double[] ref = answerLogps(pool.forward(seqs, true, false, false, false), batch);
            TrainerPool.Batch b = pool.forward(seqs, true, true, true, true);
            double[] pol = answerLogps(b, batch);
            DpoLoss.Result r = loss(pol, ref, batch.size());
            java.util.Arrays.fill(b.dLogProbs, 0f);
            int n = batch.size();
            for (int i = 0; i < n; i++) {
                spread(b, i, batch.get(i).chosen().length, batch.get(i).chosenStart(), r.dChosen()[i]);
                spread(b, n + i, batch.get(i).rejected().length, batch.get(i).rejectedStart(), r.dRejected()[i]);
            }
            pool.backward(b, true, false, gradScale);
            return stats(r);
        }

        /** Loss and stats over {@code pairs}, {@code batchSize} pairs per pass, without dropout or gradients. */
        @Override
        public Map<String, Double> evaluate(List<DpoData.Pair> pairs) {
            if (pairs.isEmpty()) return null;
            int n = pairs.size();
            double[] pol = new double[2 * n], ref = new double[2 * n];
            for (int start = 0; start < n; start += c.batchSize()) {
                List<DpoData.Pair> part = pairs.subList(start, Math.min(n, start + c.batchSize()));
                List<int[]> seqs = sequences(part);
                double[] r = answerLogps(pool.forward(seqs, true, false, false, false), part);
                double[] p = answerLogps(pool.forward(seqs, true, false, true, false), part);
                for (int i = 0; i < part.size(); i++) {
                    pol[start + i] = p[i];
                    pol[n + start + i] = p[part.size() + i];
                    ref[start + i] = r[i];
                    ref[n + start + i] = r[part.size() + i];
                }
            }
            return stats(loss(pol, ref, n));
        }

        private DpoLoss.Result loss(double[] pol, double[] ref, int n) {
            return DpoLoss.compute(java.util.Arrays.copyOfRange(pol, 0, n), java.util.Arrays.copyOfRange(pol, n, 2 * n),
                    java.util.Arrays.copyOfRange(ref, 0, n), java.util.Arrays.copyOfRange(ref, n, 2 * n), c.lossType(), c.beta(),
                    c.labelSmoothing());
        }

        /** The chosen sides, then the rejected sides. */
        private static List<int[]> sequences(List<DpoData.Pair> pairs) {
            List<int[]> seqs = new ArrayList<>(2 * pairs.size());
            for (DpoData.Pair p : pairs) seqs.add(p.chosen());
            for (DpoData.Pair p : pairs) seqs.add(p.rejected());
            return seqs;
        }

        /** Sum of each sequence's answer-token log-probs (token t is predicted at row t − 1), in {@link #sequences} order. */
        private static double[] answerLogps(TrainerPool.Batch b, List<DpoData.Pair> pairs) {
            int n = pairs.size();
            double[] out = new double[2 * n];
            for (int i = 0; i < 2 * n; i++) {
                DpoData.Pair p = pairs.get(i % n);
                int len = i < n ? p.chosen().length : p.rejected().length, start = i < n ? p.chosenStart() : p.rejectedStart();
                double s = 0;
                for (int t = start; t < len; t++) s += b.logProbs[b.row(i, t - 1)];
                out[i] = s;
            }
            return out;
        }

        /** d loss / d (sum of answer log-probs) is the same for each answer token's log-prob. */
        private static void spread(TrainerPool.Batch b, int seq, int len, int start, double d) {
            for (int t = start; t < len; t++) b.dLogProbs[b.row(seq, t - 1)] = (float) d;
        }

        private static Map<String, Double> stats(DpoLoss.Result r) {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("loss", r.loss());
            m.put("rewards/chosen", r.rewardsChosen());
            m.put("rewards/rejected", r.rewardsRejected());
            m.put("rewards/accuracies", r.accuracy());
            m.put("rewards/margins", r.margin());
            m.put("logps/chosen", r.logpsChosen());
            m.put("logps/rejected", r.logpsRejected());
            return m;
        }

        @Override
        public String progress(Map<String, Object> row) {
            return String.format("loss %.4f | acc %.2f | margin %.3f%s", (double) row.get("loss"), (double) row.get("rewards/accuracies"),
                    (double) row.get("rewards/margins"), row.containsKey("eval_rewards/accuracies")
                            ? String.format(" | eval acc %.3f", (double) row.get("eval_rewards/accuracies")) : "");
        }

        @Override
        public void zeroGrad() {
            lora.zeroGrad();
        }

        @Override
        public double clipGradNorm(double maxNorm) {
            return lora.clipGradNorm(maxNorm);
        }

        @Override
        public void adamwStep(AdamW opt) {
            lora.adamwStep(opt);
        }

        @Override
        public long adamwSteps() {
            return lora.adamwSteps();
        }

        @Override
        public long forwardCount() {
            return pool.forwardCount();
        }

        @Override
        public void setForwardCount(long n) {
            pool.setForwardCount(n);
        }

        @Override
        public void restore(Checkpoint.State s, int step) {
            lora.setAdamwSteps(s.integer("adamw_steps", step, step));
        }

        @Override
        public void save(Path ckpt, int step, Map<String, Object> state) {
            DivergedException.requireFinite(step, lora, ckpt);
            Checkpoint.save(ckpt, lora, state);
        }

        @Override
        public void close() {
            pool.close();
        }
    }
}
