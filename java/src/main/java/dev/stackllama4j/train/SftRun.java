package dev.stackllama4j.train;

import dev.stackllama4j.engine.AdamW;
import dev.stackllama4j.engine.FullWeights;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.Trainable;
import dev.stackllama4j.engine.Trainer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One SFT run: packed chunks in, LoRA (or, with {@link SftConfig#full}, full-parameter) steps out,
 * with metrics, evaluation, checkpoints and resume. Files in the output folder: {@code adapter.gguf}
 * (llama.cpp LoRA) or {@code model.gguf} (the whole model, F32, for full-parameter runs),
 * {@code checkpoint.gguf}, {@code metrics.jsonl}, {@code config.json}. A non-finite loss or gradient
 * norm stops the run with a {@link DivergedException} before anything is written from that state.
 */
public final class SftRun {
    /** The run's own result files, besides those every {@link RunFolder} knows. */
    public static final String[] OUTPUTS = {"adapter.gguf", "model.gguf"};

    /**
     * Settings that may differ on {@code --resume}: they change neither the steps already taken nor
     * the ones to come. {@code max-steps} joins them when the schedule is constant (otherwise it
     * re-plans the learning rate).
     */
    public static Set<String> changeableOnResume(SftConfig c) {
        Set<String> s = new HashSet<>(Set.of("save-every", "stop-after"));
        if (c.schedule() == LrSchedule.Kind.CONSTANT && c.warmupSteps() == 0) s.add("max-steps");
        return s;
    }

    /** What a finished (or stopped) run reports; {@code adapter} is model.gguf for a full-parameter run. */
    public record Summary(int stepsDone, int totalSteps, double lastLoss, double evalLoss, Path adapter) {}

    private final LlamaModel model;
    private final SftConfig c;
    private final List<Packing.Chunk> train, eval;
    private final RunFolder out;
    private final PrintStream log;

    public SftRun(LlamaModel model, SftConfig config, List<Packing.Chunk> train, List<Packing.Chunk> eval, RunFolder out, PrintStream log) {
        if (config.seqLength() > model.info().trainContext())
            throw new IllegalArgumentException("--seq-length " + config.seqLength() + " exceeds the model's context of "
                    + model.info().trainContext() + " tokens (" + model.path() + "); lower --seq-length");
        if (train.size() < config.batchSize())
            throw new IllegalArgumentException("the training data packs into " + train.size() + " sequences of " + config.seqLength()
                    + " tokens, fewer than one batch of " + config.batchSize() + ": lower --seq-length or --batch-size");
        this.model = model;
        this.c = config;
        this.train = train;
        this.eval = eval;
        this.out = out;
        this.log = log;
    }

    public int totalSteps() {
        if (c.maxSteps() > 0) return c.maxSteps();
        return Math.max(1, train.size() / (c.batchSize() * c.gradAccum()));
    }

    /** @param initAdapter adapter to start from (null: fresh); ignored when resuming */
    public Summary run(Path initAdapter) throws IOException {
        Path ckpt = out.checkpoint();
        int total = totalSteps();
        LrSchedule schedule = new LrSchedule(c.schedule(), c.lr(), c.warmupSteps(), total);
        if (c.full() && initAdapter != null) throw new IllegalArgumentException("a full-parameter run takes no initial adapter");
        out.input("model", model.path()).input("init-adapter", initAdapter)
                .setting("data.train-sequences", train.size()).setting("data.eval-sequences", eval.size());
        Checkpoint.State state = out.begin("sft", RunSettings.of(c), changeableOnResume(c));
        int step = 0;
        long cursor = 0, forwards = 0, adamw = 0;
        if (state != null) {
            step = (int) state.integer("step", 0, total);
            cursor = state.integer("cursor", 0, Long.MAX_VALUE);
            forwards = state.integer("forward_count", 0, Long.MAX_VALUE);
            adamw = state.integer("adamw_steps", step, step);
        }
        try (Trainable lora = c.full() ? (state != null ? Checkpoint.loadFull(ckpt, model, adamw) : FullWeights.create(model))
                : state != null ? Checkpoint.load(ckpt, model, adamw)
                : initAdapter != null ? AdapterFile.load(initAdapter, model) : LoraAdapter.create(model, c.lora());
                Trainer tr = Trainer.create(model, lora, c.batchSize(), c.seqLength(), c.checkpointing())) {
            if (state != null) {
                tr.setForwardCount(forwards);
                log.printf("resuming from %s at step %d%n", ckpt, step);
            }
            Batches batches = new Batches(train, c.batchSize(), cursor);
            double lastLoss = Double.NaN, evalLoss = Double.NaN;
            int stopAt = c.stopAfter() > 0 ? Math.min(total, step + c.stopAfter()) : total;
            Progress progress = new Progress(log, c.full() ? "full" : "sft", step, total, 10);
            try (MetricsLog metrics = new MetricsLog(out.file(RunFolder.METRICS), step)) {
                AdamW opt = AdamW.of(c.lr(), c.weightDecay());
                while (step < stopAt) {
                    long t0 = System.nanoTime();
                    StepResult r = step(tr, lora, batches, opt.withLr(schedule.at(step)), step + 1, ckpt);
                    step++;
                    lastLoss = r.loss;
                    double tokS = r.tokens / ((System.nanoTime() - t0) / 1e9);
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("step", step);
                    row.put("loss", r.loss);
                    row.put("lr", schedule.at(step - 1));
                    row.put("grad_norm", r.gradNorm);
                    row.put("tokens_per_s", Math.round(tokS));
                    boolean last = step == stopAt;
                    if ((c.evalEvery() > 0 && step % c.evalEvery() == 0) || (last && step == total)) {
                        evalLoss = evaluate(tr);
                        if (!Double.isNaN(evalLoss)) {
                            DivergedException.requireFinite(step, "eval loss", evalLoss, ckpt);
                            row.put("eval_loss", evalLoss);
                            row.put("eval_perplexity", Math.exp(evalLoss));
                        }
                    }
                    metrics.write(row);
                    progress.update(step, String.format("loss %.4f | %,.0f tok/s", r.loss, tokS));
                    if ((c.saveEvery() > 0 && step % c.saveEvery() == 0) || last) {
                        DivergedException.requireFinite(step, lora, ckpt);
                        Checkpoint.save(ckpt, lora, BatchLoop.checkpointState(step, batches.cursor(), tr.forwardCount(), lora.adamwSteps(), out));
                    }
                }
            }
            Path adapter = out.file(c.full() ? "model.gguf" : "adapter.gguf");
            if (lora instanceof FullWeights full) Merge.saveFull(model, full, adapter);
            else AdapterFile.save(adapter, (LoraAdapter) lora);
            return new Summary(step, total, lastLoss, evalLoss, adapter);
        }
    }

    private record StepResult(double loss, double gradNorm, long tokens) {}

    /** One optimizer step; stops before the update when the loss or gradient norm is not finite. */
    private StepResult step(Trainer tr, Trainable lora, Batches batches, AdamW opt, int stepNo, Path ckpt) {
        lora.zeroGrad();
        double loss = 0;
        long tokens = 0;
        for (int a = 0; a < c.gradAccum(); a++) {
            Batches.Batch b = batches.next();
            Trainer.Loss l = tr.stepCrossEntropy(b.tokens(), b.targets(), c.crossDocAttention() ? null : b.docStart(),
                    1f / c.gradAccum());
            loss += l.mean() / c.gradAccum();
            tokens += b.tokens().length;
        }
        DivergedException.requireFinite(stepNo, "loss", loss, ckpt);
        double norm = lora.clipGradNorm(c.maxGradNorm());
        DivergedException.requireFinite(stepNo, "gradient norm", norm, ckpt);
        lora.adamwStep(opt);
        return new StepResult(loss, norm, tokens);
    }

    /** Mean eval loss over the eval chunks (whole batches), without dropout; NaN if none. */
    private double evaluate(Trainer tr) {
        if (eval.size() < c.batchSize()) return Double.NaN;
        tr.setTraining(false);
        try {
            Batches b = new Batches(eval, c.batchSize(), 0);
            double sum = 0;
            long n = 0;
            for (int i = 0; i < eval.size() / c.batchSize(); i++) {
                Batches.Batch x = b.next();
                Trainer.Loss l = tr.evalCrossEntropy(x.tokens(), x.targets(), c.crossDocAttention() ? null : x.docStart());
                sum += l.mean() * l.counted();
                n += l.counted();
            }
            return n == 0 ? Double.NaN : sum / n;
        } finally {
            tr.setTraining(true);
        }
    }
}
