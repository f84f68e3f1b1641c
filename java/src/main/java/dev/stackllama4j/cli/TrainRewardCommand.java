package dev.stackllama4j.cli;

import dev.stackllama4j.engine.KvType;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.MemoryPlan;
import dev.stackllama4j.engine.TrainerPool;
import dev.stackllama4j.reward.RewardConfig;
import dev.stackllama4j.reward.RewardData;
import dev.stackllama4j.reward.RewardRun;
import dev.stackllama4j.train.LrSchedule;
import dev.stackllama4j.train.RunFolder;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** {@code train-reward}: a pairwise reward model (LoRA trunk + scalar head). */
public final class TrainRewardCommand implements Command {
    @Override
    public String name() {
        return "train-reward";
    }

    @Override
    public String summary() {
        return "train a reward model on preference pairs (LoRA + scalar head), report pairwise accuracy";
    }

    @Override
    public Options options() {
        Options o = new Options();
        ModelFlags.add(o);
        Flags.arg(o, "train-file", "F.jsonl", "pairs (qid, question, response_j, response_k) (required)");
        Flags.arg(o, "eval-file", "F.jsonl", "held-out pairs for loss and accuracy");
        Flags.arg(o, "output", "DIR", "output folder: reward.gguf, adapter.gguf, checkpoint.gguf, metrics.jsonl (required)");
        Flags.arg(o, "lr", "X", "peak learning rate (default 2e-5)");
        Flags.arg(o, "batch-size", "N", "pairs per micro-batch (default 4)");
        Flags.arg(o, "grad-accum", "N", "micro-batches per step (default 1)");
        Flags.arg(o, "epochs", "N", "passes over the pairs (default 1)");
        Flags.arg(o, "max-steps", "N", "stop after N steps (default: epochs decide)");
        Flags.arg(o, "lr-schedule", "S", "constant | linear | cosine (default linear)");
        Flags.arg(o, "warmup-steps", "N", "warmup steps (default 0)");
        Flags.arg(o, "weight-decay", "X", "AdamW weight decay (default 0.001)");
        Flags.arg(o, "max-length", "N", "drop pairs with a side longer than N tokens (default 512)");
        Flags.arg(o, "max-grad-norm", "X", "gradient clipping norm (default 1.0)");
        Flags.arg(o, "eval-every", "N", "steps between evaluations (default: at the end)");
        Flags.arg(o, "save-every", "N", "steps between checkpoints (default: at the end)");
        Flags.arg(o, "lora-r", "N", "LoRA rank (default 8)");
        Flags.arg(o, "lora-alpha", "X", "LoRA alpha (default 32)");
        Flags.arg(o, "lora-dropout", "X", "LoRA dropout (default 0.1)");
        Flags.arg(o, "lora-targets", "LIST", "q,k,v,o,gate,up,down subset (default q,v)");
        Flags.arg(o, "seed", "N", "pair order and initialisation (default 0)");
        RunFlags.add(o);
        PlanFlags.add(o, false);
        return o;
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) throws Exception {
        RewardConfig d = RewardConfig.defaults();
        long seed = Flags.longValue(cmd, "seed", 0);
        RewardConfig c;
        try {
            c = new RewardConfig(Flags.doubleValue(cmd, "lr", d.lr()), Flags.intValue(cmd, "batch-size", d.batchSize()),
                    Flags.intValue(cmd, "grad-accum", 1), Flags.intValue(cmd, "epochs", 1),
                    LrSchedule.Kind.parse(cmd.getOptionValue("lr-schedule", "linear")), Flags.intValue(cmd, "warmup-steps", 0),
                    Flags.doubleValue(cmd, "weight-decay", d.weightDecay()), Flags.intValue(cmd, "max-length", d.maxLength()),
                    Flags.doubleValue(cmd, "max-grad-norm", 1.0), Flags.intValue(cmd, "eval-every", 0),
                    Flags.intValue(cmd, "save-every", 0), SftCommand.lora(cmd, 8, 32, 0.1, "q,v", seed), seed,
                    Flags.intValue(cmd, "max-steps", 0));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        Path trainFile = SftCommand.existing(Flags.required(cmd, "train-file"));
        Path evalFile = cmd.hasOption("eval-file") ? SftCommand.existing(cmd.getOptionValue("eval-file")) : null;
        Path out = Path.of(Flags.required(cmd, "output"));
        RunFolder.Mode mode = RunFlags.mode(cmd);
        try (LlamaModel model = ModelFlags.load(cmd, ctx)) {
            int limit = (int) Math.min(c.maxLength(), model.info().trainContext());
            String why = limit < c.maxLength() ? "the model's context" : "--max-length";
            RewardData.Loaded train = RewardData.load(trainFile, model.tokenizer(), limit);
            RewardData.Loaded eval = evalFile == null ? new RewardData.Loaded(java.util.List.of(), 0)
                    : RewardData.load(evalFile, model.tokenizer(), limit);
            Integer exit = PlanFlags.check(cmd, ctx, "train-reward", plan(model, c, train.pairs(), eval.pairs(), ModelFlags.planDevice(cmd, model)), false,
                    "use a smaller --batch-size or --max-length");
            if (exit != null) return exit;
            ctx.err().printf("train-reward: %d training pairs (%d dropped: a side longer than %d tokens, %s), %d eval pairs (%d dropped)%n",
                    train.pairs().size(), train.dropped(), limit, why, eval.pairs().size(), eval.dropped());
            if (train.pairs().isEmpty())
                throw new IllegalArgumentException(trainFile + ": no usable pairs: all " + train.dropped() + " have a side longer than "
                        + limit + " tokens (" + why + ")");
            try (RunFolder folder = RunFolder.open(out, mode, ctx.err(), RewardRun.OUTPUTS)) {
                folder.input("train-file", trainFile).input("eval-file", evalFile);
                RewardRun run = new RewardRun(model, c, train.pairs(), eval.pairs(), folder, ctx.err());
                RewardRun.Summary s = run.run();
                ctx.out().printf("train-reward: %d/%d steps, last loss %.4f%s; reward model %s%n", s.stepsDone(), s.totalSteps(),
                        s.lastLoss(), s.eval() == null ? "" : String.format(", eval accuracy %.3f on %d pairs (ties count as incorrect), eval loss %.4f",
                                s.eval().accuracy(), s.eval().pairs(), s.eval().loss()), s.rewardModel());
            }
        }
        return 0;
    }

    /** Training scores 2 × batch sequences (chosen and rejected) at the longest pair's bucket; evaluation the same, no-grad. */
    static MemoryPlan.Result plan(LlamaModel model, RewardConfig c, List<RewardData.TokenPair> train, List<RewardData.TokenPair> eval,
                                  dev.stackllama4j.engine.Device on) {
        int seqs = 2 * c.batchSize();
        return MemoryPlan.compute(model.info(), new MemoryPlan.Params(MemoryPlan.Mode.REWARD, PlanFlags.fileBytes(model.path()), 0,
                MemoryPlan.processResident(), seqs, TrainerPool.bucket(longest(train)), false, c.lora().r(), c.lora().targetBits(),
                eval.isEmpty() ? 0 : seqs, eval.isEmpty() ? 0 : TrainerPool.bucket(longest(eval)), 0, 0, KvType.F16, 0).on(on));
    }

    private static int longest(List<RewardData.TokenPair> pairs) {
        int n = 1;
        for (RewardData.TokenPair p : pairs) n = Math.max(n, Math.max(p.chosen().length, p.rejected().length));
        return n;
    }
}
