package dev.stackllama4j.cli;

import dev.stackllama4j.dpo.DpoConfig;
import dev.stackllama4j.dpo.DpoData;
import dev.stackllama4j.dpo.DpoLoss;
import dev.stackllama4j.dpo.DpoRun;
import dev.stackllama4j.engine.KvType;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.MemoryPlan;
import dev.stackllama4j.engine.TrainerPool;
import dev.stackllama4j.train.LrSchedule;
import dev.stackllama4j.train.RunFolder;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** {@code dpo}: Direct Preference Optimization on preference pairs, LoRA over the trunk, the trunk as reference. */
public final class DpoCommand implements Command {
    @Override
    public String name() {
        return "dpo";
    }

    @Override
    public String summary() {
        return "Direct Preference Optimization on preference pairs (LoRA; the adapter-off trunk is the reference)";
    }

    @Override
    public Options options() {
        Options o = new Options();
        ModelFlags.add(o);
        Flags.arg(o, "train-file", "F.jsonl", "pairs (qid, question, response_j, response_k), as train-reward reads (required)");
        Flags.arg(o, "eval-file", "F.jsonl", "held-out pairs for the DPO stats");
        Flags.arg(o, "output", "DIR", "output folder: adapter.gguf, checkpoint.gguf, metrics.jsonl (required)");
        Flags.arg(o, "beta", "X", "β (default 0.1)");
        Flags.arg(o, "loss-type", "T", "sigmoid | hinge | ipo (default sigmoid)");
        Flags.arg(o, "label-smoothing", "X", "cDPO's ε in [0, 0.5), sigmoid only (default 0)");
        Flags.arg(o, "lr", "X", "peak learning rate (default 5e-4)");
        Flags.arg(o, "batch-size", "N", "pairs per micro-batch (default 4)");
        Flags.arg(o, "grad-accum", "N", "micro-batches per step (default 4)");
        Flags.arg(o, "epochs", "N", "passes over the pairs (default 1)");
        Flags.arg(o, "max-steps", "N", "stop after N steps (default: epochs decide)");
        Flags.arg(o, "lr-schedule", "S", "constant | linear | cosine (default cosine)");
        Flags.arg(o, "warmup-steps", "N", "warmup steps (default 100)");
        Flags.arg(o, "weight-decay", "X", "AdamW weight decay (default 0.05)");
        Flags.arg(o, "max-length", "N", "drop pairs with a side (prompt + answer + EOS) longer than N tokens (default 1024)");
        Flags.arg(o, "max-grad-norm", "X", "gradient clipping norm (default 1.0)");
        Flags.arg(o, "eval-every", "N", "steps between evaluations (default: at the end)");
        Flags.arg(o, "save-every", "N", "steps between checkpoints (default: at the end)");
        Flags.arg(o, "lora-r", "N", "LoRA rank (default 8)");
        Flags.arg(o, "lora-alpha", "X", "LoRA alpha (default 16)");
        Flags.arg(o, "lora-dropout", "X", "LoRA dropout (default 0.05)");
        Flags.arg(o, "lora-targets", "LIST", "q,k,v,o,gate,up,down subset (default q,k,v)");
        Flags.arg(o, "seed", "N", "pair order, initialisation, dropout (default 0)");
        RunFlags.add(o);
        PlanFlags.add(o, false);
        return o;
    }

    static DpoConfig config(CommandLine cmd) {
        DpoConfig d = DpoConfig.defaults();
        long seed = Flags.longValue(cmd, "seed", d.seed());
        try {
            return new DpoConfig(Flags.doubleValue(cmd, "beta", d.beta()), DpoLoss.Kind.parse(cmd.getOptionValue("loss-type", "sigmoid")),
                    Flags.doubleValue(cmd, "label-smoothing", d.labelSmoothing()), Flags.doubleValue(cmd, "lr", d.lr()),
                    Flags.intValue(cmd, "batch-size", d.batchSize()), Flags.intValue(cmd, "grad-accum", d.gradAccum()),
                    Flags.intValue(cmd, "epochs", d.epochs()), LrSchedule.Kind.parse(cmd.getOptionValue("lr-schedule", "cosine")),
                    Flags.intValue(cmd, "warmup-steps", d.warmupSteps()), Flags.doubleValue(cmd, "weight-decay", d.weightDecay()),
                    Flags.intValue(cmd, "max-length", d.maxLength()), Flags.doubleValue(cmd, "max-grad-norm", d.maxGradNorm()),
                    Flags.intValue(cmd, "eval-every", 0), Flags.intValue(cmd, "save-every", 0),
                    SftCommand.lora(cmd, 8, 16, 0.05, "q,k,v", seed), seed, Flags.intValue(cmd, "max-steps", 0));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) throws Exception {
        DpoConfig c = config(cmd);
        Path trainFile = SftCommand.existing(Flags.required(cmd, "train-file"));
        Path evalFile = cmd.hasOption("eval-file") ? SftCommand.existing(cmd.getOptionValue("eval-file")) : null;
        Path out = Path.of(Flags.required(cmd, "output"));
        RunFolder.Mode mode = RunFlags.mode(cmd);
        try (LlamaModel model = ModelFlags.load(cmd, ctx)) {
            int limit = (int) Math.min(c.maxLength(), model.info().trainContext());
            String why = limit < c.maxLength() ? "the model's context" : "--max-length";
            DpoData.Loaded train = DpoData.load(trainFile, model.tokenizer(), limit);
            DpoData.Loaded eval = evalFile == null ? new DpoData.Loaded(List.of(), 0) : DpoData.load(evalFile, model.tokenizer(), limit);
            Integer exit = PlanFlags.check(cmd, ctx, "dpo", plan(model, c, train.pairs(), eval.pairs(), ModelFlags.planDevice(cmd, model)), false,
                    "use a smaller --batch-size or --max-length");
            if (exit != null) return exit;
            ctx.err().printf("dpo: %d training pairs (%d dropped: a side longer than %d tokens, %s), %d eval pairs (%d dropped)%n",
                    train.pairs().size(), train.dropped(), limit, why, eval.pairs().size(), eval.dropped());
            if (train.pairs().isEmpty())
                throw new IllegalArgumentException(trainFile + ": no usable pairs: all " + train.dropped() + " have a side longer than "
                        + limit + " tokens (" + why + ")");
            try (RunFolder folder = RunFolder.open(out, mode, ctx.err(), DpoRun.OUTPUTS)) {
                folder.input("train-file", trainFile).input("eval-file", evalFile);
                DpoRun.Summary s = new DpoRun(model, c, train.pairs(), eval.pairs(), folder, ctx.err()).run();
                Map<String, Double> e = s.eval();
                ctx.out().printf("dpo: %d/%d steps, last loss %.4f%s; adapter %s%n", s.stepsDone(), s.totalSteps(), s.lastLoss(),
                        e == null ? "" : String.format(", eval loss %.4f, reward accuracy %.3f, margin %.3f on %d pairs", e.get("loss"),
                                e.get("rewards/accuracies"), e.get("rewards/margins"), eval.pairs().size()), s.adapter());
            }
        }
        return 0;
    }

    /** Training runs 2 × batch sequences (chosen and rejected) with gradients and a no-grad reference pass of the same shape. */
    static MemoryPlan.Result plan(LlamaModel model, DpoConfig c, List<DpoData.Pair> train, List<DpoData.Pair> eval,
                                  dev.stackllama4j.engine.Device on) {
        int seqs = 2 * c.batchSize(), bucket = TrainerPool.bucket(Math.max(longest(train), longest(eval)));
        return MemoryPlan.compute(model.info(), new MemoryPlan.Params(MemoryPlan.Mode.REWARD, PlanFlags.fileBytes(model.path()), 0,
                MemoryPlan.processResident(), seqs, TrainerPool.bucket(longest(train)), false, c.lora().r(), c.lora().targetBits(),
                seqs, bucket, 0, 0, KvType.F16, 0).on(on));
    }

    private static int longest(List<DpoData.Pair> pairs) {
        int n = 1;
        for (DpoData.Pair p : pairs) n = Math.max(n, Math.max(p.chosen().length, p.rejected().length));
        return n;
    }
}
