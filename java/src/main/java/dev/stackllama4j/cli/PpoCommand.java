package dev.stackllama4j.cli;

import dev.stackllama4j.engine.Device;
import dev.stackllama4j.engine.KvType;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.MemoryPlan;
import dev.stackllama4j.engine.Precision;
import dev.stackllama4j.engine.TrainerPool;
import dev.stackllama4j.engine.TrunkId;
import dev.stackllama4j.ppo.PpoRun;
import dev.stackllama4j.ppo.PpoSession;
import dev.stackllama4j.ppo.Prompts;
import dev.stackllama4j.ppo.RewardFunction;
import dev.stackllama4j.rl.AlgoConfig;
import dev.stackllama4j.rl.GroupAdvantages;
import dev.stackllama4j.rl.KlEstimator;
import dev.stackllama4j.rl.PpoConfig;
import dev.stackllama4j.train.LoraConfig;
import dev.stackllama4j.train.RunFolder;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code ppo}: RLHF with PPO against a reward model, KL-penalised towards the SFT model. */
public final class PpoCommand implements Command {
    @Override
    public String name() {
        return "ppo";
    }

    @Override
    public String summary() {
        return "PPO (or GRPO / RLOO) against a reward model with a KL penalty to the SFT model (adaptive KL), LoRA policy";
    }

    @Override
    public Options options() {
        Options o = new Options();
        ModelFlags.add(o);
        Flags.arg(o, "sft-adapter", "S.gguf", "SFT adapter, merged into the policy trunk first (StackLLaMA's recipe)");
        Flags.arg(o, "reward-model", "M2.gguf", "trunk of the reward model (default: the policy trunk)");
        Flags.arg(o, "reward-adapter", "R.gguf", "reward model from train-reward (required unless --oracle-reward)");
        o.addOption(Option.builder().longOpt("oracle-reward").desc("reward = the synthetic site's checker (1 correct, 0 not)").get());
        Flags.arg(o, "prompts", "rl.jsonl", "prompts (qid, question) (required)");
        Flags.arg(o, "eval-file", "F.jsonl", "held-out questions for the before/after report (default: none)");
        Flags.arg(o, "eval-size", "N", "held-out prompts to evaluate (default 64)");
        Flags.arg(o, "output", "DIR", "output folder (required)");
        Flags.arg(o, "algo", "A", "ppo | grpo | rloo (default ppo): grpo and rloo sample --group-size responses per prompt and take"
                + " group-relative advantages instead of a value head");
        Flags.arg(o, "group-size", "K", "responses per prompt (default 1 for ppo, 4 for grpo and rloo); --batch-size counts responses");
        Flags.arg(o, "steps", "N", "PPO steps (default 100)");
        Flags.arg(o, "save-every", "N", "steps between checkpoints (default: at the end)");
        Flags.arg(o, "lr", "X", "learning rate (default 1.4e-5)");
        Flags.arg(o, "batch-size", "N", "prompts per step (default 32)");
        Flags.arg(o, "mini-batch-size", "N", "samples per minibatch (default 4)");
        Flags.arg(o, "grad-accum", "N", "minibatches per optimizer step (default 1)");
        Flags.arg(o, "ppo-epochs", "N", "passes over each batch (default 4)");
        Flags.arg(o, "init-kl-coef", "X", "initial β (default 0.2)");
        o.addOption(Option.builder().longOpt("fixed-kl").desc("keep β fixed (default: adaptive)").get());
        Flags.arg(o, "target", "X", "adaptive-KL target (default 6)");
        Flags.arg(o, "horizon", "X", "adaptive-KL horizon (default 10000)");
        Flags.arg(o, "kl-penalty", "E", "kl | abs | mse | full (default kl)");
        Flags.arg(o, "gamma", "X", "discount (default 1.0)");
        Flags.arg(o, "lam", "X", "GAE λ (default 0.95)");
        Flags.arg(o, "cliprange", "X", "policy clip (default 0.2)");
        Flags.arg(o, "cliprange-value", "X", "value clip (default 0.2)");
        Flags.arg(o, "vf-coef", "X", "value-loss weight (default 0.1)");
        Flags.arg(o, "reward-baseline", "X", "subtracted from every score (default 0)");
        Flags.arg(o, "ratio-threshold", "X", "skip minibatches whose mean ratio exceeds it (default 10)");
        Flags.arg(o, "target-kl", "X", "early-stop an epoch above 1.5 × this (with --early-stopping; default 0.1)");
        o.addOption(Option.builder().longOpt("early-stopping").desc("stop PPO epochs when the policy KL runs away").get());
        Flags.arg(o, "min-new-tokens", "N", "response length drawn from [min, max] (default 32)");
        Flags.arg(o, "max-new-tokens", "N", "(default 128)");
        o.addOption(Option.builder().longOpt("no-stop-at-eos").desc("keep sampling past EOS").get());
        o.addOption(Option.builder().longOpt("training-dropout")
                .desc("LoRA dropout on the training pass too (TRL before 0.7.2; default: no dropout in any PPO forward)").get());
        Flags.arg(o, "lora-r", "N", "PPO LoRA rank (default 16)");
        Flags.arg(o, "lora-alpha", "X", "(default 32)");
        Flags.arg(o, "lora-dropout", "X", "(default 0.05)");
        Flags.arg(o, "lora-targets", "LIST", "(default q,v)");
        Flags.arg(o, "seed", "N", "(default 0)");
        o.addOption(Option.builder().longOpt("activation-checkpointing").desc("recompute activations in backward (less memory)").get());
        Flags.arg(o, "max-kl", "X", "stop the run when objective/kl exceeds X (default: no limit)");
        o.addOption(Option.builder().longOpt("allow-trunk-mismatch").desc("run a reward model or SFT adapter recorded as trained on "
                + "another base model than the one it is loaded onto, with a warning (default: refused)").get());
        RunFlags.add(o);
        PlanFlags.add(o, true);
        return o;
    }

    static PpoConfig config(CommandLine cmd) {
        PpoConfig d = PpoConfig.defaults();
        try {
            return d.toBuilder().learningRate(Flags.doubleValue(cmd, "lr", d.learningRate()))
                    .batchSize(Flags.intValue(cmd, "batch-size", d.batchSize()))
                    .miniBatchSize(Flags.intValue(cmd, "mini-batch-size", d.miniBatchSize()))
                    .gradAccum(Flags.intValue(cmd, "grad-accum", d.gradAccum()))
                    .ppoEpochs(Flags.intValue(cmd, "ppo-epochs", d.ppoEpochs()))
                    .initKlCoef(Flags.doubleValue(cmd, "init-kl-coef", d.initKlCoef())).adaptiveKl(!cmd.hasOption("fixed-kl"))
                    .target(Flags.doubleValue(cmd, "target", d.target())).horizon(Flags.doubleValue(cmd, "horizon", d.horizon()))
                    .klPenalty(KlEstimator.parse(cmd.getOptionValue("kl-penalty", "kl")))
                    .gamma(Flags.doubleValue(cmd, "gamma", d.gamma())).lam(Flags.doubleValue(cmd, "lam", d.lam()))
                    .cliprange(Flags.doubleValue(cmd, "cliprange", d.cliprange()))
                    .cliprangeValue(Flags.doubleValue(cmd, "cliprange-value", d.cliprangeValue()))
                    .vfCoef(Flags.doubleValue(cmd, "vf-coef", d.vfCoef()))
                    .rewardBaseline(Flags.doubleValue(cmd, "reward-baseline", d.rewardBaseline()))
                    .ratioThreshold(Flags.doubleValue(cmd, "ratio-threshold", d.ratioThreshold()))
                    .earlyStopping(cmd.hasOption("early-stopping")).targetKl(Flags.doubleValue(cmd, "target-kl", d.targetKl()))
                    .minNewTokens(Flags.intValue(cmd, "min-new-tokens", d.minNewTokens()))
                    .maxNewTokens(Flags.intValue(cmd, "max-new-tokens", d.maxNewTokens()))
                    .stopAtEos(!cmd.hasOption("no-stop-at-eos")).trainingDropout(cmd.hasOption("training-dropout"))
                    .seed(Flags.longValue(cmd, "seed", d.seed())).build();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    static AlgoConfig algo(CommandLine cmd, PpoConfig c) {
        try {
            GroupAdvantages.Algo a = GroupAdvantages.Algo.parse(cmd.getOptionValue("algo", "ppo"));
            AlgoConfig algo = new AlgoConfig(a, Flags.intValue(cmd, "group-size", a == GroupAdvantages.Algo.PPO ? 1 : 4));
            algo.requireFits(c);
            return algo;
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) throws Exception {
        PpoConfig c = config(cmd);
        AlgoConfig algo = algo(cmd, c);
        Path out = Path.of(Flags.required(cmd, "output"));
        Path model = SftCommand.existing(Flags.required(cmd, "model"));
        Path sft = cmd.hasOption("sft-adapter") ? SftCommand.existing(cmd.getOptionValue("sft-adapter")) : null;
        Path promptFile = SftCommand.existing(Flags.required(cmd, "prompts"));
        boolean oracle = cmd.hasOption("oracle-reward");
        if (oracle == cmd.hasOption("reward-adapter")) throw new UsageException("give --reward-adapter or --oracle-reward");
        LoraConfig lora = SftCommand.lora(cmd, 16, 32, 0.05, "q,v", c.seed());
        PpoRun.Settings settings;
        try {
            settings = new PpoRun.Settings(Flags.intValue(cmd, "steps", 100), Flags.intValue(cmd, "save-every", 0), 1.0,
                    Flags.doubleValue(cmd, "max-kl", 0));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        KvType kv = PlanFlags.kvType(cmd);
        Path rewardAdapter = oracle ? null : SftCommand.existing(cmd.getOptionValue("reward-adapter"));
        // The reward model's own trunk (--reward-model); by default it shares the policy's mapping.
        Path rewardTrunk = cmd.hasOption("reward-model") && !oracle ? SftCommand.existing(cmd.getOptionValue("reward-model")) : null;
        Device device;
        try (LlamaModel base = ModelFlags.load(cmd, ctx)) {
            device = base.device();  // the trunk PPO loads below goes where --device put the model
            int longest = 1;
            for (Prompts.Prompt p : Prompts.read(promptFile, base.tokenizer(), PpoSession.maxPromptTokens(base, c), new int[1], ""))
                longest = Math.max(longest, p.tokens().length);
            Integer exit = PlanFlags.check(cmd, ctx, "ppo", plan(base, c, lora, kv, longest, !oracle, rewardTrunk, cmd.hasOption("activation-checkpointing"),
                    ModelFlags.planDevice(cmd, base)), false,
                    cmd.hasOption("activation-checkpointing") ? "use a smaller --mini-batch-size, --batch-size or --max-new-tokens"
                    : "add --activation-checkpointing, or use a smaller --mini-batch-size, --batch-size or --max-new-tokens");
            if (exit != null) return exit;
        }
        RunFolder.Mode mode = RunFlags.mode(cmd);
        try (RunFolder folder = RunFolder.open(out, mode, ctx.err(), PpoRun.OUTPUTS)) {
            folder.input("model", model).input("sft-adapter", sft).input("prompts", promptFile).setting("oracle-reward", oracle)
                    .input("reward-adapter", rewardAdapter).input("reward-model", rewardTrunk);
            TrunkId.Check check = cmd.hasOption("allow-trunk-mismatch") ? TrunkId.Check.WARN : TrunkId.Check.REFUSE;
            Path trunk = sft == null ? model : PpoSession.mergeSft(model, sft, out, check);
            boolean sharedTrunk = !oracle && rewardTrunk == null;
            LlamaModel.Options options = new LlamaModel.Options(device, 0, kv, Precision.EXACT);  // the ratio needs the exact forward
            try (PpoSession session = oracle ? PpoSession.open(trunk, lora, RewardFunction.checker(), options)
                    : sharedTrunk ? PpoSession.openSharedTrunk(trunk, lora, rewardAdapter, check, options)
                    : PpoSession.open(trunk, lora, RewardFunction.learned(rewardTrunk, rewardAdapter, check,
                            new LlamaModel.Options(device, 0)), options)) {
                session.policy().pool().setCheckpointing(cmd.hasOption("activation-checkpointing"));
                int[] dropped = {0};
                int limit = session.maxPromptTokens(c);
                String why = session.promptLimitReason(c);
                Prompts prompts = new Prompts(Prompts.read(promptFile, session.model().tokenizer(), limit, dropped, why), c.seed());
                if (dropped[0] > 0)
                    ctx.err().printf("ppo: %d of %d prompts dropped: longer than %d tokens (%s)%n", dropped[0], dropped[0] + prompts.size(),
                            limit, why);
                List<Prompts.Prompt> held = cmd.hasOption("eval-file")
                        ? Prompts.read(SftCommand.existing(cmd.getOptionValue("eval-file")), session.model().tokenizer(), limit, new int[1], why)
                        : List.of();
                held = held.subList(0, Math.min(held.size(), Flags.intValue(cmd, "eval-size", 64)));
                PpoRun run = new PpoRun(session.policy(), session.reward(), prompts, c, algo, settings, folder, ctx.err());
                run.run();
                ctx.out().printf("ppo: %d steps; adapter %s, metrics %s, plot %s%n", run.stepsDone(), out.resolve("adapter.gguf"),
                        out.resolve("metrics.jsonl"), out.resolve("ppo.png"));
                if (!held.isEmpty()) session.compare(held, c.maxNewTokens(), c.seed() + 99, ctx.out(), 3);
            }
        }
        return 0;
    }

    /**
     * Rollout: a session of batch sequences of (longest prompt + max new tokens), every prompt
     * prefilled at once. Old, reference and value passes: no-grad over the batch, and the learned
     * reward model's scoring pass (its trunk counted when it is another file). Training:
     * mini-batches at the padded length.
     */
    static MemoryPlan.Result plan(LlamaModel m, PpoConfig c, LoraConfig lora, KvType kv, int longestPrompt, boolean learned,
                                  Path rewardTrunk, boolean checkpointing, Device on) {
        int ctxLen = longestPrompt + c.maxNewTokens(), bucket = TrainerPool.bucket(ctxLen);
        long extra = rewardTrunk == null ? 0 : PlanFlags.fileBytes(rewardTrunk);
        int infer = c.batchSize() * (learned ? 2 : 1);
        return MemoryPlan.compute(m.info(), new MemoryPlan.Params(MemoryPlan.Mode.PPO, PlanFlags.fileBytes(m.path()), extra,
                MemoryPlan.processResident(), c.miniBatchSize(), bucket, checkpointing, lora.r(), lora.targetBits(), infer, bucket,
                c.batchSize(), ctxLen, kv, c.batchSize() * longestPrompt, c.klPenalty() == KlEstimator.FULL).on(on));
    }
}
