package dev.stackllama4j.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.stackllama4j.data.JsonlLines;
import dev.stackllama4j.data.Prepare;
import dev.stackllama4j.data.SynthSite;
import dev.stackllama4j.data.Template;
import dev.stackllama4j.dpo.DpoConfig;
import dev.stackllama4j.dpo.DpoData;
import dev.stackllama4j.dpo.DpoLoss;
import dev.stackllama4j.dpo.DpoRun;
import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.io.AtomicFileSet;
import dev.stackllama4j.io.AtomicFiles;
import dev.stackllama4j.model.ModelShape;
import dev.stackllama4j.model.RandomModel;
import dev.stackllama4j.ppo.PpoEvaluation;
import dev.stackllama4j.ppo.PpoRun;
import dev.stackllama4j.ppo.PpoSession;
import dev.stackllama4j.ppo.Prompts;
import dev.stackllama4j.ppo.RewardFunction;
import dev.stackllama4j.reward.RewardConfig;
import dev.stackllama4j.reward.RewardData;
import dev.stackllama4j.reward.RewardRun;
import dev.stackllama4j.rl.AlgoConfig;
import dev.stackllama4j.rl.GroupAdvantages;
import dev.stackllama4j.rl.PlotPng;
import dev.stackllama4j.rl.PpoConfig;
import dev.stackllama4j.train.AdapterFile;
import dev.stackllama4j.train.LoraConfig;
import dev.stackllama4j.train.LrSchedule;
import dev.stackllama4j.train.Merge;
import dev.stackllama4j.train.Packing;
import dev.stackllama4j.train.RunFolder;
import dev.stackllama4j.train.SftConfig;
import dev.stackllama4j.train.SftData;
import dev.stackllama4j.train.SftRun;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The built-in end-to-end run, sized for a 2-core CPU: a Stack Exchange site (synthetic by
 * default, or real Posts.xml) → prepare → a base model (pretrained here from {@code init} on the
 * site's own text, or the given GGUF) → SFT (every weight of our own base; LoRA merged into the
 * trunk for a given model) → a reward model on the SFT trunk → PPO against that reward model, with
 * a before/after report, {@code summary.json} and a figure of held-out correctness and reward
 * against PPO step. Each stage is a plain method; {@link Settings} holds the knobs.
 */
public final class DemoPipeline {
    /** The base model the demo pretrains: a LLaMA of 0.2M parameters with init's vocabulary. */
    public static final ModelShape BASE_SHAPE = new ModelShape(64, 4, 4, 4, 176, 400, 128, 10000, 1e-5, true);
    /** Its initial weight scale, 0.8 / sqrt(dim): GPT-2's 0.02 leaves a model this narrow unable to learn attention in the budget. */
    public static final double BASE_INIT_STD = 0.1;

    /**
     * @param out work folder
     * @param posts real dumps to use instead of the synthetic site (empty: synthetic)
     * @param baseModel model to start from (null: pretrain {@link #BASE_SHAPE} on the site's text)
     * @param questions synthetic questions. Default 2000.
     * @param pretrainSteps full-parameter steps of the base model (batches of 8 × 128 tokens). Default 800.
     * @param sftSteps default 100. @param rewardSteps default 1000. @param ppoSteps default 120.
     * @param evalEvery PPO steps between held-out evaluations for the figure (0: none). Default 20.
     * @param seed default 1.
     */
    public record Settings(Path out, List<Path> posts, Path baseModel, SynthSite.Difficulty difficulty, int questions,
                           int pretrainSteps, int sftSteps, int rewardSteps, int ppoSteps, int evalEvery, long seed) {
        public static Settings defaults(Path out) {
            return new Settings(out, List.of(), null, SynthSite.Difficulty.EASY, 2000, 800, 100, 1000, 120, 20, 1);
        }
    }

    /** What stage 6 runs on the SFT trunk: PPO, DPO on the reward split's pairs, or a group-relative method (no value head). */
    public enum Method {
        PPO, DPO, GRPO, RLOO;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static Method parse(String s) {
            for (Method m : values()) if (m.label().equals(s.trim())) return m;
            throw new IllegalArgumentException("--method must be ppo, dpo, grpo or rloo (or a comma list of them), got " + s);
        }
    }

    private final Settings s;
    private final List<Method> methods;
    private final PrintStream log;
    private final Map<String, Object> report = new LinkedHashMap<>();
    private final Map<String, Object> seconds = new LinkedHashMap<>();
    private boolean pretrained;

    public DemoPipeline(Settings settings, PrintStream log) {
        this(settings, List.of(Method.PPO), log);
    }

    /**
     * @param methods what stage 6 runs, each on the same SFT trunk and reward model (PPO's figures
     *     at the report's top level as with PPO alone; every method's under {@code methods})
     */
    public DemoPipeline(Settings settings, List<Method> methods, PrintStream log) {
        if (methods.isEmpty() || new java.util.HashSet<>(methods).size() != methods.size())
            throw new IllegalArgumentException("--method needs one or more different methods, got " + methods);
        this.s = settings;
        this.methods = List.copyOf(methods);
        this.log = log;
    }

    /** The figures so far (what summary.json holds). */
    public Map<String, Object> report() {
        return report;
    }

    /** Runs every stage; returns the report, also written to {@code out/summary.json}. */
    public Map<String, Object> runAll(java.util.function.Consumer<String> stageTitle) throws IOException {
        long t0 = System.nanoTime();
        report.put("settings", Map.of("questions", s.questions(), "pretrain_steps", s.pretrainSteps(), "sft_steps", s.sftSteps(),
                "reward_steps", s.rewardSteps(), "ppo_steps", s.ppoSteps(), "seed", s.seed()));
        stageTitle.accept("1/6 site");
        Path site = timed("site", this::site);
        stageTitle.accept("2/6 prepare: scores, preference pairs, splits");
        Path data = timed("prepare", () -> prepare(site));
        stageTitle.accept(s.baseModel() == null ? "3/6 base model: pretraining every weight of a new LLaMA on the site's text"
                : "3/6 base model: " + s.baseModel());
        Path base = timed("pretrain", () -> baseModel(data));
        stageTitle.accept(pretrained ? "4/6 supervised fine-tuning (every weight)" : "4/6 supervised fine-tuning (LoRA), merged into the trunk");
        Path sft = timed("sft", () -> sft(base, data));
        stageTitle.accept("5/6 reward model (LoRA + scalar head) on the SFT trunk");
        Path reward = timed("reward", () -> reward(sft, data));
        Map<String, Object> byMethod = new LinkedHashMap<>();
        for (Method m : methods) {
            stageTitle.accept(switch (m) {
                case PPO -> "6/6 PPO against the reward model, KL-penalised towards the SFT model";
                case DPO -> "6/6 DPO on the reward split's pairs, the SFT model as reference";
                case GRPO, RLOO -> "6/6 " + m.name() + " (" + GROUP_SIZE + " answers per question, no value head) against the reward model, "
                        + "KL-penalised towards the SFT model";
            });
            Map<String, Object> r = timed(m.label(), () -> m == Method.DPO ? dpo(sft, reward, data) : ppo(sft, reward, data, m));
            r.put("seconds", seconds.get(m.label()));
            byMethod.put(m.label(), r);
        }
        report.put("methods", byMethod);
        seconds.put("total", roundMs((System.nanoTime() - t0) / 1e9));
        report.put("seconds", seconds);
        writeSummary();
        return report;
    }

    private interface Stage<T> {
        T run() throws IOException;
    }

    private <T> T timed(String name, Stage<T> stage) throws IOException {
        long t0 = System.nanoTime();
        T r = stage.run();
        seconds.put(name, roundMs((System.nanoTime() - t0) / 1e9));
        return r;
    }

    /** Seconds to the millisecond: a fast machine writes the site in under 0.05 s, which a 0.1 s rounding reported as 0. */
    private static double roundMs(double x) {
        return Math.round(x * 1000) / 1000.0;
    }

    public Path summaryFile() {
        return s.out().resolve("summary.json");
    }

    public Path figureFile() {
        return s.out().resolve("ppo-heldout.png");
    }

    void writeSummary() throws IOException {
        ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        AtomicFiles.writeString(summaryFile(), m.writeValueAsString(report) + "\n");
    }

    public Path site() throws IOException {
        if (!s.posts().isEmpty()) return null;
        Path posts = s.out().resolve("site/Posts.xml");
        try (AtomicFileSet files = new AtomicFileSet()) {
            SynthSite.write(files.open(posts), s.questions(), s.seed(), s.difficulty());
            files.commit();
        }
        log.printf("synthetic site (%s): %d questions with checkable answers -> %s%n", s.difficulty().name().toLowerCase(),
                s.questions(), posts);
        return posts;
    }

    public Path prepare(Path synthetic) throws IOException {
        Path data = s.out().resolve("data");
        List<Path> posts = synthetic != null ? List.of(synthetic) : s.posts();
        Prepare.Stats st = Prepare.run(Prepare.Config.of(posts, data, s.seed()), log);
        log.printf("prepare: %d questions, %d answers, %d pairs %s, %d RL prompts, %d rows skipped%n", st.questions, st.answers,
                st.pairs(), st.pairsPerSplit, st.rlPrompts, st.skipped.total());
        report.put("pairs", st.pairsPerSplit);
        return data;
    }

    /**
     * The base model: the given one, or a new LLaMA ({@link #BASE_SHAPE}, init's vocabulary) whose
     * every weight is pretrained on the site's text (each question with each of its answers, right
     * or wrong, from the finetune and reward splits, never the held-out ones) and, for the synthetic
     * site, textbook texts (questions of the same kind with right answers, two per site question).
     */
    public Path baseModel(Path data) throws IOException {
        if (s.baseModel() != null) {
            report.put("base_model", s.baseModel().getFileName().toString());
            return s.baseModel();
        }
        pretrained = true;
        Path init = s.out().resolve("base-init.gguf");
        RandomModel.write(BASE_SHAPE, TensorType.F32, s.seed(), BASE_INIT_STD, init, null);
        List<String> texts = siteTexts(data, "finetune.jsonl", "reward.jsonl");
        if (s.posts().isEmpty()) texts.addAll(SynthSite.textbook(2 * s.questions(), s.seed() + 1, s.difficulty()));
        texts = SftData.shuffleBuffer(texts, 1024, s.seed());
        SftConfig c = new SftConfig(128, 8, 1, 3e-3, LrSchedule.Kind.COSINE, 20, 0.01, s.pretrainSteps(), 1.0, LoraConfig.defaults(),
                s.seed(), 0, 0, 0, true, false, 0, true);
        try (RunFolder folder = RunFolder.open(s.out().resolve("pretrain"), RunFolder.Mode.OVERWRITE, log, SftRun.OUTPUTS);
                LlamaModel m = LlamaModel.load(init)) {
            List<Packing.Chunk> train = SftData.pack(texts, m.tokenizer(), 128);
            SftRun.Summary r = new SftRun(m, c, train, List.of(), folder, log).run(null);
            long params = BASE_SHAPE.parameters();
            report.put("base_model", String.format("pretrained here: LLaMA dim %d, %d layers, vocab %d (%,d parameters), %d steps on %d texts",
                    BASE_SHAPE.dim(), BASE_SHAPE.layers(), BASE_SHAPE.vocab(), params, r.stepsDone(), texts.size()));
            report.put("pretrain_loss", r.lastLoss());
            log.printf("pretrain: %d steps over %d texts of the site, final loss %.3f -> %s%n", r.stepsDone(), texts.size(), r.lastLoss(),
                    r.adapter());
            return r.adapter();
        }
    }

    /**
     * Every answer of the given pair files' questions with its question, once each (chosen and
     * rejected answers alike: the site as it is, right and wrong).
     */
    static List<String> siteTexts(Path data, String... files) throws IOException {
        Map<String, String> texts = new LinkedHashMap<>();
        for (String f : files)
            JsonlLines.read(data.resolve(f), (JsonNode row, long line) -> {
                String q = row.get("question").asText(), qid = row.path("qid").asText(q);
                for (String side : List.of("response_j", "response_k"))
                    texts.putIfAbsent(qid + "\u0000" + row.get(side).asText(), Template.format(q, row.get(side).asText()));
            });
        return new ArrayList<>(texts.values());
    }

    /**
     * SFT on the finetune split: every weight of a base pretrained here, on every answer of its
     * questions (the site as it is, so the SFT model answers as the site does, right or wrong);
     * else a LoRA adapter on the chosen answers (StackLLaMA's recipe) merged into the given base.
     * Returns the SFT trunk.
     */
    public Path sft(Path base, Path data) throws IOException {
        Path dir = s.out().resolve("sft");
        LoraConfig lora = new LoraConfig(16, 32f, 0.0f, EnumSet.allOf(LoraConfig.Target.class), s.seed());
        SftConfig c = new SftConfig(128, 8, 1, pretrained ? 1e-3 : 3e-3, LrSchedule.Kind.COSINE, 10, 0.05, s.sftSteps(), 1.0, lora,
                s.seed(), SftConfig.defaults().shuffleBuffer(), 0, 0, true, false, 0, pretrained);
        try (RunFolder folder = RunFolder.open(dir, RunFolder.Mode.OVERWRITE, log, SftRun.OUTPUTS); LlamaModel m = LlamaModel.load(base)) {
            List<String> texts = SftData.shuffleBuffer(c.full() ? siteTexts(data, "finetune.jsonl")
                    : SftData.readTexts(data.resolve("finetune.jsonl"), null), c.shuffleBuffer(), s.seed());
            List<Packing.Chunk> train = SftData.pack(texts, m.tokenizer(), 128);
            List<Packing.Chunk> eval = SftData.pack(SftData.readTexts(data.resolve("evaluation.jsonl"), null), m.tokenizer(), 128);
            SftRun.Summary r = new SftRun(m, c, train, eval, folder, log).run(null);
            report.put("sft_eval_loss", r.evalLoss());
            log.printf("sft: eval loss %.3f (perplexity %.1f)%n", r.evalLoss(), Math.exp(r.evalLoss()));
            if (c.full()) return r.adapter();
            Path merged = s.out().resolve("sft-merged.gguf");
            try (LoraAdapter a = AdapterFile.load(r.adapter(), m)) {
                Merge.merge(m, a, null, merged);
            }
            return merged;
        }
    }

    /** Reward model on the SFT trunk; returns the reward GGUF. */
    public Path reward(Path sftModel, Path data) throws IOException {
        Path dir = s.out().resolve("reward");
        LoraConfig lora = new LoraConfig(16, 32f, 0.0f, EnumSet.allOf(LoraConfig.Target.class), s.seed());
        RewardConfig c = new RewardConfig(1e-3, 8, 1, 1, LrSchedule.Kind.LINEAR, 10, 0.001, 512, 1.0, 0, 0, lora, s.seed(),
                s.rewardSteps());
        try (RunFolder folder = RunFolder.open(dir, RunFolder.Mode.OVERWRITE, log, RewardRun.OUTPUTS);
                LlamaModel m = LlamaModel.load(sftModel)) {
            RewardData.Loaded train = RewardData.load(data.resolve("reward.jsonl"), m.tokenizer(), 512);
            RewardData.Loaded eval = RewardData.load(data.resolve("evaluation.jsonl"), m.tokenizer(), 512);
            RewardRun.Summary r = new RewardRun(m, c, train.pairs(), eval.pairs(), folder, log).run();
            report.put("reward_eval_accuracy", r.eval().accuracy());
            report.put("reward_eval_pairs", r.eval().pairs());
            log.printf("reward model: held-out pairwise accuracy %.3f on %d pairs (ties count as incorrect)%n", r.eval().accuracy(),
                    r.eval().pairs());
            return r.rewardModel();
        }
    }

    /**
     * The demo's PPO settings (tuned over seeds; docs/pipeline.md). β₀ 0.5: at 0.2 the policy
     * drifts (KL 11 nats on one seed) into answers the reward model over-scores and loses true
     * correctness.
     */
    public PpoConfig ppoConfig() {
        return PpoConfig.defaults().toBuilder().learningRate(3e-4).batchSize(16).miniBatchSize(4).ppoEpochs(4).initKlCoef(0.5)
                .horizon(1000).minNewTokens(6).maxNewTokens(24).seed(s.seed()).build();
    }

    /**
     * PPO on the SFT trunk against the reward model; records the before/after report and, every
     * {@code evalEvery} steps, the held-out correctness, score and KL for the figure.
     */
    public void ppo(Path sftModel, Path rewardModel, Path data) throws IOException {
        ppo(sftModel, rewardModel, data, Method.PPO);
    }

    /** Responses per question of the demo's GRPO and RLOO (16 per step: 4 questions × 4). */
    public static final int GROUP_SIZE = 4;

    /**
     * PPO, GRPO or RLOO with the demo's PPO settings; returns the before/after figures. PPO's go to
     * the report's top level, with the held-out curve and figure (the others skip the curve).
     */
    public Map<String, Object> ppo(Path sftModel, Path rewardModel, Path data, Method method) throws IOException {
        if (method == Method.DPO) throw new IllegalArgumentException("DPO is not a PPO-loop method");
        boolean ppo = method == Method.PPO;
        Path dir = s.out().resolve(method.label());
        PpoConfig c = ppoConfig();
        AlgoConfig algo = ppo ? AlgoConfig.defaults() : new AlgoConfig(GroupAdvantages.Algo.valueOf(method.name()), GROUP_SIZE);
        LoraConfig lora = new LoraConfig(16, 32f, 0.0f, EnumSet.allOf(LoraConfig.Target.class), s.seed());
        try (RunFolder folder = RunFolder.open(dir, RunFolder.Mode.OVERWRITE, log, PpoRun.OUTPUTS);
                PpoSession session = PpoSession.open(sftModel, lora, RewardFunction.learned(sftModel, rewardModel))) {
            folder.input("reward-model", rewardModel);
            int max = session.maxPromptTokens(c);
            Prompts prompts = new Prompts(Prompts.read(data.resolve("rl.jsonl"), session.model().tokenizer(), max, new int[1]), s.seed());
            List<Prompts.Prompt> held = Prompts.read(data.resolve("evaluation.jsonl"), session.model().tokenizer(), max, new int[1]);
            held = held.subList(0, Math.min(128, held.size()));
            long evalSeed = s.seed() + 99;
            List<double[]> curve = new ArrayList<>();
            List<Prompts.Prompt> heldOut = held;
            PpoRun run = new PpoRun(session.policy(), session.reward(), prompts, c, algo, new PpoRun.Settings(s.ppoSteps(), 0, 1.0), folder, log);
            if (ppo && s.evalEvery() > 0) {
                curve.add(point(0, PpoEvaluation.run(session.policy(), session.reward(), heldOut, false, c.maxNewTokens(), evalSeed)));
                run.afterEachStep(step -> {
                    if (step % s.evalEvery() == 0 || step == s.ppoSteps())
                        curve.add(point(step, PpoEvaluation.run(session.policy(), session.reward(), heldOut, true, c.maxNewTokens(), evalSeed)));
                });
            }
            long t0 = System.nanoTime();
            List<PpoRun.StepResult> steps = run.run();
            double gen = 0, score = 0, opt = 0;
            for (PpoRun.StepResult r : steps) {
                gen += (double) r.row().get("time/ppo/generate_s");
                score += (double) r.row().get("time/ppo/score_s");
                opt += (double) r.row().get("time/ppo/optimize_s");
            }
            if (ppo) report.put("ppo_time_generate_score_optimize_s", List.of(Math.round(gen), Math.round(score), Math.round(opt)));
            log.printf(method.label() + ": %d steps in %.0f s (generate %.0f s, score %.0f s, optimise %.0f s); training plot %s%n", steps.size(),
                    (System.nanoTime() - t0) / 1e9, gen, score, opt, dir.resolve("ppo.png"));
            if (!curve.isEmpty()) {
                writeFigure(curve);
                List<List<Double>> rows = new ArrayList<>();
                for (double[] p : curve) rows.add(List.of(p[0], p[1], p[2], p[3]));
                report.put("heldout_curve_step_correct_score_kl", rows);
            }
            log.println();
            Map<String, Object> r = session.compare(held, c.maxNewTokens(), evalSeed, log, 4);
            if (ppo) report.putAll(r);
            return r;
        }
    }

    /**
     * The demo's DPO settings: the reward model's pairs, budget and LoRA (r16 on every projection,
     * no dropout), β {@link #DPO_BETA} unless set ({@link #dpoBeta}), sigmoid loss.
     */
    public DpoConfig dpoConfig() {
        LoraConfig lora = new LoraConfig(16, 32f, 0.0f, EnumSet.allOf(LoraConfig.Target.class), s.seed());
        return new DpoConfig(dpoBeta, DpoLoss.Kind.SIGMOID, 0, DPO_LR, 8, 1, 1, LrSchedule.Kind.COSINE, 10, 0.0, 512, 1.0, 0, 0, lora,
                s.seed(), s.rewardSteps());
    }

    /** The demo's DPO β (StackLLaMA-2 used 0.1, which drifts to KL 14–30 nats here; docs/pipeline.md). */
    public static final double DPO_BETA = 0.5;
    static final double DPO_LR = 3e-4;
    private double dpoBeta = DPO_BETA;

    /** Sets the DPO stage's β ({@code demo --dpo-beta}); returns this pipeline. */
    public DemoPipeline dpoBeta(double beta) {
        if (!(beta > 0) || !Double.isFinite(beta)) throw new IllegalArgumentException("--dpo-beta must be > 0, got " + beta);
        this.dpoBeta = beta;
        return this;
    }

    /**
     * DPO on the SFT trunk with the reward split's pairs (those the reward model learns from);
     * the reward model only scores the before/after answers. Returns the before/after figures.
     */
    public Map<String, Object> dpo(Path sftModel, Path rewardModel, Path data) throws IOException {
        DpoConfig c = dpoConfig();
        int maxNew = ppoConfig().maxNewTokens();
        try (RunFolder folder = RunFolder.open(s.out().resolve("dpo"), RunFolder.Mode.OVERWRITE, log, DpoRun.OUTPUTS);
                PpoSession session = PpoSession.open(sftModel, c.lora(), RewardFunction.learned(sftModel, rewardModel))) {
            folder.input("train-file", data.resolve("reward.jsonl"));
            DpoData.Loaded train = DpoData.load(data.resolve("reward.jsonl"), session.model().tokenizer(), c.maxLength());
            DpoRun.Summary r = new DpoRun(session.model(), c, train.pairs(), List.of(), folder, log).run();
            try (GgufFile f = GgufFile.open(r.adapter())) {
                AdapterFile.restoreInto(f, session.policy().lora(), false);
            }
            log.printf("dpo: %d steps on %d pairs, last loss %.4f -> %s%n%n", r.stepsDone(), train.pairs().size(), r.lastLoss(), r.adapter());
            List<Prompts.Prompt> held = Prompts.read(data.resolve("evaluation.jsonl"), session.model().tokenizer(),
                    session.maxPromptTokens(ppoConfig()), new int[1]);
            held = held.subList(0, Math.min(128, held.size()));
            return session.compare(held, maxNew, s.seed() + 99, log, 4);
        }
    }

    private static double[] point(int step, PpoEvaluation.Report r) {
        return new double[] {step, r.correctRate(), r.meanScore(), r.kl()};
    }

    private void writeFigure(List<double[]> curve) throws IOException {
        double[] x = new double[curve.size()], correct = new double[x.length], score = new double[x.length], kl = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = curve.get(i)[0];
            correct[i] = 100 * curve.get(i)[1];
            score[i] = curve.get(i)[2];
            kl[i] = curve.get(i)[3];
        }
        PlotPng.write(figureFile(), List.of(new PlotPng.Series("held-out true correctness, % (checker)", "PPO step", x, correct),
                new PlotPng.Series("held-out reward-model score", "PPO step", x, score),
                new PlotPng.Series("KL to the SFT model (nats per answer)", "PPO step", x, kl)), 900, 900);
    }
}
