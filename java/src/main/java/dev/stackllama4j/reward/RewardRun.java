package dev.stackllama4j.reward;

import dev.stackllama4j.engine.AdamW;
import dev.stackllama4j.engine.GgufWriter;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.train.AdapterFile;
import dev.stackllama4j.train.Checkpoint;
import dev.stackllama4j.train.BatchLoop;
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
 * Pairwise reward-model training: LoRA on the trunk plus a fully trained scalar head, loss
 * {@code -mean(logsigmoid(r_j - r_k))} computed here and pushed back through the engine. Output
 * folder: {@code reward.gguf} (adapter + head), {@code adapter.gguf} (trunk LoRA, llama.cpp form),
 * {@code checkpoint.gguf}, {@code metrics.jsonl}, {@code config.json}.
 */
public final class RewardRun {
    /** The run's own result files, besides those every {@link RunFolder} knows. */
    public static final String[] OUTPUTS = {"reward.gguf", "adapter.gguf"};

    /** Settings that may differ on --resume (see {@code SftRun.changeableOnResume}). */
    public static Set<String> changeableOnResume(RewardConfig c) {
        Set<String> s = new HashSet<>(Set.of("save-every"));
        if (c.schedule() == LrSchedule.Kind.CONSTANT && c.warmupSteps() == 0) s.addAll(Set.of("max-steps", "epochs"));
        return s;
    }

    /** Accuracy counts ties as incorrect. */
    public record Evaluation(double loss, double accuracy, int pairs) {}

    public record Summary(int stepsDone, int totalSteps, double lastLoss, Evaluation eval, Path rewardModel) {}

    private final LlamaModel model;
    private final RewardConfig c;
    private final List<RewardData.TokenPair> train, eval;
    private final RunFolder out;
    private final PrintStream log;
    private final int pad;

    public RewardRun(LlamaModel model, RewardConfig config, List<RewardData.TokenPair> train, List<RewardData.TokenPair> eval,
                     RunFolder out, PrintStream log) {
        long ctx = model.info().trainContext();
        for (List<RewardData.TokenPair> l : List.of(train, eval))
            for (RewardData.TokenPair p : l)
                if (Math.max(p.chosen().length, p.rejected().length) > ctx)
                    throw new IllegalArgumentException("pair " + p.qid() + " has a side of " + Math.max(p.chosen().length, p.rejected().length)
                            + " tokens, past the model's context of " + ctx + " (" + model.path() + "); load pairs with a lower length limit");
        if (train.size() < config.batchSize())
            throw new IllegalArgumentException(train.size() + " training pairs, fewer than one batch of " + config.batchSize());
        this.model = model;
        this.c = config;
        this.train = train;
        this.eval = eval;
        this.out = out;
        this.log = log;
        this.pad = model.tokenizer().vocabulary().eos();
    }

    public int totalSteps() {
        return BatchLoop.totalSteps(train.size(), c.batchSize(), c.gradAccum(), c.maxSteps(), c.epochs());
    }

    public Summary run() throws IOException {
        Path ckpt = out.checkpoint();
        out.input("model", model.path()).setting("data.train-pairs", train.size()).setting("data.eval-pairs", eval.size());
        Checkpoint.State s = out.begin("train-reward", RunSettings.of(c), changeableOnResume(c));
        RewardModelFile.Loaded loaded = s != null ? RewardModelFile.load(ckpt, model, true)
                : new RewardModelFile.Loaded(LoraAdapter.create(model, c.lora()), RewardHead.init((int) model.info().dim(), c.seed()),
                        c.maxLength());
        try (loaded; SequenceScorer scorer = new SequenceScorer(model, loaded.lora(), loaded.head(), pad)) {
            BatchLoop.Settings ls = new BatchLoop.Settings("reward", c.lr(), c.schedule(), c.warmupSteps(), totalSteps(), c.batchSize(),
                    c.gradAccum(), c.weightDecay(), c.maxGradNorm(), c.evalEvery(), c.saveEvery(), c.seed() * 31);
            BatchLoop.Result r = new BatchLoop<>(ls, train, eval, out, log).run(new Objective(scorer, loaded.lora(), loaded.head()), s);
            Path rm = out.file("reward.gguf");
            RewardModelFile.save(rm, loaded.lora(), loaded.head(), c.maxLength());
            AdapterFile.save(out.file("adapter.gguf"), loaded.lora());
            Evaluation ev = r.eval() == null ? null : new Evaluation(r.eval().get("loss"), r.eval().get("accuracy"), eval.size());
            return new Summary(r.stepsDone(), totalSteps(), r.lastLoss(), ev, rm);
        }
    }

    /** The reward model as a {@link BatchLoop} objective: LoRA trunk + scalar head, pairwise loss. */
    private final class Objective implements BatchLoop.Objective<RewardData.TokenPair> {
        private final SequenceScorer scorer;
        private final LoraAdapter lora;
        private final RewardHead head;

        Objective(SequenceScorer scorer, LoraAdapter lora, RewardHead head) {
            this.scorer = scorer;
            this.lora = lora;
            this.head = head;
        }

        @Override
        public Map<String, Double> step(List<RewardData.TokenPair> batch, float gradScale) {
            double[] r = stepBatch(scorer, batch, gradScale);
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("loss", r[0]);
            m.put("train_accuracy", r[1]);
            return m;
        }

        @Override
        public Map<String, Double> evaluate(List<RewardData.TokenPair> pairs) {
            Evaluation e = RewardRun.evaluate(scorer, pairs, c.batchSize());
            if (e == null) return null;
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("loss", e.loss());
            m.put("accuracy", e.accuracy());
            return m;
        }

        @Override
        public String progress(Map<String, Object> row) {
            return String.format("loss %.4f | acc %.2f%s", (double) row.get("loss"), (double) row.get("train_accuracy"),
                    row.containsKey("eval_accuracy") ? String.format(" | eval acc %.3f", (double) row.get("eval_accuracy")) : "");
        }

        @Override
        public void zeroGrad() {
            lora.zeroGrad();
            head.zeroGrad();
        }

        @Override
        public double clipGradNorm(double maxNorm) {
            return clipJoint(lora, head, maxNorm);
        }

        @Override
        public void adamwStep(AdamW opt) {
            lora.adamwStep(opt);
            head.step(opt);
        }

        @Override
        public long adamwSteps() {
            return lora.adamwSteps();
        }

        @Override
        public long forwardCount() {
            return scorer.forwardCount();
        }

        @Override
        public void setForwardCount(long n) {
            scorer.setForwardCount(n);
        }

        @Override
        public void restore(Checkpoint.State s, int step) {
            lora.setAdamwSteps(s.integer("adamw_steps", step, step));
            head.restore(head.moment1(), head.moment2(), s.integer("head_steps", step, step));
        }

        @Override
        public void save(Path ckpt, int step, Map<String, Object> state) {
            DivergedException.requireFinite(step, lora, ckpt);
            DivergedException.requireFinite(step, "reward head weight", head.weight, ckpt);
            state.put("head_steps", head.steps());
            try (GgufWriter w = RewardModelFile.writer(lora, head, c.maxLength(), true)) {
                Checkpoint.write(ckpt, w, state);
            }
        }
    }

    /** One micro-batch: scores of chosen and rejected, loss, backward. Returns {loss, accuracy}. */
    private double[] stepBatch(SequenceScorer scorer, List<RewardData.TokenPair> batch, float gradScale) {
        List<int[]> seqs = new ArrayList<>();
        for (RewardData.TokenPair p : batch) seqs.add(p.chosen());
        for (RewardData.TokenPair p : batch) seqs.add(p.rejected());
        double[] s = scorer.score(seqs, true);
        int n = batch.size();
        double[] j = java.util.Arrays.copyOfRange(s, 0, n), k = java.util.Arrays.copyOfRange(s, n, 2 * n);
        PairwiseLoss.Result r = PairwiseLoss.compute(j, k);
        double[] d = new double[2 * n];
        System.arraycopy(r.dChosen(), 0, d, 0, n);
        System.arraycopy(r.dRejected(), 0, d, n, n);
        scorer.backward(d, gradScale);
        return new double[] {r.loss(), PairwiseLoss.accuracy(j, k)};
    }

    /** Scores every pair without dropout, {@code b} pairs per pass; null when there are none. */
    public static Evaluation evaluate(SequenceScorer scorer, List<RewardData.TokenPair> pairs, int b) {
        if (pairs.isEmpty()) return null;
        int n = pairs.size();
        double[] j = new double[n], k = new double[n];
        for (int start = 0; start < n; start += b) {
            int end = Math.min(n, start + b);
            List<int[]> seqs = new ArrayList<>();
            for (int i = start; i < end; i++) seqs.add(pairs.get(i).chosen());
            for (int i = start; i < end; i++) seqs.add(pairs.get(i).rejected());
            double[] s = scorer.score(seqs, false);
            for (int i = start; i < end; i++) {
                j[i] = s[i - start];
                k[i] = s[end - start + i - start];
            }
        }
        return new Evaluation(PairwiseLoss.compute(j, k).loss(), PairwiseLoss.accuracy(j, k), n);
    }

    /** Clips the joint (adapter, head) gradient norm like clip_grad_norm_; returns the norm before. */
    static double clipJoint(LoraAdapter lora, RewardHead head, double maxNorm) {
        double lo = lora.gradNorm(), total = Math.sqrt(lo * lo + head.gradNormSquared());
        if (total > maxNorm) {
            double f = maxNorm / (total + 1e-6);
            if (lo > 0) lora.clipGradNorm(lo * f);
            head.scaleGrad(f);
        }
        return total;
    }
}
