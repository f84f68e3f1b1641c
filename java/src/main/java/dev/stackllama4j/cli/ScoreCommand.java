package dev.stackllama4j.cli;

import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.reward.RewardData;
import dev.stackllama4j.reward.RewardModelFile;
import dev.stackllama4j.reward.RewardRun;
import dev.stackllama4j.reward.SequenceScorer;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** {@code score}: a reward model's score of one answer, or its pairwise accuracy on a pair file. */
public final class ScoreCommand implements Command {
    @Override
    public String name() {
        return "score";
    }

    @Override
    public String summary() {
        return "score an answer with a reward model, or measure its accuracy on a pair file";
    }

    @Override
    public Options options() {
        Options o = new Options();
        ModelFlags.add(o);
        Flags.arg(o, "reward-adapter", "R.gguf", "reward model written by train-reward (required)");
        Flags.arg(o, "question", "Q", "question text");
        Flags.arg(o, "answer", "A", "answer text");
        Flags.arg(o, "file", "pairs.jsonl", "pair file: report pairwise accuracy");
        Flags.arg(o, "batch-size", "N", "pairs per forward pass (default 8)");
        return o;
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) throws Exception {
        Path rm = SftCommand.existing(Flags.required(cmd, "reward-adapter"));
        boolean single = cmd.hasOption("question") || cmd.hasOption("answer");
        if (single == cmd.hasOption("file")) throw new UsageException("give --question and --answer, or --file");
        if (single && !(cmd.hasOption("question") && cmd.hasOption("answer"))) throw new UsageException("--question needs --answer");
        try (LlamaModel model = ModelFlags.load(cmd, ctx); RewardModelFile.Loaded r = RewardModelFile.load(rm, model, false);
                SequenceScorer scorer = new SequenceScorer(model, r.lora(), r.head(), model.tokenizer().vocabulary().eos())) {
            if (single) {
                int[] ids = RewardData.tokens(model.tokenizer(), cmd.getOptionValue("question"), cmd.getOptionValue("answer"));
                if (ids.length > model.contextLength())
                    throw new IllegalArgumentException("the question and answer make " + ids.length + " tokens, past the model's context of "
                            + model.contextLength() + " (" + model.path() + ")");
                ctx.out().printf("%.6f%n", scorer.score(List.of(ids), false)[0]);
                return 0;
            }
            int limit = Math.min(r.maxLength(), model.contextLength());
            RewardData.Loaded pairs = RewardData.load(SftCommand.existing(cmd.getOptionValue("file")), model.tokenizer(), limit);
            int batch = Flags.intValue(cmd, "batch-size", 8);
            RewardRun.Evaluation ev = RewardRun.evaluate(scorer, pairs.pairs(), batch);
            String why = limit < r.maxLength() ? "the model's context" : "the reward model's training length";
            if (ev == null)
                throw new IllegalArgumentException("no pairs to score: " + (pairs.dropped() == 0 ? "the file has none"
                        : "all " + pairs.dropped() + " have a side longer than " + limit + " tokens (" + why + ")"));
            ctx.out().printf("accuracy %.4f on %d pairs (ties count as incorrect; %d dropped as longer than %d tokens, %s), loss %.4f%n",
                    ev.accuracy(), ev.pairs(), pairs.dropped(), limit, why, ev.loss());
        }
        return 0;
    }
}
