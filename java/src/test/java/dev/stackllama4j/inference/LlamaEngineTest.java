package dev.stackllama4j.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.testing.SharedFiles;
import dev.stackllama4j.train.LoraConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The request API over stories260K (a real TinyStories model from ../shared). */
class LlamaEngineTest {
    static final String REFERENCE = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";
    static LlamaModel model;
    static LlamaEngine engine;

    @BeforeAll
    static void load() {
        model = LlamaModel.load(SharedFiles.require("models/stories260K/stories260K.gguf"));
        engine = LlamaEngine.create(model, new LlamaEngine.Options(4, 2048));
    }

    @AfterAll
    static void close() {
        if (engine != null) engine.close();
        if (model != null) model.close();
    }

    private static CompletionRequest.Builder greedy(int n) {
        return CompletionRequest.builder().prompt("").sampling(Sampling.greedy()).maxTokens(n);
    }

    @Test
    void greedyReproducesTheAuthorsSampleAndStreamsIt() {
        StringBuilder streamed = new StringBuilder();
        Completion c = engine.complete(greedy(40).listener(streamed::append).build());
        assertTrue(c.text().startsWith(REFERENCE.substring(0, 60)), c.text());
        assertEquals(c.text(), streamed.toString());
        assertEquals(Completion.FinishReason.LENGTH, c.finishReason());
        assertEquals(40, c.tokens().length);
        assertEquals(1, c.promptTokens());
        // the native greedy pick equals the Java argmax path of the PPO generator
        Generator.Result g = new Generator(model).generate(new int[] {1}, SamplingParams.greedy(40), null);
        assertArrayEquals(g.tokens(), c.tokens());
        assertEquals(model.tokenizer().decode(c.tokens()), c.text());
    }

    @Test
    void stopStringsStopTokensAndMaxTokens() {
        List<String> pieces = new ArrayList<>();
        Completion s = engine.complete(greedy(60).stopStrings(List.of("Lily")).listener(pieces::add).build());
        assertEquals(Completion.FinishReason.STOP_STRING, s.finishReason());
        assertEquals("Once upon a time, there was a little girl named ", s.text());
        assertEquals(s.text(), String.join("", pieces));
        for (String p : pieces) assertFalse(p.contains("L"), "part of the stop string leaked: " + pieces);

        int[] ref = engine.complete(greedy(10).build()).tokens();
        Completion t = engine.complete(greedy(60).stopTokens(Set.of(ref[5])).build());
        assertEquals(Completion.FinishReason.STOP_TOKEN, t.finishReason());
        assertArrayEquals(Arrays.copyOf(ref, 6), t.tokens());
        assertEquals(model.tokenizer().decode(Arrays.copyOf(ref, 5)), t.text(), "the stop token is not in the text");

        Completion l = engine.complete(greedy(7).build());
        assertEquals(Completion.FinishReason.LENGTH, l.finishReason());
        assertArrayEquals(Arrays.copyOf(ref, 7), l.tokens());
    }

    @Test
    void logProbsAreTheModelsAndTopAlternativesAreSorted() {
        Completion c = engine.complete(greedy(12).prompt("Once upon a time").logProbs(3).build());
        int[] prompt = model.tokenizer().encode("Once upon a time", true, false);
        int[] all = Arrays.copyOf(prompt, prompt.length + c.tokens().length);
        System.arraycopy(c.tokens(), 0, all, prompt.length, c.tokens().length);
        float[] ref = model.logProbs(all);
        assertEquals(c.tokens().length, c.logProbs().size());
        for (int i = 0; i < c.tokens().length; i++) {
            TokenLogProb t = c.logProbs().get(i);
            assertEquals(c.tokens()[i], t.token());
            assertEquals(ref[prompt.length - 1 + i], t.logProb(), 1e-4, "token " + i);
            assertEquals(3, t.top().size());
            assertEquals(t.token(), t.top().get(0).token(), "greedy picks the most probable token");
            assertEquals(t.logProb(), t.top().get(0).logProb(), 0f);
            assertTrue(t.top().get(0).logProb() >= t.top().get(1).logProb() && t.top().get(1).logProb() >= t.top().get(2).logProb());
        }
        assertTrue(engine.complete(greedy(3).build()).logProbs().isEmpty(), "log-probs only on request");
    }

    @Test
    void seedsRepeatAndControlsChangeThePicks() {
        Sampling hot = Sampling.builder().temperature(1.0).topK(0).topP(1).minP(0).seed(7).build();
        int[] a = engine.complete(greedy(40).sampling(hot).ignoreEos(true).build()).tokens();
        int[] b = engine.complete(greedy(40).sampling(hot).ignoreEos(true).build()).tokens();
        int[] c = engine.complete(greedy(40).sampling(hot.toBuilder().seed(8).build()).ignoreEos(true).build()).tokens();
        assertArrayEquals(a, b, "same seed, same tokens");
        assertFalse(Arrays.equals(a, c), "another seed draws other tokens");

        int first = engine.complete(greedy(1).build()).tokens()[0];
        Sampling banFirst = Sampling.builder().temperature(0).logitBias(Map.of(first, Float.NEGATIVE_INFINITY)).build();
        assertNotEquals(first, engine.complete(greedy(1).sampling(banFirst).build()).tokens()[0]);

        Sampling noRepeat = Sampling.builder().temperature(0).frequencyPenalty(100).penaltyLastN(-1).build();
        int[] d = engine.complete(greedy(30).sampling(noRepeat).ignoreEos(true).build()).tokens();
        assertEquals(d.length, Arrays.stream(d).distinct().count(), "a huge frequency penalty forbids repeats: " + Arrays.toString(d));
    }

    @Test
    void concurrentRequestsAreBatchedAndEachMatchesItsSoloRun() throws Exception {
        List<CompletionRequest> reqs = new ArrayList<>();
        String[] prompts = {"Once upon a time", "The cat", "Lily and Tom", "One day"};
        for (int i = 0; i < prompts.length; i++)
            reqs.add(CompletionRequest.builder().prompt(prompts[i]).maxTokens(150).ignoreEos(true)
                    .sampling(Sampling.builder().seed(100 + i).build()).build());
        List<int[]> solo = new ArrayList<>();
        for (CompletionRequest r : reqs) solo.add(engine.complete(r).tokens());
        long peakBefore = engine.peakBatch();
        ExecutorService pool = Executors.newFixedThreadPool(reqs.size());
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<Completion>> fs = new ArrayList<>();
            for (CompletionRequest r : reqs) fs.add(pool.submit(() -> {
                go.await();
                return engine.complete(r);
            }));
            go.countDown();
            for (int i = 0; i < reqs.size(); i++) assertArrayEquals(solo.get(i), fs.get(i).get().tokens(), "request " + i);
        } finally {
            pool.shutdown();
        }
        assertTrue(engine.peakBatch() >= 2, "requests submitted together should share decode steps (peak "
                + engine.peakBatch() + ", before " + peakBefore + ")");
    }

    @Test
    void cancellationFromAnotherThreadStopsWithinOneDecodeStep() throws Exception {
        AtomicReference<CompletionHandle> handle = new AtomicReference<>();
        AtomicInteger produced = new AtomicInteger(), afterCancel = new AtomicInteger();
        CountDownLatch started = new CountDownLatch(20);
        CompletionRequest r = greedy(1900).ignoreEos(true).sampling(Sampling.defaults()).listener(new CompletionListener() {
            @Override
            public void onText(String piece) {}

            @Override
            public void onToken(TokenLogProb t) {
                produced.incrementAndGet();
                CompletionHandle h = handle.get();
                if (h != null && h.cancelRequested()) afterCancel.incrementAndGet();
                started.countDown();
            }
        }).build();
        handle.set(engine.submit(r));
        started.await();
        Thread canceller = new Thread(() -> handle.get().cancel());
        canceller.start();
        canceller.join();
        Completion c = handle.get().await();
        assertEquals(Completion.FinishReason.CANCELLED, c.finishReason());
        assertTrue(afterCancel.get() <= 1, afterCancel.get() + " tokens came after cancel()");
        assertTrue(c.tokens().length < 1900);
        assertEquals(produced.get(), c.tokens().length);
    }

    @Test
    void aDeadlineEndsARequest() {
        Completion c = engine.complete(greedy(1900).ignoreEos(true).timeout(Duration.ofMillis(5)).build());
        assertEquals(Completion.FinishReason.DEADLINE, c.finishReason());
        assertTrue(c.tokens().length < 1900);
    }

    @Test
    void badRequestsFailClearly() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> engine.submit(greedy(2047).prompt("Once upon a time").build()));
        assertTrue(e.getMessage().contains("exceeds the engine's context"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CompletionRequest.builder().maxTokens(5).build());
        assertThrows(IllegalArgumentException.class, () -> Sampling.builder().topP(0).build());
        assertThrows(IllegalArgumentException.class, () -> engine.submit(CompletionRequest.builder().promptTokens(new int[] {1, 9999}).build()));
    }

    @Test
    void chatRequestsAreRenderedByTheTemplate() {
        // stories260K has no tokenizer.chat_template: ChatML, as llama.cpp falls back to
        List<ChatMessage> chat = List.of(ChatMessage.user("Tell me a story"));
        assertEquals(ChatTemplate.CHATML, engine.chatTemplate().source());
        CompletionRequest r = CompletionRequest.builder().messages(chat).maxTokens(8).sampling(Sampling.greedy()).build();
        String text = engine.chatTemplate().render(chat, true);
        assertEquals("<|im_start|>user\nTell me a story<|im_end|>\n<|im_start|>assistant\n", text);
        assertArrayEquals(model.tokenizer().encode(text, true, false, true), engine.promptTokens(r));
        assertEquals(8, engine.complete(r).tokens().length);
    }

    @Test
    void requestsWithDifferentAdaptersRunSideBySide() throws Exception {
        try (LlamaModel m = LlamaModel.load(SharedFiles.fixture("models/gqa_f32.gguf"));
                LoraAdapter a = adapter(m, 1); LoraAdapter b = adapter(m, 2);
                LlamaEngine e = LlamaEngine.create(m, new LlamaEngine.Options(2, 64))) {
            int[] prompt = {1, 72, 101, 40};
            LoraAdapter[] adapters = {a, b, null};
            ExecutorService pool = Executors.newFixedThreadPool(3);
            try {
                List<Future<int[]>> fs = new ArrayList<>();
                for (LoraAdapter l : adapters)
                    fs.add(pool.submit(() -> e.complete(CompletionRequest.builder().promptTokens(prompt).maxTokens(12)
                            .ignoreEos(true).sampling(Sampling.greedy()).adapter(l).build()).tokens()));
                Set<String> distinct = new HashSet<>();
                for (int i = 0; i < adapters.length; i++) {
                    int[] got = fs.get(i).get();
                    int[] ref = new Generator(m, adapters[i]).generate(prompt, new SamplingParams(0, 0, 1, 0, 12, 0, false), null).tokens();
                    assertArrayEquals(ref, got, "adapter " + i);
                    distinct.add(Arrays.toString(got));
                }
                assertTrue(distinct.size() >= 2, "the adapters should change the greedy continuation");
            } finally {
                pool.shutdown();
            }
        }
    }

    static LoraAdapter adapter(LlamaModel m, long seed) {
        LoraAdapter a = LoraAdapter.create(m, new LoraConfig(4, 8f, 0f, EnumSet.allOf(LoraConfig.Target.class), seed));
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < a.tensors().size(); i++) {
            float[] v = new float[(int) a.tensors().get(i).elements()];
            for (int k = 0; k < v.length; k++) v[k] = (float) (r.nextDouble() - 0.5);
            a.set(i, LoraAdapter.Field.VALUE, v);
        }
        return a;
    }
}
