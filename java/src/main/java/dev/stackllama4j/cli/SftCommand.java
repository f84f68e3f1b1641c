package dev.stackllama4j.cli;

import dev.stackllama4j.engine.KvType;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.MemoryPlan;
import dev.stackllama4j.tokenizer.Tokenizer;
import dev.stackllama4j.train.LoraConfig;
import dev.stackllama4j.train.LrSchedule;
import dev.stackllama4j.train.Packing;
import dev.stackllama4j.train.RunFolder;
import dev.stackllama4j.train.SftConfig;
import dev.stackllama4j.train.SftData;
import dev.stackllama4j.train.SftRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code sft}: supervised fine-tuning of a LoRA adapter on packed texts, or of every weight with
 * {@code --full}. {@link PretrainCommand} is the same run, full-parameter, on plain texts.
 */
public class SftCommand implements Command {
    @Override
    public String name() {
        return "sft";
    }

    @Override
    public String summary() {
        return "supervised fine-tuning with LoRA on packed texts (writes a llama.cpp LoRA adapter)";
    }

    @Override
    public Options options() {
        Options o = new Options();
        ModelFlags.add(o);
        Flags.arg(o, "train-file", "F.jsonl", "training texts: pair files from prepare, or JSONL with --text-field (required)");
        Flags.arg(o, "eval-file", "F.jsonl", "evaluation texts (eval loss and perplexity)");
        Flags.arg(o, "output", "DIR", "output folder: adapter.gguf, checkpoint.gguf, metrics.jsonl (required)");
        Flags.arg(o, "text-field", "NAME", "JSONL field holding the text (default: pair rows, or 'text')");
        Flags.arg(o, "seq-length", "N", "tokens per packed sequence (default 1024)");
        Flags.arg(o, "batch-size", "N", "sequences per micro-batch (default 4)");
        Flags.arg(o, "grad-accum", "N", "micro-batches per step (default 1)");
        Flags.arg(o, "lr", "X", "peak learning rate (default 1e-4)");
        Flags.arg(o, "lr-schedule", "S", "constant | linear | cosine (default cosine)");
        Flags.arg(o, "warmup-steps", "N", "linear warmup steps (default 100)");
        Flags.arg(o, "weight-decay", "X", "AdamW weight decay (default 0.05)");
        Flags.arg(o, "max-steps", "N", "optimizer steps (default: one pass over the data)");
        Flags.arg(o, "max-grad-norm", "X", "gradient clipping norm (default 1.0)");
        Flags.arg(o, "lora-r", "N", "LoRA rank (default 16)");
        Flags.arg(o, "lora-alpha", "X", "LoRA alpha (default 32)");
        Flags.arg(o, "lora-dropout", "X", "LoRA dropout (default 0.05)");
        Flags.arg(o, "lora-targets", "LIST", "q,k,v,o,gate,up,down subset (default q,v)");
        Flags.arg(o, "init-adapter", "A.gguf", "start from this adapter instead of a fresh one");
        Flags.arg(o, "seed", "N", "shuffling and adapter init (default 0)");
        Flags.arg(o, "shuffle-buffer", "N", "example shuffle buffer, 0 keeps file order (default 5000)");
        Flags.arg(o, "eval-every", "N", "steps between evaluations (default: at the end)");
        Flags.arg(o, "save-every", "N", "steps between checkpoints (default: at the end)");
        Flags.arg(o, "stop-after", "N", "stop after N steps of this invocation, with a checkpoint (continue with --resume)");
        RunFlags.add(o);
        o.addOption(Option.builder().longOpt("no-cross-doc-attention").desc("mask attention across packed documents").get());
        o.addOption(Option.builder().longOpt("activation-checkpointing").desc("recompute activations in backward (less memory)").get());
        PlanFlags.add(o, false);
        if (!alwaysFull())
            o.addOption(Option.builder().longOpt("full").desc("train every weight (small models) instead of a LoRA adapter; writes OUTPUT/model.gguf").get());
        return o;
    }

    /** true: every run trains all weights (pretrain). */
    boolean alwaysFull() {
        return false;
    }

    static LoraConfig lora(CommandLine cmd, int r, double alpha, double dropout, String targets, long seed) {
        try {
            return new LoraConfig(Flags.intValue(cmd, "lora-r", r), (float) Flags.doubleValue(cmd, "lora-alpha", alpha),
                    (float) Flags.doubleValue(cmd, "lora-dropout", dropout),
                    LoraConfig.parseTargets(cmd.getOptionValue("lora-targets", targets)), seed);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    SftConfig config(CommandLine cmd) {
        return loraConfig(cmd).withFull(alwaysFull() || cmd.hasOption("full"));
    }

    static SftConfig loraConfig(CommandLine cmd) {
        SftConfig d = SftConfig.defaults();
        long seed = Flags.longValue(cmd, "seed", d.seed());
        try {
            return new SftConfig(Flags.intValue(cmd, "seq-length", d.seqLength()), Flags.intValue(cmd, "batch-size", d.batchSize()),
                    Flags.intValue(cmd, "grad-accum", d.gradAccum()), Flags.doubleValue(cmd, "lr", d.lr()),
                    LrSchedule.Kind.parse(cmd.getOptionValue("lr-schedule", "cosine")),
                    Flags.intValue(cmd, "warmup-steps", d.warmupSteps()), Flags.doubleValue(cmd, "weight-decay", d.weightDecay()),
                    Flags.intValue(cmd, "max-steps", 0), Flags.doubleValue(cmd, "max-grad-norm", d.maxGradNorm()),
                    lora(cmd, 16, 32, 0.05, "q,v", seed), seed, Flags.intValue(cmd, "shuffle-buffer", d.shuffleBuffer()),
                    Flags.intValue(cmd, "eval-every", 0), Flags.intValue(cmd, "save-every", 0),
                    !cmd.hasOption("no-cross-doc-attention"), cmd.hasOption("activation-checkpointing"),
                    Flags.intValue(cmd, "stop-after", 0));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) throws Exception {
        SftConfig config = config(cmd);
        Path trainFile = existing(Flags.required(cmd, "train-file"));
        Path evalFile = cmd.hasOption("eval-file") ? existing(cmd.getOptionValue("eval-file")) : null;
        Path out = Path.of(Flags.required(cmd, "output"));
        Path init = cmd.hasOption("init-adapter") ? existing(cmd.getOptionValue("init-adapter")) : null;
        String field = cmd.getOptionValue("text-field");
        RunFolder.Mode mode = RunFlags.mode(cmd);
        try (LlamaModel model = ModelFlags.load(cmd, ctx)) {
            String fix = config.checkpointing() ? "use a smaller --batch-size or --seq-length"
                    : "add --activation-checkpointing, or use a smaller --batch-size or --seq-length";
            if (config.full())
                fix = "full-parameter training holds 16 bytes per model parameter (weights, gradients, AdamW state in F32): "
                        + "train a LoRA adapter instead (sft without --full) or a smaller model, or " + fix;
            Integer exit = PlanFlags.check(cmd, ctx, name(), plan(model, config, ModelFlags.planDevice(cmd, model)), false, fix);
            if (exit != null) return exit;
            try (RunFolder folder = RunFolder.open(out, mode, ctx.err(), SftRun.OUTPUTS)) {
                folder.input("train-file", trainFile).input("eval-file", evalFile).setting("text-field", field);
                Tokenizer tok = model.tokenizer();
                List<String> texts = SftData.shuffleBuffer(SftData.readTexts(trainFile, field), config.shuffleBuffer(), config.seed());
                List<Packing.Chunk> train = SftData.pack(texts, tok, config.seqLength());
                List<Packing.Chunk> eval = evalFile == null ? List.of() : SftData.pack(SftData.readTexts(evalFile, field), tok, config.seqLength());
                SftRun run = new SftRun(model, config, train, eval, folder, ctx.err());
                ctx.err().printf("%s: %d examples -> %d sequences of %d tokens; %d steps of %d x %d sequences; %s%n", name(),
                        texts.size(), train.size(), config.seqLength(), run.totalSteps(), config.batchSize(), config.gradAccum(),
                        config.full() ? "every weight trains" : "LoRA r" + config.lora().r() + " (" + config.lora().targetList() + ")");
                SftRun.Summary s = run.run(init);
                ctx.out().printf("%s: %d/%d steps, last loss %.4f%s; %s %s%n", name(), s.stepsDone(), s.totalSteps(), s.lastLoss(),
                        Double.isNaN(s.evalLoss()) ? "" : String.format(", eval loss %.4f (perplexity %.2f)", s.evalLoss(), Math.exp(s.evalLoss())),
                        config.full() ? "model" : "adapter", s.adapter());
            }
        }
        return 0;
    }

    /** The plan of a LoRA run, or with {@link SftConfig#full} of a full-parameter one (LoRA settings unused). */
    static MemoryPlan.Result plan(LlamaModel model, SftConfig c, dev.stackllama4j.engine.Device on) {
        MemoryPlan.Mode mode = c.full() ? MemoryPlan.Mode.FULL : MemoryPlan.Mode.SFT;
        return MemoryPlan.compute(model.info(), new MemoryPlan.Params(mode, PlanFlags.fileBytes(model.path()), 0,
                MemoryPlan.processResident(), c.batchSize(), c.seqLength(), c.checkpointing(), c.lora().r(),
                c.lora().targetBits(), 0, 0, 0, 0, KvType.F16, 0).on(on));
    }

    static Path existing(String p) {
        Path path = Path.of(p);
        if (Files.isDirectory(path)) throw new UsageException(path + ": is a directory, expected a file");
        if (!Files.isRegularFile(path)) throw new UsageException("no such file: " + path);
        if (!Files.isReadable(path)) throw new UsageException(path + ": permission denied");
        return path;
    }
}
