package dev.stackllama4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.stackllama4j.engine.AdamW;
import dev.stackllama4j.engine.FullWeights;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.Trainable;
import dev.stackllama4j.engine.Trainer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One SFT run: packed chunks in, LoRA (or, with {@link SftConfig#full}, full-parameter) steps out,
 * with metrics, evaluation, checkpoints and resume. Files in the output folder: {@code adapter.gguf}
 * (llama.cpp LoRA) or {@code model.gguf} (the whole model, F32, for full-parameter runs),
 * {@code checkpoint.gguf}, {@code metrics.jsonl}.
 */
public final class SftRun {
    /** Raised when the loss stops being a number; the message says where the last checkpoint is. */
    public static final class DivergedException extends RuntimeException {
        DivergedException(String m) {
            super(m);
        }
    }

    /** What a finished (or stopped) run reports; {@code adapter} is model.gguf for a full-parameter run. */
    public record Summary(int stepsDone, int totalSteps, double lastLoss, double evalLoss, Path adapter) {}

    private final LlamaModel model;
    private final SftConfig c;
    private final List<Packing.Chunk> train, eval;
    private final Path out;
    private final PrintStream log;

    public SftRun(LlamaModel model, SftConfig config, List<Packing.Chunk> train, List<Packing.Chunk> eval, Path out, PrintStream log) {
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
    public Summary run(Path initAdapter, boolean resume) throws IOException {
        Files.createDirectories(out);
        Path ckpt = out.resolve("checkpoint.gguf");
        int total = totalSteps();
        LrSchedule schedule = new LrSchedule(c.schedule(), c.lr(), c.warmupSteps(), total);
        JsonNode[] state = new JsonNode[1];
        boolean resuming = resume && Files.exists(ckpt);
        if (resume && !resuming) log.println("notice: --resume given but " + ckpt + " does not exist: starting fresh");
        if (resuming) checkCompatible(Checkpoint.readState(ckpt)); // before loading: a LoRA run cannot load a full checkpoint
        if (c.full() && initAdapter != null) throw new IllegalArgumentException("a full-parameter run takes no initial adapter");
        try (Trainable lora = c.full() ? (resuming ? Checkpoint.loadFull(ckpt, model, state) : FullWeights.create(model))
                : resuming ? Checkpoint.load(ckpt, model, state)
                : initAdapter != null ? AdapterFile.load(initAdapter, model) : LoraAdapter.create(model, c.lora());
                Trainer tr = Trainer.create(model, lora, c.batchSize(), c.seqLength(), c.checkpointing())) {
            int step = 0;
            long cursor = 0;
            if (resuming) {
                step = state[0].get("step").asInt();
                cursor = state[0].get("cursor").asLong();
                tr.setForwardCount(state[0].get("forward_count").asLong());
                log.printf("resuming from %s at step %d%n", ckpt, step);
            }
            Batches batches = new Batches(train, c.batchSize(), cursor);
            double lastLoss = Double.NaN, evalLoss = Double.NaN;
            int stopAt = c.stopAfter() > 0 ? Math.min(total, step + c.stopAfter()) : total;
            Progress progress = new Progress(log, c.full() ? "full" : "sft", step, total, 10);
            try (MetricsLog metrics = new MetricsLog(out.resolve("metrics.jsonl"), step)) {
                AdamW opt = AdamW.of(c.lr(), c.weightDecay());
                while (step < stopAt) {
                    long t0 = System.nanoTime();
                    StepResult r = step(tr, lora, batches, opt.withLr(schedule.at(step)));
                    step++;
                    lastLoss = r.loss;
                    double tokS = r.tokens / ((System.nanoTime() - t0) / 1e9);
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("step", step);
                    row.put("loss", r.loss);
                    row.put("lr", schedule.at(step - 1));
                    row.put("grad_norm", r.gradNorm);
                    row.put("tokens_per_s", Math.round(tokS));
                    if (!Double.isFinite(r.loss) || !Double.isFinite(r.gradNorm))
                        throw new DivergedException(String.format("loss became %s at step %d (lr %.3g); the last checkpoint is %s",
                                r.loss, step, schedule.at(step - 1), Files.exists(ckpt) ? ckpt : "none"));
                    boolean last = step == stopAt;
                    if ((c.evalEvery() > 0 && step % c.evalEvery() == 0) || (last && step == total)) {
                        evalLoss = evaluate(tr);
                        if (!Double.isNaN(evalLoss)) {
                            row.put("eval_loss", evalLoss);
                            row.put("eval_perplexity", Math.exp(evalLoss));
                        }
                    }
                    metrics.write(row);
                    progress.update(step, String.format("loss %.4f | %,.0f tok/s", r.loss, tokS));
                    if ((c.saveEvery() > 0 && step % c.saveEvery() == 0) || last)
                        Checkpoint.save(ckpt, lora, state(step, batches.cursor(), tr, lora));
                }
            }
            Path adapter = out.resolve(c.full() ? "model.gguf" : "adapter.gguf");
            if (lora instanceof FullWeights full) Merge.saveFull(model, full, adapter);
            else AdapterFile.save(adapter, (LoraAdapter) lora);
            return new Summary(step, total, lastLoss, evalLoss, adapter);
        }
    }

    private record StepResult(double loss, double gradNorm, long tokens) {}

    private StepResult step(Trainer tr, Trainable lora, Batches batches, AdamW opt) {
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
        double norm = lora.clipGradNorm(c.maxGradNorm());
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

    private Map<String, Object> state(int step, long cursor, Trainer tr, Trainable lora) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("step", step);
        s.put("cursor", cursor);
        s.put("forward_count", tr.forwardCount());
        s.put("adamw_steps", lora.adamwSteps());
        s.put("seq_length", c.seqLength());
        s.put("batch_size", c.batchSize());
        s.put("grad_accum", c.gradAccum());
        s.put("train_sequences", train.size());
        s.put("full", c.full());
        return s;
    }

    private void checkCompatible(JsonNode s) {
        String[][] keys = {{"seq_length", String.valueOf(c.seqLength())}, {"batch_size", String.valueOf(c.batchSize())},
                {"grad_accum", String.valueOf(c.gradAccum())}, {"train_sequences", String.valueOf(train.size())},
                {"full", String.valueOf(c.full())}};
        for (String[] k : keys)
            if (!s.path(k[0]).asText("false").equals(k[1]))
                throw new IllegalArgumentException("cannot resume: the checkpoint has " + k[0] + " " + s.path(k[0]).asText("false")
                        + ", this run " + k[1] + " (resume with the same data and settings)");
    }
}
