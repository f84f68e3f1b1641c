package dev.stackllama4j.inference;

import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.Session;
import dev.stackllama4j.engine.TokenSampler;
import java.util.ArrayList;
import java.util.List;

/**
 * The generation step that {@link LlamaEngine} and {@link Generator} share: one KV-cache session
 * with a fixed number of sequence slots; each {@link #step()} decodes every occupied slot in one
 * forward pass (a new sequence's whole prompt, else its last token) and picks each next token
 * natively with the sequence's own {@link TokenSampler}, all rows in one call, so no logits are
 * copied to Java (nor, on a GPU, to the host). Not
 * thread-safe: one driving thread.
 */
final class DecodeBatch implements AutoCloseable {
    /** One sequence: its prompt, its sampler, and what it does with each picked token. */
    abstract static class Sequence {
        final int[] prompt;
        TokenSampler sampler;
        int slot = -1, last;
        boolean prefilled;

        Sequence(int[] prompt) {
            this.prompt = prompt;
        }

        /** A token that must not be picked now (EOS before a minimum length), or -1. */
        abstract int banned();

        /** How many most-probable alternatives to report with each pick. */
        abstract int topN();

        /** Takes a picked token; returns true when the sequence is done. */
        abstract boolean take(TokenSampler.Pick pick);
    }

    final Session session;
    private final Sequence[] slots;
    private int active, peak;

    DecodeBatch(LlamaModel model, int sequences, int context, LoraAdapter lora) {
        this.session = model.newSession(sequences, context, lora);
        this.slots = new Sequence[sequences];
    }

    /** Puts {@code s} in a free slot; false when all are taken. */
    boolean add(Sequence s) {
        for (int i = 0; i < slots.length; i++) {
            if (slots[i] == null) {
                s.slot = i;
                slots[i] = s;
                active++;
                return true;
            }
        }
        return false;
    }

    /** Frees {@code s}'s slot and forgets its positions. */
    void remove(Sequence s) {
        slots[s.slot] = null;
        active--;
        session.truncate(s.slot, 0);
    }

    int active() {
        return active;
    }

    /** The most sequences one step has advanced together. */
    int peak() {
        return peak;
    }

    /** Occupied slots, in slot order. */
    List<Sequence> sequences() {
        List<Sequence> out = new ArrayList<>(active);
        for (Sequence s : slots) if (s != null) out.add(s);
        return out;
    }

    /**
     * One decode step and one pick per occupied slot; returns the sequences that finished (their
     * slots are freed). A failed decode throws with the cache unchanged and every sequence in place.
     */
    List<Sequence> step() {
        List<Sequence> order = sequences();
        if (order.isEmpty()) return List.of();
        peak = Math.max(peak, order.size());
        int rows = 0;
        for (Sequence s : order) rows += s.prefilled ? 1 : s.prompt.length;
        int[] toks = new int[rows], seqs = new int[rows];
        boolean[] outs = new boolean[rows];
        int r = 0;
        for (Sequence s : order) {
            if (s.prefilled) {
                toks[r] = s.last;
                seqs[r] = s.slot;
                outs[r++] = true;
            } else {
                for (int i = 0; i < s.prompt.length; i++, r++) {
                    toks[r] = s.prompt[i];
                    seqs[r] = s.slot;
                    outs[r] = i == s.prompt.length - 1;
                }
            }
        }
        session.decode(toks, seqs, outs, true);
        // Every pick in one native call unless a sequence wants top-n alternatives (those read
        // their row of logits): on a GPU only the picked tokens and log-probs come back.
        int n = order.size();
        TokenSampler.Pick[] picks = null;
        if (order.stream().allMatch(s -> s.topN() == 0)) {
            TokenSampler[] samplers = new TokenSampler[n];
            int[] rowIds = new int[n], banned = new int[n];
            for (int row = 0; row < n; row++) {
                samplers[row] = order.get(row).sampler;
                rowIds[row] = row;
                banned[row] = order.get(row).banned();
            }
            picks = TokenSampler.sampleBatch(samplers, session, rowIds, banned);
        }
        List<Sequence> done = new ArrayList<>();
        for (int row = 0; row < n; row++) {
            Sequence s = order.get(row);
            s.prefilled = true;
            TokenSampler.Pick p = picks != null ? picks[row] : s.sampler.sample(session, row, s.banned(), s.topN());
            s.last = p.token();
            s.sampler.accept(p.token());
            if (s.take(p)) {
                remove(s);
                done.add(s);
            }
        }
        return done;
    }

    @Override
    public void close() {
        session.close();
    }
}
