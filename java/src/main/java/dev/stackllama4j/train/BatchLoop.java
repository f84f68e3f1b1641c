package dev.stackllama4j.train;

import dev.stackllama4j.engine.AdamW;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The training loop over a list of examples (preference pairs for {@code train-reward} and
 * {@code dpo}): epochs in a seeded order, micro-batches with gradient accumulation, a non-finite
 * check of the loss and gradient norm before every update, clipping, AdamW on a schedule, a
 * metrics row per step, evaluations, atomic checkpoints, and exact resume from the checkpoint's
 * state (step, data cursor, dropout counter, optimizer steps, the {@link Objective}'s own state).
 * Evaluations do not move the dropout counter, so when they run does not change the training.
 * What is trained and how a loss is computed is the {@link Objective}'s.
 *
 * <p>Metrics row: {@code step}, the objective's training stats (mean over the step's
 * micro-batches), {@code lr}, {@code grad_norm}, and after an evaluation the objective's eval stats
 * prefixed {@code eval_}.
 */
public final class BatchLoop<T> {
    /** What a loop trains: the model side of one micro-batch, evaluation, and the checkpoint. */
    public interface Objective<T> {
        /**
         * Forward, loss and backward of one micro-batch: gradients += {@code gradScale} · d loss.
         * Returns the micro-batch's stats, {@code loss} among them.
         */
        Map<String, Double> step(List<T> batch, float gradScale);

        /** Stats over {@code examples} without dropout or gradients; null when there are none. */
        Map<String, Double> evaluate(List<T> examples);

        /** The progress line's text for a metrics row. */
        String progress(Map<String, Object> row);

        void zeroGrad();

        /** clip_grad_norm_ over everything trained; returns the norm before clipping. */
        double clipGradNorm(double maxNorm);

        void adamwStep(AdamW opt);

        long adamwSteps();

        /** The dropout-mask counter (checkpointed so a resumed run draws the same masks). */
        long forwardCount();

        void setForwardCount(long n);

        /** Restores the objective's own state (optimizer step counts) from a checkpoint at {@code step}. */
        void restore(Checkpoint.State state, int step);

        /** Checks the weights finite (a {@link DivergedException} otherwise) and writes the checkpoint with {@code state}. */
        void save(Path checkpoint, int step, Map<String, Object> state);
    }

    /**
     * @param name the progress line's label
     * @param totalSteps optimizer steps of the whole run
     * @param orderSeed the seed of the examples' per-epoch order
     */
    public record Settings(String name, double lr, LrSchedule.Kind schedule, int warmupSteps, int totalSteps, int batchSize,
                           int gradAccum, double weightDecay, double maxGradNorm, int evalEvery, int saveEvery, long orderSeed) {}

    /** Steps done, the last step's training stats and the last evaluation's (null if none ran). */
    public record Result(int stepsDone, Map<String, Double> last, Map<String, Double> eval) {
        public double lastLoss() {
            return last == null ? Double.NaN : last.get("loss");
        }
    }

    private final Settings s;
    private final List<T> train, eval;
    private final RunFolder out;
    private final PrintStream log;

    public BatchLoop(Settings settings, List<T> train, List<T> eval, RunFolder out, PrintStream log) {
        this.s = settings;
        this.train = train;
        this.eval = eval;
        this.out = out;
        this.log = log;
    }

    /** Runs (or, with {@code state} from {@link RunFolder#begin}, resumes) to the last step. */
    public Result run(Objective<T> obj, Checkpoint.State state) throws IOException {
        Path ckpt = out.checkpoint();
        int total = s.totalSteps();
        LrSchedule schedule = new LrSchedule(s.schedule(), s.lr(), s.warmupSteps(), total);
        int step = 0;
        long cursor = 0;
        if (state != null) {
            step = (int) state.integer("step", 0, total);
            cursor = state.integer("cursor", 0, Long.MAX_VALUE);
            obj.setForwardCount(state.integer("forward_count", 0, Long.MAX_VALUE));
            obj.restore(state, step);
            log.printf("resuming from %s at step %d%n", ckpt, step);
        }
        EpochOrder order = new EpochOrder(train.size(), s.orderSeed());
        AdamW opt = AdamW.of(s.lr(), s.weightDecay());
        Map<String, Double> last = null, ev = null;
        Progress progress = new Progress(log, s.name(), step, total, 10);
        try (MetricsLog metrics = new MetricsLog(out.file(RunFolder.METRICS), step)) {
            while (step < total) {
                obj.zeroGrad();
                Map<String, Double> stats = new LinkedHashMap<>();
                for (int a = 0; a < s.gradAccum(); a++) {
                    List<T> batch = new ArrayList<>(s.batchSize());
                    for (int i = 0; i < s.batchSize(); i++) batch.add(train.get(order.at(cursor++)));
                    obj.step(batch, 1f / s.gradAccum()).forEach((k, v) -> stats.merge(k, v / s.gradAccum(), Double::sum));
                }
                DivergedException.requireFinite(step + 1, s.name() + " loss", stats.get("loss"), ckpt);
                double norm = obj.clipGradNorm(s.maxGradNorm());
                DivergedException.requireFinite(step + 1, "gradient norm", norm, ckpt);
                obj.adamwStep(opt.withLr(schedule.at(step)));
                step++;
                last = stats;
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("step", step);
                row.putAll(stats);
                row.put("lr", schedule.at(step - 1));
                row.put("grad_norm", norm);
                if ((s.evalEvery() > 0 && step % s.evalEvery() == 0) || step == total) {
                    long forwards = obj.forwardCount();
                    Map<String, Double> e = obj.evaluate(eval);
                    obj.setForwardCount(forwards);  // an evaluation leaves the training's dropout masks as they were
                    if (e != null) {
                        ev = e;
                        e.forEach((k, v) -> row.put("eval_" + k, v));
                    }
                }
                metrics.write(row);
                progress.update(step, obj.progress(row));
                if ((s.saveEvery() > 0 && step % s.saveEvery() == 0) || step == total) {
                    obj.save(ckpt, step, checkpointState(step, cursor, obj.forwardCount(), obj.adamwSteps(), out));
                }
            }
        }
        return new Result(step, last, ev);
    }

    /** {@code maxSteps} when set, else {@code epochs} passes over {@code examples} (at least one step each). */
    public static int totalSteps(int examples, int batchSize, int gradAccum, int maxSteps, int epochs) {
        int perEpoch = Math.max(1, examples / (batchSize * gradAccum));
        return maxSteps > 0 ? maxSteps : perEpoch * epochs;
    }

    /** The checkpoint state every training loop records: step, data cursor, dropout counter, optimizer steps, settings. */
    static Map<String, Object> checkpointState(int step, long cursor, long forwardCount, long adamwSteps, RunFolder out) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("step", step);
        s.put("cursor", cursor);
        s.put("forward_count", forwardCount);
        s.put("adamw_steps", adamwSteps);
        s.put(RunFolder.STATE_SETTINGS, out.settings());
        return s;
    }
}
