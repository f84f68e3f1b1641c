package dev.stackllama4j.langchain4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.inference.ChatMessage;
import dev.stackllama4j.inference.Completion;
import dev.stackllama4j.inference.CompletionRequest;
import dev.stackllama4j.inference.LlamaEngine;
import dev.stackllama4j.inference.Sampling;
import dev.stackllama4j.testing.SharedFiles;
import dev.stackllama4j.train.AdapterFile;
import dev.stackllama4j.train.LoraConfig;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LangChain4j's ChatModel and StreamingChatModel over stories260K. */
class LlamaChatModelTest {
    static Path stories() {
        return SharedFiles.require("models/stories260K/stories260K.gguf");
    }

    @Test
    void chatModelAnswersThroughTheTemplateAndMatchesTheEngine() {
        ChatModel chat = LlamaChatModel.builder().modelPath(stories()).temperature(0).maxTokens(24).build();
        try {
            ChatResponse r = chat.chat(ChatRequest.builder()
                    .messages(SystemMessage.from("You tell stories."), UserMessage.from("Tell me a story")).build());
            assertFalse(r.aiMessage().text().isEmpty());
            assertEquals("stories260K.gguf", r.modelName());
            try (LlamaModel m = LlamaModel.load(stories()); LlamaEngine e = LlamaEngine.create(m)) {
                Completion c = e.complete(CompletionRequest.builder().sampling(Sampling.defaults().toBuilder().temperature(0).build())
                        .maxTokens(24).messages(List.of(ChatMessage.system("You tell stories."), ChatMessage.user("Tell me a story")))
                        .build());
                assertEquals(c.text(), r.aiMessage().text());
                assertEquals(c.promptTokens(), r.tokenUsage().inputTokenCount());
                assertEquals(c.tokens().length, r.tokenUsage().outputTokenCount());
                assertEquals(c.finishReason() == Completion.FinishReason.LENGTH ? FinishReason.LENGTH : FinishReason.STOP,
                        r.finishReason());
            }
            assertFalse(chat.chat("Once upon a time").isEmpty(), "the String convenience works too");
        } finally {
            ((LlamaChatModel) chat).close();
        }
    }

    @Test
    void streamingChatModelStreamsTheSameAnswer() throws Exception {
        try (LlamaChatModel s = LlamaChatModel.builder().modelPath(stories()).temperature(0).maxTokens(30).build();
                LlamaChatModel c = LlamaChatModel.builder().modelPath(stories()).temperature(0).maxTokens(30).build()) {
            StringBuilder parts = new StringBuilder();
            CompletableFuture<ChatResponse> done = new CompletableFuture<>();
            ((StreamingChatModel) s).chat("Tell me a story", new StreamingChatResponseHandler() {
                @Override
                public void onPartialResponse(String partial) {
                    parts.append(partial);
                }

                @Override
                public void onCompleteResponse(ChatResponse r) {
                    done.complete(r);
                }

                @Override
                public void onError(Throwable t) {
                    done.completeExceptionally(t);
                }
            });
            ChatResponse r = done.get(60, TimeUnit.SECONDS);
            assertEquals(r.aiMessage().text(), parts.toString());
            assertEquals(c.chat("Tell me a story"), r.aiMessage().text());
        }
    }

    @Test
    void anAdapterFileIsAppliedToEveryCall(@TempDir Path tmp) {
        Path file = tmp.resolve("adapter.gguf");
        try (LlamaModel m = LlamaModel.load(stories());
                LoraAdapter a = LoraAdapter.create(m, new LoraConfig(4, 8f, 0f, EnumSet.allOf(LoraConfig.Target.class), 3))) {
            SplittableRandom r = new SplittableRandom(3);
            for (int i = 0; i < a.tensors().size(); i++) {
                float[] v = new float[(int) a.tensors().get(i).elements()];
                for (int k = 0; k < v.length; k++) v[k] = (float) (r.nextDouble() - 0.5);
                a.set(i, LoraAdapter.Field.VALUE, v);
            }
            AdapterFile.save(file, a);
        }
        try (LlamaChatModel base = LlamaChatModel.builder().modelPath(stories()).temperature(0).maxTokens(20).build();
                LlamaChatModel tuned = LlamaChatModel.builder().modelPath(stories()).adapterPath(file).temperature(0)
                        .maxTokens(20).build();
                LlamaModel m = LlamaModel.load(stories()); LoraAdapter a = AdapterFile.load(file, m);
                LlamaEngine e = LlamaEngine.create(m)) {
            String expected = e.complete(CompletionRequest.builder().messages(List.of(ChatMessage.user("Hi")))
                    .sampling(Sampling.defaults().toBuilder().temperature(0).build()).maxTokens(20).adapter(a).build()).text();
            assertEquals(expected, tuned.chat("Hi"));
            assertNotEquals(base.chat("Hi"), tuned.chat("Hi"), "the adapter must change the answer");
        }
    }

    @Test
    void toolsAreRefusedClearly() {
        try (LlamaChatModel chat = LlamaChatModel.builder().modelPath(stories()).maxTokens(4).build()) {
            Exception e = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class, () -> chat.chat(ChatRequest.builder()
                    .messages(UserMessage.from("x")).toolSpecifications(dev.langchain4j.agent.tool.ToolSpecification.builder()
                            .name("f").description("d").build()).build()));
            assertTrue(e.getMessage().contains("tools"), e.getMessage());
        }
    }
}
