package dev.stackllama4j.inference;

import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.TokenSampler;
import dev.stackllama4j.tokenizer.Tokenizer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Text generation over one shared {@link LlamaModel}, with concurrent requests batched: a worker
 * thread keeps one KV-cache session per adapter in use, and every decode step advances all the
 * running requests of that session together (a request's prompt is prefilled in the same step).
 * Sampling runs natively per request ({@link TokenSampler}); only the picked token, its log-prob
 * and the requested alternatives cross to Java.
 *
 * <p>Thread-safety: {@link #submit}, {@link #complete} and {@link #chat} may be called from any
 * number of threads; listeners run on the engine's worker thread. The engine does not own the
 * model or the adapters: close the engine first, then them.
 *
 * <pre>{@code
 * try (LlamaModel model = LlamaModel.load(Path.of("model.gguf"));
 *      LlamaEngine engine = LlamaEngine.create(model)) {
 *     Completion c = engine.complete(CompletionRequest.builder().prompt("Once upon a time")
 *             .maxTokens(64).stopStrings(List.of("\n\n")).listener(System.out::print).build());
 * }
 * }</pre>
 */
public final class LlamaEngine implements AutoCloseable {
    /**
     * @param maxBatch requests decoded side by side per adapter. Default 4.
     * @param contextLength positions per request (prompt + generated); 0 means the model's
     *     context, at most 4096. Default 0.
     */
    public record Options(int maxBatch, int contextLength) {
        public Options {
            if (maxBatch < 1) throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
            if (contextLength < 0) throw new IllegalArgumentException("contextLength must be >= 0, got " + contextLength);
        }

        public static Options defaults() {
            return new Options(4, 0);
        }
    }

    private final LlamaModel model;
    private final Tokenizer tokenizer;
    private final int maxBatch, context;
    private final LinkedBlockingQueue<Job> incoming = new LinkedBlockingQueue<>();
    private final Thread worker;
    private volatile boolean closing;
    private volatile ChatTemplate template;
    private volatile int peakBatch;

    private LlamaEngine(LlamaModel model, Options o) {
        this.model = model;
        this.tokenizer = model.tokenizer();
        this.maxBatch = o.maxBatch();
        this.context = o.contextLength() > 0 ? o.contextLength() : Math.min(model.contextLength(), 4096);
        this.worker = new Thread(this::loop, "stackllama4j-engine");
        worker.setDaemon(true);
        worker.start();
    }

    public static LlamaEngine create(LlamaModel model) {
        return create(model, Options.defaults());
    }

    public static LlamaEngine create(LlamaModel model, Options options) {
        return new LlamaEngine(model, options);
    }

    public LlamaModel model() {
        return model;
    }

    /** The model's chat template ({@code tokenizer.chat_template}, or ChatML when the file has none). */
    public ChatTemplate chatTemplate() {
        ChatTemplate t = template;
        if (t == null) template = t = ChatTemplate.forModel(model);
        return t;
    }

    /** Uses {@code t} for requests with messages instead of the model's own template. */
    public void setChatTemplate(ChatTemplate t) {
        template = t;
    }

    /** Positions a request may use (prompt + generated): the options' context, or the model's capped at 4096. */
    public int context() {
        return context;
    }

    /** The most requests one decode step has advanced together so far (a measure of batching). */
    public int peakBatch() {
        return peakBatch;
    }

    /** Runs a request to its end and returns the result (blocking). */
    public Completion complete(CompletionRequest r) {
        return submit(r).await();
    }

    /** Queues a request; the prompt is tokenized (and a chat rendered) on the calling thread. */
    public CompletionHandle submit(CompletionRequest r) {
        if (closing) throw new IllegalStateException("the engine is closed");
        int[] prompt = promptTokens(r);
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt is empty (and no BOS was added)");
        if (prompt.length + r.maxTokens() > context)
            throw new IllegalArgumentException("prompt (" + prompt.length + " tokens) + maxTokens (" + r.maxTokens()
                    + ") exceeds the engine's context of " + context + " positions");
        int vocab = (int) model.info().vocab();
        for (int t : prompt)
            if (t < 0 || t >= vocab) throw new IllegalArgumentException("prompt token " + t + " is outside the vocabulary");
        Job j = new Job(r, prompt);
        incoming.add(j);
        if (closing) j.fail(new IllegalStateException("the engine is closed"));
        return j.handle;
    }

    /** Token ids of a request's prompt, as the engine will decode them. */
    public int[] promptTokens(CompletionRequest r) {
        if (r.promptTokens() != null) return r.promptTokens();
        if (r.prompt() != null) return tokenizer.encode(r.prompt(), r.addBos() && tokenizer.vocabulary().addBos(), false);
        ChatTemplate t = chatTemplate();
        String text = t.render(r.messages(), true);
        // BOS is added unless the template wrote it itself (Llama-2, Mistral, Zephyr templates do)
        boolean bos = r.addBos() && tokenizer.vocabulary().addBos() && (t.bosToken().isEmpty() || !text.startsWith(t.bosToken()));
        return tokenizer.encode(text, bos, false, true);
    }

    // ---- worker -------------------------------------------------------------------------------

    /** One request in flight; touched only by the worker after submission, except the handle. */
    private final class Job extends DecodeBatch.Sequence {
        final CompletionRequest req;
        final CompletionHandle handle = new CompletionHandle();
        final Set<Integer> stops = new HashSet<>();
        final int eos;
        long start = System.nanoTime(), deadline = Long.MAX_VALUE;
        TextStream text;
        int[] tokens = new int[16];
        int produced;
        Completion.FinishReason why;
        RuntimeException failure;
        final List<TokenLogProb> logProbs = new ArrayList<>();

        Job(CompletionRequest req, int[] prompt) {
            super(prompt);
            this.req = req;
            this.eos = tokenizer.vocabulary().eos();
            stops.addAll(req.stopTokens());
            if (!req.ignoreEos()) stops.add(eos);
        }

        /** Called when the job gets a slot: its clock, sampler and text stream start. */
        void admit() {
            start = System.nanoTime();
            Duration t = req.timeout();
            if (t != null) deadline = start + t.toNanos();
            sampler = TokenSampler.create(model, req.sampling());
            boolean atStart = prompt.length == 1 && prompt[0] == tokenizer.vocabulary().bos();
            text = new TextStream(tokenizer.newDecoder(atStart), req.stopStrings());
        }

        @Override
        int banned() {
            return produced < req.minTokens() ? eos : -1;
        }

        @Override
        int topN() {
            return Math.max(req.logProbs(), 0);
        }

        @Override
        boolean take(TokenSampler.Pick p) {
            try {
                why = record(p);
            } catch (RuntimeException e) {  // a listener failed: this request fails, the others go on
                failure = e;
            }
            return why != null || failure != null;
        }

        private Completion.FinishReason record(TokenSampler.Pick p) {
            int t = p.token();
            if (produced == tokens.length) tokens = java.util.Arrays.copyOf(tokens, produced * 2);
            tokens[produced++] = t;
            boolean stopToken = stops.contains(t);
            String released = stopToken ? "" : text.push(t);
            String piece = stopToken ? "" : text.lastPiece();
            TokenLogProb lp = null;
            if (req.logProbs() >= 0) {
                List<TokenLogProb.Alternative> alts = new ArrayList<>(p.topIds().length);
                for (int i = 0; i < p.topIds().length; i++)
                    alts.add(new TokenLogProb.Alternative(p.topIds()[i], p.topLogProbs()[i]));
                lp = new TokenLogProb(t, piece, p.logProb(), alts);
                logProbs.add(lp);
            }
            CompletionListener l = req.listener();
            if (l != null) {
                l.onToken(lp != null ? lp : new TokenLogProb(t, piece, p.logProb(), List.of()));
                if (!released.isEmpty()) l.onText(released);
            }
            if (stopToken) return Completion.FinishReason.STOP_TOKEN;
            if (text.stopped()) return Completion.FinishReason.STOP_STRING;
            if (produced >= req.maxTokens()) return Completion.FinishReason.LENGTH;
            return null;
        }

        /** Completes the handle: with the result, or with the failure a listener raised. */
        void finish() {
            try {
                if (failure != null) throw failure;
                String rest = text == null ? "" : text.finish();
                CompletionListener l = req.listener();
                if (l != null && !rest.isEmpty()) l.onText(rest);
                handle.complete(new Completion(text == null ? "" : text.text(), java.util.Arrays.copyOf(tokens, produced),
                        why, logProbs, prompt.length, Duration.ofNanos(System.nanoTime() - start)));
            } catch (RuntimeException e) {
                handle.fail(e);
            } finally {
                release();
            }
        }

        void end(Completion.FinishReason reason) {
            why = reason;
            finish();
        }

        void fail(Throwable e) {
            handle.fail(e);
            release();
        }

        void release() {
            if (sampler != null) sampler.close();
            sampler = null;
        }
    }

    /** Ends cancelled and late requests, then advances the rest by one token. */
    private void step(DecodeBatch batch) {
        long now = System.nanoTime();
        for (DecodeBatch.Sequence q : batch.sequences()) {
            Job j = (Job) q;
            if (j.handle.cancelRequested() || now >= j.deadline) {
                batch.remove(j);
                j.end(j.handle.cancelRequested() ? Completion.FinishReason.CANCELLED : Completion.FinishReason.DEADLINE);
            }
        }
        List<DecodeBatch.Sequence> done;
        try {
            done = batch.step();
        } catch (RuntimeException e) {  // the whole step failed: so do its requests
            for (DecodeBatch.Sequence q : batch.sequences()) {
                batch.remove(q);
                ((Job) q).fail(e);
            }
            return;
        }
        peakBatch = Math.max(peakBatch, batch.peak());
        for (DecodeBatch.Sequence q : done) ((Job) q).finish();
    }

    private void loop() {
        Map<LoraAdapter, DecodeBatch> batches = new IdentityHashMap<>();
        List<Job> waiting = new ArrayList<>();
        Throwable fatal = null;
        try {
            while (!closing) {
                if (batches.isEmpty() && waiting.isEmpty()) {
                    Job j = incoming.poll(50, TimeUnit.MILLISECONDS);
                    if (j != null) waiting.add(j);
                }
                incoming.drainTo(waiting);
                for (Iterator<Job> it = waiting.iterator(); it.hasNext(); ) {
                    Job j = it.next();
                    if (j.handle.isDone()) {
                        it.remove();
                    } else if (j.handle.cancelRequested()) {
                        it.remove();
                        j.end(Completion.FinishReason.CANCELLED);
                    } else {
                        try {
                            DecodeBatch b = batches.get(j.req.adapter());
                            if (b == null) batches.put(j.req.adapter(), b = new DecodeBatch(model, maxBatch, context, j.req.adapter()));
                            if (b.add(j)) {
                                it.remove();
                                j.admit();
                            }
                        } catch (RuntimeException e) {
                            it.remove();
                            j.fail(e);
                        }
                    }
                }
                for (Iterator<DecodeBatch> it = batches.values().iterator(); it.hasNext(); ) {
                    DecodeBatch b = it.next();
                    step(b);
                    if (b.active() == 0) {  // an idle session's KV cache is given back
                        b.close();
                        it.remove();
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable e) {
            fatal = e;
        }
        closing = true;  // after a fatal error too: later submissions are refused, not left waiting
        Throwable why = fatal != null ? fatal : new IllegalStateException("the engine was closed before the request ended");
        for (DecodeBatch b : batches.values()) {
            for (DecodeBatch.Sequence q : b.sequences()) ((Job) q).fail(why);
            b.close();
        }
        incoming.drainTo(waiting);
        for (Job j : waiting) if (!j.handle.isDone()) j.fail(why);
    }

    /**
     * Stops the worker: requests still running or queued fail with {@link IllegalStateException}.
     * Waits for the worker to free its sessions, so the model may be closed right after.
     */
    @Override
    public void close() {
        closing = true;
        if (Thread.currentThread() == worker) return;  // called from a listener: the loop ends after this step
        try {
            worker.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
