package dev.stackllama4j.pipeline;

import dev.stackllama4j.data.Prepare;
import dev.stackllama4j.data.SynthSite;
import dev.stackllama4j.data.SynthSite;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.io.AtomicFileSet;
import dev.stackllama4j.model.ModelShape;
import dev.stackllama4j.model.RandomModel;
import dev.stackllama4j.ppo.PpoRun;
import dev.stackllama4j.ppo.PpoSession;
import dev.stackllama4j.ppo.Prompts;
import dev.stackllama4j.ppo.RewardFunction;
import dev.stackllama4j.rl.PpoConfig;
import dev.stackllama4j.reward.RewardConfig;
import dev.stackllama4j.reward.RewardData;
import dev.stackllama4j.reward.RewardRun;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The built-in end-to-end run, sized for a 2-core CPU: a Stack Exchange site (synthetic by
 * default, or real Posts.xml) → prepare → a base model → SFT (LoRA) merged into the trunk → a
 * reward model on the SFT trunk → PPO against that reward model, with a before/after report. Each
 * stage is a plain method; {@link Settings} holds the knobs.
 */
public final class DemoPipeline {
    /**
     * @param out work folder
     * @param posts real dumps to use instead of the synthetic site (empty: synthetic)
     * @param baseModel model to start from (null: stories260K from ../shared if present, else a
     *     random model)
     * @param questions synthetic questions. Default 2000.
     * @param sftSteps default 150. @param rewardSteps default 250.
     * @param seed default 1.
     */
    public record Settings(Path out, List<Path> posts, Path baseModel, SynthSite.Difficulty difficulty, int questions, int sftSteps,
                           int rewardSteps, int ppoSteps, long seed) {
        public static Settings defaults(Path out) {
            return new Settings(out, List.of(), null, SynthSite.Difficulty.EASY, 2000, 200, 200, 60, 3);
        }
    }

    private final Settings s;
    private final PrintStream log;
    private final Map<String, Object> report = new LinkedHashMap<>();

    public DemoPipeline(Settings settings, PrintStream log) {
        this.s = settings;
        this.log = log;
    }

    public Map<String, Object> report() {
        return report;
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
        return data;
    }

    /** The base model: the given one, stories260K from ../shared, or a random one (with a notice). */
    public Path baseModel() {
        if (s.baseModel() != null) return s.baseModel();
        Path shared = Path.of("..", "shared", "models", "stories260K", "stories260K.gguf").toAbsolutePath().normalize();
        if (Files.isRegularFile(shared)) {
            log.println("base model: stories260K (a real 260K-parameter TinyStories LLaMA) from " + shared);
            report.put("base_model", "stories260K");
            return shared;
        }
        Path f = s.out().resolve("base-random.gguf");
        RandomModel.write(new ModelShape(128, 4, 4, 2, 352, 512, 512, 10000, 1e-5, false), TensorType.F32, s.seed(), f);
        log.println("notice: ../shared/models/stories260K is absent, so the demo starts from a random model; "
                + "LoRA alone teaches it slowly, expect weak figures (pass --model for a real one)");
        report.put("base_model", "random 128x4");
        return f;
    }

    /** SFT on the finetune split; returns the trunk with the adapter merged in. */
    public Path sft(Path base, Path data) throws IOException {
        Path dir = s.out().resolve("sft");
        LoraConfig lora = new LoraConfig(16, 32f, 0.0f, EnumSet.allOf(LoraConfig.Target.class), s.seed());
        SftConfig c = new SftConfig(128, 8, 1, 3e-3, LrSchedule.Kind.COSINE, 10, 0.05, s.sftSteps(), 1.0, lora, s.seed(), 0, 0, 0,
                true, false, 0);
        Path merged = s.out().resolve("sft-merged.gguf");
        try (RunFolder folder = RunFolder.open(dir, RunFolder.Mode.OVERWRITE, log, SftRun.OUTPUTS); LlamaModel m = LlamaModel.load(base)) {
            List<Packing.Chunk> train = SftData.pack(SftData.readTexts(data.resolve("finetune.jsonl"), null), m.tokenizer(), 128);
            List<Packing.Chunk> eval = SftData.pack(SftData.readTexts(data.resolve("evaluation.jsonl"), null), m.tokenizer(), 128);
            SftRun.Summary r = new SftRun(m, c, train, eval, folder, log).run(null);
            report.put("sft_eval_loss", r.evalLoss());
            log.printf("sft: eval loss %.3f (perplexity %.1f)%n", r.evalLoss(), Math.exp(r.evalLoss()));
            try (LoraAdapter a = AdapterFile.load(r.adapter(), m)) {
                Merge.merge(m, a, null, merged);
            }
        }
        return merged;
    }

    /** Reward model on the SFT trunk; returns the reward GGUF. */
    public Path reward(Path sftModel, Path data) throws IOException {
        Path dir = s.out().resolve("reward");
        RewardConfig c = new RewardConfig(1e-3, 8, 1, 1, LrSchedule.Kind.LINEAR, 10, 0.001, 512, 1.0, 0, 0,
                RewardConfig.defaultLora(s.seed()), s.seed(), s.rewardSteps());
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

    /** PPO on the SFT trunk against the reward model; prints and records the before/after report. */
    public void ppo(Path sftModel, Path rewardModel, Path data) throws IOException {
        Path dir = s.out().resolve("ppo");
        // Tuned on this setting (docs/pipeline.md): a faster-reacting KL controller (horizon 1000)
        // and lr 5e-5, the rate of four tried over seeds 3, 4, 5 under which every seed gained true
        // correctness; at 1.5e-4 one seed in three hacked the tiny reward model.
        PpoConfig c = PpoConfig.defaults().toBuilder().learningRate(5e-5).batchSize(16).miniBatchSize(4).ppoEpochs(4)
                .initKlCoef(0.2).horizon(1000).minNewTokens(4).maxNewTokens(12).seed(s.seed()).build();
        LoraConfig lora = new LoraConfig(16, 32f, 0.0f, EnumSet.allOf(LoraConfig.Target.class), s.seed());
        try (RunFolder folder = RunFolder.open(dir, RunFolder.Mode.OVERWRITE, log, PpoRun.OUTPUTS);
                PpoSession session = PpoSession.open(sftModel, lora, RewardFunction.learned(sftModel, rewardModel))) {
            folder.input("reward-model", rewardModel);
            int max = session.maxPromptTokens(c);
            Prompts prompts = new Prompts(Prompts.read(data.resolve("rl.jsonl"), session.model().tokenizer(), max, new int[1]), s.seed());
            List<Prompts.Prompt> held = Prompts.read(data.resolve("evaluation.jsonl"), session.model().tokenizer(), max, new int[1]);
            held = held.subList(0, Math.min(128, held.size()));
            PpoRun run = new PpoRun(session.policy(), session.reward(), prompts, c, new PpoRun.Settings(s.ppoSteps(), 0, 1.0), folder, log);
            long t0 = System.nanoTime();
            List<PpoRun.StepResult> steps = run.run();
            double gen = 0, score = 0, opt = 0;
            for (PpoRun.StepResult r : steps) {
                gen += (double) r.row().get("time/ppo/generate_s");
                score += (double) r.row().get("time/ppo/score_s");
                opt += (double) r.row().get("time/ppo/optimize_s");
            }
            report.put("ppo_seconds", (System.nanoTime() - t0) / 1e9);
            report.put("ppo_time_generate_score_optimize_s", List.of(Math.round(gen), Math.round(score), Math.round(opt)));
            log.printf("ppo: %d steps in %.0f s (generate %.0f s, score %.0f s, optimise %.0f s); plot %s%n", steps.size(),
                    (System.nanoTime() - t0) / 1e9, gen, score, opt, dir.resolve("ppo.png"));
            log.println();
            report.putAll(session.compare(held, c.maxNewTokens(), s.seed() + 99, log, 4));
        }
    }
}
