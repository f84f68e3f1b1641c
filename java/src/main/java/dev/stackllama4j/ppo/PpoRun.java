package dev.stackllama4j.ppo;

import dev.stackllama4j.data.SynthSite;
import dev.stackllama4j.engine.AdamW;
import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.GgufWriter;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.inference.SamplingParams;
import dev.stackllama4j.reward.RewardHead;
import dev.stackllama4j.rl.AlgoConfig;
import dev.stackllama4j.rl.Gae;
import dev.stackllama4j.rl.GroupAdvantages;
import dev.stackllama4j.rl.KlController;
import dev.stackllama4j.rl.KlEstimator;
import dev.stackllama4j.rl.LengthSampler;
import dev.stackllama4j.rl.Minibatches;
import dev.stackllama4j.rl.PlotPng;
import dev.stackllama4j.rl.PpoConfig;
import dev.stackllama4j.rl.PpoLoss;
import dev.stackllama4j.rl.PpoStats;
import dev.stackllama4j.rl.Ragged;
import dev.stackllama4j.rl.Rewards;
import dev.stackllama4j.rl.Scores;
import dev.stackllama4j.train.AdapterFile;
import dev.stackllama4j.train.Checkpoint;
import dev.stackllama4j.train.DivergedException;
import dev.stackllama4j.train.MetricsLog;
import dev.stackllama4j.train.Progress;
import dev.stackllama4j.train.RunFolder;
import dev.stackllama4j.train.RunSettings;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The PPO loop of StackLLaMA: sample responses from the policy, score them, take PPO epochs over
 * minibatches against a KL-penalised reward, adapt β. One {@link #step} is one batch; the output
 * folder gets {@code adapter.gguf} (the PPO LoRA, llama.cpp form), {@code checkpoint.gguf},
 * {@code metrics.jsonl} (TRL's stat names), {@code ppo.png} (reward, KL and β over steps) and
 * {@code config.json}. The first non-finite reward, log-prob, value, loss or KL stops the run
 * (a {@link DivergedException} naming the step and the quantity) before anything is written from
 * that state; the last good checkpoint stays.
 */
public final class PpoRun {
    public static final String VALUE_HEAD = "stackllama4j.value_head.weight";

    /** The run's own result files, besides those every {@link RunFolder} knows. */
    public static final String[] OUTPUTS = {"adapter.gguf", "ppo.png", PpoSession.MERGED_SFT};

    /** Settings that may differ on --resume: PPO's steps do not depend on how many follow. */
    public static final Set<String> CHANGEABLE_ON_RESUME = Set.of("steps", "save-every", "max-kl");

    /**
     * @param steps PPO steps (batches) to run. @param saveEvery steps between checkpoints (0: end).
     * @param temperature sampling temperature (1.0 samples the policy's own distribution).
     * @param maxKl stop the run when objective/kl exceeds this (0: no limit; {@code --max-kl}).
     */
    public record Settings(int steps, int saveEvery, double temperature, double maxKl) {
        public Settings {
            if (steps < 1 || saveEvery < 0 || !(temperature > 0)) throw new IllegalArgumentException("steps >= 1, save-every >= 0, temperature > 0");
            if (!(maxKl >= 0) || !Double.isFinite(maxKl)) throw new IllegalArgumentException("--max-kl must be >= 0 (0 = off), got " + maxKl);
        }

        public Settings(int steps, int saveEvery, double temperature) {
            this(steps, saveEvery, temperature, 0);
        }
    }

    /** One step's outcome, for callers and tests. */
    public record StepResult(int step, Map<String, Object> row) {}

    private final Policy policy;
    private final RewardFunction reward;
    private final Prompts prompts;
    private final PpoConfig c;
    private final Settings s;
    private final AlgoConfig algo;
    private final RunFolder out;
    private final PrintStream log;
    private final Scores scores;
    private KlController kl;
    private long cursor;
    private int step;
    private boolean warnedNegativeKl;
    private final List<double[]> curve = new ArrayList<>();
    private java.util.function.IntConsumer afterEachStep = step -> {};

    /** Called with the step number after each step (and its metrics row) is done; e.g. a held-out evaluation. */
    public void afterEachStep(java.util.function.IntConsumer hook) {
        this.afterEachStep = hook;
    }

    public PpoRun(Policy policy, RewardFunction reward, Prompts prompts, PpoConfig config, Settings settings, RunFolder out, PrintStream log) {
        this(policy, reward, prompts, config, AlgoConfig.defaults(), settings, out, log);
    }

    /** A run of {@code algo} (PPO, or GRPO / RLOO: k responses per prompt, group-relative advantages, no value head). */
    public PpoRun(Policy policy, RewardFunction reward, Prompts prompts, PpoConfig config, AlgoConfig algo, Settings settings, RunFolder out,
                  PrintStream log) {
        algo.requireFits(config);
        this.algo = algo;
        this.policy = policy;
        this.reward = reward;
        this.prompts = prompts;
        this.c = config;
        this.s = settings;
        this.out = out;
        this.log = log;
        this.scores = new Scores(config);
        this.kl = KlController.of(config);
    }

    /** Runs (or resumes) to {@code settings.steps()}; returns the rows of the steps run now. */
    public List<StepResult> run() throws IOException {
        Path ckpt = out.checkpoint();
        out.input("trunk", policy.model().path()).setting("data.prompts", prompts.size());
        Map<String, Object> settings = RunSettings.with(RunSettings.of(c, s, algo), "lora", policy.lora().config());
        Checkpoint.State state = out.begin("ppo", settings, CHANGEABLE_ON_RESUME);
        if (state != null) restore(state);
        List<StepResult> results = new ArrayList<>();
        Progress progress = new Progress(log, "ppo", step, s.steps(), 5);
        try (MetricsLog metrics = new MetricsLog(out.file(RunFolder.METRICS), step)) {
            while (step < s.steps()) {
                Map<String, Object> row = step();
                metrics.write(row);
                results.add(new StepResult(step, row));
                double klNow = (double) row.get("objective/kl");
                progress.update(step, String.format("reward %.3f | kl %.3f | β %.4f", (double) row.get("env/reward_mean"),
                        klNow, (double) row.get("objective/kl_coef")));
                if (s.maxKl() > 0 && klNow > s.maxKl())
                    throw new DivergedException("step " + step + ": objective/kl " + String.format("%.4g", klNow) + " exceeds --max-kl "
                            + s.maxKl() + "; stopped without writing an adapter" + DivergedException.lastGood(ckpt));
                if ((s.saveEvery() > 0 && step % s.saveEvery() == 0) || step == s.steps()) save(ckpt);
                afterEachStep.accept(step);
            }
        }
        AdapterFile.save(out.file("adapter.gguf"), policy.lora());
        return results;
    }

    /** One PPO step: rollout, scoring, optimisation, controller update. */
    Map<String, Object> step() {
        long t0 = System.nanoTime();
        List<Prompts.Prompt> batch = new ArrayList<>();
        for (int i = 0; i < c.batchSize() / algo.groupSize(); i++) {
            Prompts.Prompt p = prompts.at(cursor++);
            for (int j = 0; j < algo.groupSize(); j++) batch.add(p);  // a group's responses are consecutive
        }
        List<int[]> queries = new ArrayList<>(), responses = new ArrayList<>();
        List<String> questions = new ArrayList<>(), answers = new ArrayList<>();
        long generated = rollout(batch, queries, responses, questions, answers);
        long t1 = System.nanoTime();

        int now = step + 1;
        Path ckpt = out.checkpoint();
        double[] raw = Scores.subtractBaseline(reward.score(queries, responses, questions, answers), c.rewardBaseline());
        DivergedException.requireFinite(now, "reward", raw, ckpt);
        double[] sc = scores.process(raw);
        long t2 = System.nanoTime();

        Policy.Pass old = policy.evaluate(queries, responses, true, false, false);
        double[][] oldLp = old.logprobs(), oldV = old.values();
        double[][] refLp = policy.evaluate(queries, responses, false, false, false).logprobs();
        requireFinite(now, "policy log-prob", oldLp);
        requireFinite(now, "value", oldV);
        requireFinite(now, "reference log-prob", refLp);
        double beta = kl.value();
        Rewards.Result rw = c.klPenalty() == KlEstimator.FULL
                ? Rewards.fromKl(sc, policy.fullKl(queries, responses), beta)
                : Rewards.compute(sc, oldLp, refLp, beta, c.klPenalty());
        Gae.Result adv = advantages(oldV, rw);
        List<PpoLoss.Result> losses = optimise(queries, responses, oldLp, oldV, adv);
        long t3 = System.nanoTime();

        int[] queryLens = new int[queries.size()];
        for (int i = 0; i < queryLens.length; i++) queryLens[i] = queries.get(i).length;
        PpoStats stats = PpoStats.of(raw, sc, rw, oldLp, queryLens, beta, c.learningRate(), losses);
        DivergedException.requireFinite(now, "objective/kl", stats.get("objective/kl"), ckpt);
        kl.update(stats.get("objective/kl"), c.batchSize());
        step++;
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("step", step);
        row.putAll(stats.map());
        if (algo.algo() != GroupAdvantages.Algo.PPO)  // no value head: its statistics do not apply
            row.keySet().removeIf(k -> k.startsWith("ppo/val/") || k.startsWith("ppo/returns/"));
        double correct = SynthSite.correctRate(questions, answers);
        if (!Double.isNaN(correct)) row.put("env/correct_rate", correct);
        row.put("time/ppo/generate_s", (t1 - t0) / 1e9);
        row.put("time/ppo/score_s", (t2 - t1) / 1e9);
        row.put("time/ppo/optimize_s", (t3 - t2) / 1e9);
        row.put("time/ppo/generate_tokens_per_s", generated / ((t1 - t0) / 1e9));
        row.put("time/ppo/total_s", (t3 - t0) / 1e9);
        PpoStats.negativeKlWarning(stats.get("objective/kl")).ifPresent(w -> {
            if (!warnedNegativeKl) log.println("warning: " + w);
            warnedNegativeKl = true;
        });
        curve.add(new double[] {step, stats.get("env/reward_mean"), stats.get("objective/kl"), beta});
        return row;
    }

    /**
     * PPO: GAE over the value head's estimates. GRPO / RLOO: each response's return (score − β·Σ kl)
     * against its group's, at every token; no value head (zero values and returns, value loss 0).
     */
    private Gae.Result advantages(double[][] values, Rewards.Result rw) {
        if (algo.algo() == GroupAdvantages.Algo.PPO) return Gae.compute(values, rw.rewards(), c);
        double[] ret = GroupAdvantages.returns(rw.rewards());
        double[] a = algo.algo() == GroupAdvantages.Algo.GRPO ? GroupAdvantages.grpo(ret, algo.groupSize())
                : GroupAdvantages.rloo(ret, algo.groupSize());
        return new Gae.Result(GroupAdvantages.perToken(a, values), Ragged.zerosLike(values));
    }

    /** Samples a response per prompt from the policy; returns the number of generated tokens. */
    private long rollout(List<Prompts.Prompt> batch, List<int[]> queries, List<int[]> responses, List<String> questions,
                         List<String> answers) {
        LengthSampler lengths = new LengthSampler(c.minNewTokens(), c.maxNewTokens(), c.seed() * 7919 + step);
        int[] limit = new int[batch.size()];
        for (int i = 0; i < limit.length; i++) limit[i] = lengths.next();
        for (Prompts.Prompt p : batch) {
            queries.add(p.tokens());
            questions.add(p.question());
        }
        // Full distribution (top-k off, top-p 1) as StackLLaMA samples; EOS allowed from the first token.
        SamplingParams sp = new SamplingParams(s.temperature(), 0, 1.0, c.seed() * 1_000_003L + step, c.maxNewTokens(), 0, c.stopAtEos());
        Policy.Samples out = policy.sample(queries, sp, limit, true);
        responses.addAll(out.responses());
        answers.addAll(out.texts());
        return out.generated();
    }

    /** ppo-epochs passes over shuffled minibatches; AdamW every grad-accum minibatches. */
    private List<PpoLoss.Result> optimise(List<int[]> queries, List<int[]> responses, double[][] oldLp, double[][] oldV, Gae.Result adv) {
        List<PpoLoss.Result> results = new ArrayList<>();
        Random rng = new Random(c.seed() * 31 + step);
        AdamW opt = AdamW.of(c.learningRate(), 0.0);
        LoraAdapter lora = policy.lora();
        RewardHead head = policy.valueHead();
        epochs:
        for (int e = 0; e < c.ppoEpochs(); e++) {
            int[][] mbs = Minibatches.shuffled(c.batchSize(), c.miniBatchSize(), rng);
            for (int m = 0; m < mbs.length; m++) {
                int[] idx = mbs[m];
                List<int[]> q = new ArrayList<>(), r = new ArrayList<>();
                for (int i : idx) {
                    q.add(queries.get(i));
                    r.add(responses.get(i));
                }
                Policy.Pass now = policy.evaluate(q, r, true, true, c.trainingDropout());
                requireFinite(step + 1, "policy log-prob (training pass)", now.logprobs());
                requireFinite(step + 1, "value (training pass)", now.values());
                requireFinite(step + 1, "policy entropy (training pass)", now.entropy());
                boolean valueHead = algo.algo() == GroupAdvantages.Algo.PPO;
                double[][] vNow = valueHead ? now.values() : Ragged.zerosLike(now.values());
                PpoLoss.Batch b = new PpoLoss.Batch(Ragged.select(oldLp, idx), now.logprobs(),
                        valueHead ? Ragged.select(oldV, idx) : Ragged.zerosLike(vNow), vNow,
                        Ragged.select(adv.advantages(), idx), Ragged.select(adv.returns(), idx), now.entropy());
                PpoLoss.Result res = PpoLoss.compute(b, c.cliprange(), c.cliprangeValue(), valueHead ? c.vfCoef() : 0, c.ratioThreshold());
                DivergedException.requireFinite(step + 1, "ppo/loss/total (epoch " + (e + 1) + ", mini-batch " + (m + 1) + ")",
                        res.loss(), out.checkpoint());
                results.add(res);
                policy.backward(res.dLogprobs(), res.dVpreds(), 1.0 / c.gradAccum());
                if ((m + 1) % c.gradAccum() == 0) {
                    lora.adamwStep(opt);
                    if (valueHead) head.step(opt);
                    lora.zeroGrad();
                    head.zeroGrad();
                }
                if (PpoLoss.earlyStop(res.policykl(), c)) break epochs;
            }
        }
        lora.zeroGrad();
        head.zeroGrad();
        return results;
    }

    private void requireFinite(int at, String quantity, double[][] rows) {
        for (int i = 0; i < rows.length; i++)
            for (int t = 0; t < rows[i].length; t++)
                if (!Double.isFinite(rows[i][t])) throw DivergedException.at(at, quantity + " (sample " + i + ", token " + t + ")",
                        rows[i][t], out.checkpoint());
    }

    private void save(Path ckpt) throws IOException {
        DivergedException.requireFinite(step, policy.lora(), ckpt);
        DivergedException.requireFinite(step, "value head weight", policy.valueHead().weight, ckpt);
        Map<String, Object> st = new LinkedHashMap<>();
        st.put("step", step);
        st.put("cursor", cursor);
        st.put("kl_coef", kl.value());
        st.put("forward_count", policy.pool().forwardCount());
        st.put("adamw_steps", policy.lora().adamwSteps());
        st.put("value_head_steps", policy.valueHead().steps());
        Scores.RunningMoments rm = scores.running();
        st.put("score_moments", List.of(rm.mean(), rm.var(), rm.count()));
        st.put("curve", curve);
        st.put(RunFolder.STATE_SETTINGS, out.settings());
        RewardHead h = policy.valueHead();
        try (GgufWriter w = AdapterFile.writer(policy.lora(), true)) {
            long[] dims = {h.weight.length};
            w.addTensor(VALUE_HEAD, TensorType.F32, dims, h.weight);
            w.addTensor("stackllama4j.adam_m." + VALUE_HEAD, TensorType.F32, dims, h.moment1());
            w.addTensor("stackllama4j.adam_v." + VALUE_HEAD, TensorType.F32, dims, h.moment2());
            Checkpoint.write(ckpt, w, st);
        }
        writePlot();
    }

    private void restore(Checkpoint.State st) throws IOException {
        Path ckpt = st.path();
        int at = (int) st.integer("step", 0, s.steps());
        long headSteps = st.integer("value_head_steps", 0, Long.MAX_VALUE), adamw = st.integer("adamw_steps", 0, Long.MAX_VALUE);
        long at0 = st.integer("cursor", 0, Long.MAX_VALUE), forwards = st.integer("forward_count", 0, Long.MAX_VALUE);
        double beta = st.number("kl_coef");
        double[] m = st.numbers("score_moments", 3);
        double[][] points = st.rows("curve", 4);
        try (GgufFile f = GgufFile.open(ckpt)) {
            RewardHead h = policy.valueHead();
            float[] w = f.readFloats(VALUE_HEAD);
            if (w.length != h.weight.length)
                throw new IllegalArgumentException(ckpt + ": " + VALUE_HEAD + " has " + w.length + " values, the model's width is " + h.weight.length);
            System.arraycopy(w, 0, h.weight, 0, h.weight.length);
            h.restore(f.readFloats("stackllama4j.adam_m." + VALUE_HEAD), f.readFloats("stackllama4j.adam_v." + VALUE_HEAD), headSteps);
            AdapterFile.restoreInto(f, policy.lora(), true);
            policy.lora().setAdamwSteps(adamw);
        }
        step = at;
        cursor = at0;
        kl = KlController.of(c, beta);
        policy.pool().setForwardCount(forwards);
        scores.running().restore(m[0], m[1], m[2]);
        curve.clear();
        curve.addAll(List.of(points));
        log.printf("resuming from %s at step %d (β %.4f)%n", ckpt, step, kl.value());
    }

    private void writePlot() throws IOException {
        if (curve.isEmpty()) return;
        double[] x = new double[curve.size()], r = new double[x.length], k = new double[x.length], b = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = curve.get(i)[0];
            r[i] = curve.get(i)[1];
            k[i] = curve.get(i)[2];
            b[i] = curve.get(i)[3];
        }
        PlotPng.writeRun(out.file("ppo.png"), x, r, k, b);
    }

    public int stepsDone() {
        return step;
    }
}
