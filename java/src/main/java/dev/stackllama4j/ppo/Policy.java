package dev.stackllama4j.ppo;

import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.TrainerPool;
import dev.stackllama4j.inference.Generator;
import dev.stackllama4j.inference.SamplingParams;
import dev.stackllama4j.reward.RewardHead;
import dev.stackllama4j.rl.EosMask;
import java.util.ArrayList;
import java.util.List;

/**
 * The policy being trained: the (SFT) trunk, a PPO LoRA adapter, and a value head on the same
 * final hidden states. The reference policy is the same network with the adapter switched off,
 * so no second copy of the model is held. Token t of a response is scored from the hidden state of
 * the position before it (where its log-prob comes from), as TRL does.
 */
public final class Policy implements AutoCloseable {
    /**
     * Per-token log-probs and values of a batch of responses (one row per response), and on a
     * training pass the entropy of the policy's distribution at each token (null otherwise).
     */
    public record Pass(double[][] logprobs, double[][] values, double[][] entropy) {}

    private final LlamaModel model;
    private final LoraAdapter lora;
    private final RewardHead valueHead;
    private final TrainerPool pool;
    private TrainerPool.Batch last;
    private List<int[]> lastQueries, lastResponses;

    public Policy(LlamaModel model, LoraAdapter lora, RewardHead valueHead) {
        this.model = model;
        this.lora = lora;
        this.valueHead = valueHead;
        this.pool = new TrainerPool(model, lora, model.tokenizer().vocabulary().eos());
        pool.setEntropy(true);  // ppo/policy/entropy, from the training pass's logits
    }

    public LlamaModel model() {
        return model;
    }

    public LoraAdapter lora() {
        return lora;
    }

    public RewardHead valueHead() {
        return valueHead;
    }

    public TrainerPool pool() {
        return pool;
    }

    /** Sampled responses (cut after their first EOS when the params stop there), their text, and tokens generated. */
    public record Samples(List<int[]> responses, List<String> texts, long generated) {}

    /**
     * Samples one response per query from the policy ({@code adapter}) or the reference model;
     * {@code limits} (nullable) caps each response's length.
     */
    public Samples sample(List<int[]> queries, SamplingParams sp, int[] limits, boolean adapter) {
        int eos = model.tokenizer().vocabulary().eos();
        List<Generator.Result> gen = new Generator(model, adapter ? lora : null).generate(queries, sp, limits, null);
        List<int[]> responses = new ArrayList<>(gen.size());
        List<String> texts = new ArrayList<>(gen.size());
        long n = 0;
        for (Generator.Result g : gen) {
            int[] r = sp.stopAtEos() ? EosMask.truncate(g.tokens(), eos) : g.tokens();
            if (r.length == 0) r = new int[] {eos};  // a zero-length draw still needs one token to score
            responses.add(r);
            texts.add(model.tokenizer().decode(r));
            n += g.tokens().length;
        }
        return new Samples(responses, texts, n);
    }

    /**
     * Log-probs and values of the responses: with the adapter (the policy) or without (the
     * reference). {@code grad}: keep what {@link #backward} needs (the training pass); otherwise a
     * no-grad pass run as inference (old and reference log-probs, values). {@code dropout}: the
     * adapter's dropout on this pass (only a training pass may have it).
     */
    public Pass evaluate(List<int[]> queries, List<int[]> responses, boolean adapter, boolean grad, boolean dropout) {
        if (dropout && !grad) throw new IllegalArgumentException("dropout is for a training pass only");
        TrainerPool.Batch b = pool.forward(concat(queries, responses), true, dropout, adapter, grad);
        double[][] lp = new double[queries.size()][], v = new double[queries.size()][];
        double[][] h = grad ? new double[queries.size()][] : null;
        for (int i = 0; i < queries.size(); i++) {
            int q = queries.get(i).length, r = responses.get(i).length;
            lp[i] = new double[r];
            v[i] = new double[r];
            if (h != null) h[i] = new double[r];
            for (int t = 0; t < r; t++) {
                int row = b.row(i, q + t - 1);
                lp[i][t] = b.logProbs[row];
                v[i][t] = valueHead.score(b.hidden, row);
                if (h != null) h[i][t] = b.entropy[row];
            }
        }
        last = grad ? b : null;
        lastQueries = queries;
        lastResponses = responses;
        return new Pass(lp, v, h);
    }

    /**
     * Backward of the last {@link #evaluate} (which must have run the adapter in training mode):
     * pushes d loss / d log-prob and d loss / d value into the adapter and the value head.
     */
    public void backward(double[][] dLogprobs, double[][] dValues, double scale) {
        if (last == null) throw new IllegalStateException("backward needs an evaluate() first");
        java.util.Arrays.fill(last.dLogProbs, 0f);
        java.util.Arrays.fill(last.dHidden, 0f);
        for (int i = 0; i < lastQueries.size(); i++) {
            int q = lastQueries.get(i).length;
            for (int t = 0; t < lastResponses.get(i).length; t++) {
                int row = last.row(i, q + t - 1);
                last.dLogProbs[row] = (float) (dLogprobs[i][t] * scale);
                valueHead.backward(last.hidden, row, dValues[i][t] * scale, last.dHidden);
            }
        }
        pool.backward(last, true, true, 1f);
        last = null;
    }

    /**
     * Exact per-token KL(policy ‖ reference) over the whole vocabulary (the {@code full}
     * estimator): the whole batch in one native call, no logits copied to Java.
     */
    public double[][] fullKl(List<int[]> queries, List<int[]> responses) {
        int[] first = new int[queries.size()];
        for (int i = 0; i < first.length; i++) first[i] = queries.get(i).length - 1;
        TrainerPool.Batch b = pool.kl(concat(queries, responses), first);
        double[][] kl = new double[queries.size()][];
        for (int i = 0; i < queries.size(); i++) {
            int q = queries.get(i).length, r = responses.get(i).length;
            kl[i] = new double[r];
            for (int t = 0; t < r; t++) kl[i][t] = b.kl[b.row(i, q + t - 1)];
        }
        return kl;
    }

    static List<int[]> concat(List<int[]> queries, List<int[]> responses) {
        List<int[]> seqs = new ArrayList<>(queries.size());
        for (int i = 0; i < queries.size(); i++) {
            if (responses.get(i).length == 0) throw new IllegalArgumentException("response " + i + " is empty");
            seqs.add(RewardFunction.concat(queries.get(i), responses.get(i)));
        }
        return seqs;
    }

    @Override
    public void close() {
        pool.close();
    }
}
