package dev.stackllama4j.ppo;

import dev.stackllama4j.data.SynthSite;
import dev.stackllama4j.inference.SamplingParams;
import java.util.ArrayList;
import java.util.List;

/**
 * Measures a policy on held-out prompts: mean reward-model score, the true correctness rate (when
 * the synthetic site's checker knows the questions), and KL to the reference (mean over responses
 * of Σ_t log π(y_t) − log π_ref(y_t) on the sampled tokens). Run with the adapter off it measures
 * the starting (SFT) model.
 */
public final class PpoEvaluation {
    public record Sample(String question, String answer, double score, boolean correct) {}

    public record Report(double meanScore, double correctRate, double kl, int prompts, List<Sample> samples) {}

    private PpoEvaluation() {}

    public static Report run(Policy policy, RewardFunction reward, List<Prompts.Prompt> prompts, boolean adapter, int maxNewTokens,
                             long seed) {
        List<int[]> queries = new ArrayList<>();
        List<String> questions = new ArrayList<>();
        for (Prompts.Prompt p : prompts) {
            queries.add(p.tokens());
            questions.add(p.question());
        }
        Policy.Samples out = policy.sample(queries, new SamplingParams(1.0, 0, 1.0, seed, maxNewTokens, 0, true), null, adapter);
        List<int[]> responses = out.responses();
        List<String> answers = out.texts();
        double[] scores = reward.score(queries, responses, questions, answers);
        double[][] lp = policy.evaluate(queries, responses, true, false, false).logprobs();
        double[][] ref = policy.evaluate(queries, responses, false, false, false).logprobs();
        double kl = 0, score = 0;
        List<Sample> samples = new ArrayList<>();
        for (int i = 0; i < queries.size(); i++) {
            double k = 0;
            for (int t = 0; t < lp[i].length; t++) k += lp[i][t] - ref[i][t];
            kl += (adapter ? k : 0) / queries.size();
            score += scores[i] / queries.size();
            samples.add(new Sample(questions.get(i), answers.get(i), scores[i], SynthSite.isCorrect(questions.get(i), answers.get(i))));
        }
        return new Report(score, SynthSite.correctRate(questions, answers), kl, queries.size(), samples);
    }
}
