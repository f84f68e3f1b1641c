package dev.stackllama4j.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Preference pairs of one question: every (j, k) with score_j strictly above score_k (ties never
 * paired); when there are more than {@code maxPairs}, a seeded shuffle picks which to keep, so the
 * choice depends only on (seed, source, question id) and the answers, not on run or thread.
 */
public final class PairSampler {
    private PairSampler() {}

    public record Answer(long id, int score, String text) {}

    public record Pair(Answer better, Answer worse) {}

    /** {@code answers} in a fixed order (the pipeline gives them by id). */
    public static List<Pair> pairs(List<Answer> answers, int maxPairs, long seed, int source, long qid) {
        List<Pair> all = new ArrayList<>();
        for (int a = 0; a < answers.size(); a++) {
            for (int b = a + 1; b < answers.size(); b++) {
                Answer x = answers.get(a), y = answers.get(b);
                if (x.score() > y.score()) all.add(new Pair(x, y));
                else if (y.score() > x.score()) all.add(new Pair(y, x));
            }
        }
        if (all.size() <= maxPairs) return all;
        SplittableRandom rng = new SplittableRandom(Splits.mix(seed * 0x9E3779B97F4A7C15L ^ ((long) source << 48) ^ qid));
        // partial Fisher-Yates: the first maxPairs slots become a uniform sample without replacement
        for (int i = 0; i < maxPairs; i++) {
            int j = i + rng.nextInt(all.size() - i);
            Pair t = all.get(i);
            all.set(i, all.get(j));
            all.set(j, t);
        }
        return new ArrayList<>(all.subList(0, maxPairs));
    }

    /** How many pairs a question yields before the cap: pairs of answers with different scores. */
    public static long countUncapped(int[] scores) {
        long n = 0;
        for (int a = 0; a < scores.length; a++)
            for (int b = a + 1; b < scores.length; b++) if (scores[a] != scores[b]) n++;
        return n;
    }
}
