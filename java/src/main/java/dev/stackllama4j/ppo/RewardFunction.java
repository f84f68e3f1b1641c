package dev.stackllama4j.ppo;

import dev.stackllama4j.data.SynthSite;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.reward.RewardData;
import dev.stackllama4j.engine.TrunkId;
import dev.stackllama4j.reward.RewardModelFile;
import dev.stackllama4j.reward.SequenceScorer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** What PPO maximises: a score per (query, response). */
public interface RewardFunction extends AutoCloseable {
    /**
     * @param queries prompt tokens; {@code responses} the generated tokens (EOS kept when it ended
     *     there); {@code questions}/{@code answers} the same as text
     */
    double[] score(List<int[]> queries, List<int[]> responses, List<String> questions, List<String> answers);

    /** The longest text, in tokens, the reward was trained to score (a learned model's training length); PPO prompts are capped by it. */
    default int maxLength() {
        return Integer.MAX_VALUE;
    }

    @Override
    default void close() {}

    /**
     * A reward model from {@code train-reward}, on its own trunk model. It scores what it was
     * trained on: {@link RewardData#tokens} of the question and the response's decoded text (no
     * EOS, re-tokenised), the same input as {@code score --question Q --answer A}. One trained on
     * another trunk is refused ({@link TrunkId.Check#REFUSE}).
     */
    static RewardFunction learned(Path trunk, Path rewardModel) {
        return learned(trunk, rewardModel, TrunkId.Check.REFUSE);
    }

    /** {@link #learned(Path, Path)}; {@code check}: what a reward model trained on another trunk does. */
    static RewardFunction learned(Path trunk, Path rewardModel, TrunkId.Check check) {
        return learned(trunk, rewardModel, check, LlamaModel.Options.defaults());
    }

    /** {@link #learned(Path, Path, TrunkId.Check)} with the trunk loaded with {@code options} (its device). */
    static RewardFunction learned(Path trunk, Path rewardModel, TrunkId.Check check, LlamaModel.Options options) {
        LlamaModel m = LlamaModel.load(trunk, options);
        try {
            return learned(m, rewardModel, true, check);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /**
     * A reward model from {@code train-reward} on an open trunk (the policy's own when they are the
     * same file: its weights are then mapped once); {@code ownsModel}: closing the function closes it.
     */
    static RewardFunction learned(LlamaModel m, Path rewardModel, boolean ownsModel, TrunkId.Check check) {
        RewardModelFile.Loaded r = RewardModelFile.load(rewardModel, m, false, check);
        SequenceScorer scorer = new SequenceScorer(m, r.lora(), r.head(), m.tokenizer().vocabulary().eos());
        return new RewardFunction() {
            @Override
            public double[] score(List<int[]> queries, List<int[]> responses, List<String> questions, List<String> answers) {
                List<int[]> seqs = new ArrayList<>();
                for (int i = 0; i < answers.size(); i++) seqs.add(RewardData.tokens(m.tokenizer(), questions.get(i), answers.get(i)));
                return scorer.score(seqs, false);
            }

            @Override
            public int maxLength() {
                return r.maxLength();
            }

            @Override
            public void close() {
                scorer.close();
                r.close();
                if (ownsModel) m.close();
            }
        };
    }

    /** The synthetic site's checker: 1 for a correct answer, 0 otherwise (an oracle reward). */
    static RewardFunction checker() {
        return (queries, responses, questions, answers) -> {
            double[] s = new double[answers.size()];
            for (int i = 0; i < s.length; i++) s[i] = SynthSite.isCorrect(questions.get(i), answers.get(i)) ? 1 : 0;
            return s;
        };
    }

    static int[] concat(int[] a, int[] b) {
        int[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
