package dev.stackllama4j.reward;

import dev.stackllama4j.engine.AdamW;
import dev.stackllama4j.engine.GgufWriter;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.train.AdapterFile;
import dev.stackllama4j.train.Checkpoint;
import dev.stackllama4j.train.DivergedException;
import dev.stackllama4j.train.EpochOrder;
import dev.stackllama4j.train.LrSchedule;
import dev.stackllama4j.train.MetricsLog;
import dev.stackllama4j.train.Progress;
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
        int perEpoch = Math.max(1, train.size() / (c.batchSize() * c.gradAccum()));
        return c.maxSteps() > 0 ? c.maxSteps() : perEpoch * c.epochs();
    }

    public Summary run() throws IOException {
        Path ckpt = out.checkpoint();
        int total = totalSteps();
        LrSchedule schedule = new LrSchedule(c.schedule(), c.lr(), c.warmupSteps(), total);
        out.input("model", model.path()).setting("data.train-pairs", train.size()).setting("data.eval-pairs", eval.size());
        Checkpoint.State s = out.begin("train-reward", RunSettings.of(c), changeableOnResume(c));
        boolean resuming = s != null;
        RewardModelFile.Loaded loaded = resuming ? RewardModelFile.load(ckpt, model, true)
                : new RewardModelFile.Loaded(LoraAdapter.create(model, c.lora()), RewardHead.init((int) model.info().dim(), c.seed()),
                        c.maxLength());
        try (loaded; SequenceScorer scorer = new SequenceScorer(model, loaded.lora(), loaded.head(), pad)) {
            LoraAdapter lora = loaded.lora();
            RewardHead head = loaded.head();
            int step = 0;
            long cursor = 0;
            if (resuming) {
                step = (int) s.integer("step", 0, total);
                cursor = s.integer("cursor", 0, Long.MAX_VALUE);
                scorer.setForwardCount(s.integer("forward_count", 0, Long.MAX_VALUE));
                lora.setAdamwSteps(s.integer("adamw_steps", step, step));
                head.restore(head.moment1(), head.moment2(), s.integer("head_steps", step, step));
                log.printf("resuming from %s at step %d%n", ckpt, step);
            }
            EpochOrder order = new EpochOrder(train.size(), c.seed() * 31);
            AdamW opt = AdamW.of(c.lr(), c.weightDecay());
            double lastLoss = Double.NaN;
            Evaluation ev = null;
            Progress progress = new Progress(log, "reward", step, total, 10);
            try (MetricsLog metrics = new MetricsLog(out.file(RunFolder.METRICS), step)) {
                while (step < total) {
                    lora.zeroGrad();
                    head.zeroGrad();
                    double loss = 0, acc = 0;
                    for (int a = 0; a < c.gradAccum(); a++) {
                        List<RewardData.TokenPair> batch = new ArrayList<>();
                        for (int i = 0; i < c.batchSize(); i++) batch.add(train.get(order.at(cursor++)));
                        double[] r = stepBatch(scorer, batch, 1f / c.gradAccum());
                        loss += r[0] / c.gradAccum();
                        acc += r[1] / c.gradAccum();
                    }
                    DivergedException.requireFinite(step + 1, "reward loss", loss, ckpt);
                    double norm = clipJoint(lora, head, c.maxGradNorm());
                    DivergedException.requireFinite(step + 1, "gradient norm", norm, ckpt);
                    AdamW o = opt.withLr(schedule.at(step));
                    lora.adamwStep(o);
                    head.step(o);
                    step++;
                    lastLoss = loss;
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("step", step);
                    row.put("loss", loss);
                    row.put("train_accuracy", acc);
                    row.put("lr", schedule.at(step - 1));
                    row.put("grad_norm", norm);
                    if ((c.evalEvery() > 0 && step % c.evalEvery() == 0) || step == total) {
                        ev = evaluate(scorer, eval);
                        if (ev != null) {
                            row.put("eval_loss", ev.loss());
                            row.put("eval_accuracy", ev.accuracy());
                        }
                    }
                    metrics.write(row);
                    progress.update(step, String.format("loss %.4f | acc %.2f%s", loss, acc,
                            ev != null && row.containsKey("eval_accuracy") ? String.format(" | eval acc %.3f", ev.accuracy()) : ""));
                    if ((c.saveEvery() > 0 && step % c.saveEvery() == 0) || step == total) {
                        DivergedException.requireFinite(step, lora, ckpt);
                        DivergedException.requireFinite(step, "reward head weight", head.weight, ckpt);
                        saveCheckpoint(ckpt, lora, head, step, cursor, scorer.forwardCount());
                    }
                }
            }
            Path rm = out.file("reward.gguf");
            RewardModelFile.save(rm, lora, head, c.maxLength());
            AdapterFile.save(out.file("adapter.gguf"), lora);
            return new Summary(step, total, lastLoss, ev, rm);
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

    private Evaluation evaluate(SequenceScorer scorer, List<RewardData.TokenPair> pairs) {
        return evaluate(scorer, pairs, c.batchSize());
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

    private void saveCheckpoint(Path ckpt, LoraAdapter lora, RewardHead head, int step, long cursor, long forwards) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("step", step);
        s.put("cursor", cursor);
        s.put("forward_count", forwards);
        s.put("adamw_steps", lora.adamwSteps());
        s.put("head_steps", head.steps());
        s.put(RunFolder.STATE_SETTINGS, out.settings());
        try (GgufWriter w = RewardModelFile.writer(lora, head, c.maxLength(), true)) {
            Checkpoint.write(ckpt, w, s);
        }
    }
}
