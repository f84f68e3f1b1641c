package dev.stackllama4j.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.inference.ChatMessage;
import dev.stackllama4j.inference.Completion;
import dev.stackllama4j.inference.CompletionHandle;
import dev.stackllama4j.inference.CompletionListener;
import dev.stackllama4j.inference.CompletionRequest;
import dev.stackllama4j.inference.LlamaEngine;
import dev.stackllama4j.inference.Sampling;
import dev.stackllama4j.train.AdapterFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A LangChain4j {@link ChatModel} and {@link StreamingChatModel} running a local LLaMA-family GGUF
 * in this process, optionally with a LoRA adapter file (such as the policy {@code ppo} trained).
 * Prompts are rendered with the model's own chat template; a request's temperature, top-p, top-k,
 * penalties, output limit and stop sequences override the builder's defaults. Text messages
 * only; tools are refused.
 *
 * <p>Thread-safety: calls may come from any number of threads; concurrent calls are batched on
 * the model. Streaming handlers run on the engine's worker thread (keep them quick).
 *
 * <pre>{@code
 * try (LlamaChatModel chat = LlamaChatModel.builder().modelPath(Path.of("model.gguf"))
 *         .adapterPath(Path.of("ppo-out/adapter.gguf")).temperature(0.7).maxTokens(200).build()) {
 *     String answer = chat.chat("How do I descale an espresso machine?");
 * }
 * }</pre>
 */
public final class LlamaChatModel implements ChatModel, StreamingChatModel, AutoCloseable {
    private final LlamaModel model;
    private final boolean ownsModel;
    private final LoraAdapter adapter;
    private final LlamaEngine engine;
    private final Builder s;

    private LlamaChatModel(Builder s) {
        this.s = s;
        if ((s.modelPath == null) == (s.model == null))
            throw new IllegalArgumentException("give exactly one of modelPath and model");
        if (s.modelPath != null && !Files.isRegularFile(s.modelPath))
            throw new IllegalArgumentException("no such model file: " + s.modelPath);
        if (s.adapterPath != null && !Files.isRegularFile(s.adapterPath))
            throw new IllegalArgumentException("no such adapter file: " + s.adapterPath);
        this.ownsModel = s.model == null;
        this.model = ownsModel ? LlamaModel.load(s.modelPath) : s.model;
        LoraAdapter a = null;
        try {
            a = s.adapterPath == null ? null : AdapterFile.load(s.adapterPath, model);
            this.engine = LlamaEngine.create(model, new LlamaEngine.Options(s.maxBatch, s.contextLength));
        } catch (RuntimeException ex) {
            if (a != null) a.close();
            if (ownsModel) model.close();
            throw ex;
        }
        this.adapter = a;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options, each with one documented default. Not thread-safe (build on one thread). */
    public static final class Builder {
        private Path modelPath, adapterPath;
        private LlamaModel model;
        private String modelName;
        private Sampling sampling = Sampling.defaults();
        private int maxTokens = 256, maxBatch = 4, contextLength;
        private List<String> stopStrings = List.of();
        private Duration timeout;

        /** A GGUF model to load (owned: closed with the chat model). Either this or {@link #model}. */
        public Builder modelPath(Path p) { modelPath = p; return this; }
        /** An already loaded model (borrowed: the caller closes it after the chat model). */
        public Builder model(LlamaModel m) { model = m; return this; }
        /** A llama.cpp LoRA adapter file (as {@code sft} and {@code ppo} write) applied to every call. Default none. */
        public Builder adapterPath(Path p) { adapterPath = p; return this; }
        /** The name reported in responses. Default: the model file's name. */
        public Builder modelName(String n) { modelName = n; return this; }
        /** Sampling defaults. Default {@link Sampling#defaults()}. */
        public Builder sampling(Sampling v) { sampling = v; return this; }
        /** Shorthand for the sampling temperature. */
        public Builder temperature(double t) { sampling = sampling.toBuilder().temperature(t).build(); return this; }
        /** Shorthand for the sampling seed. */
        public Builder seed(long seed) { sampling = sampling.toBuilder().seed(seed).build(); return this; }
        /** Tokens per answer when the request does not say. Default 256. */
        public Builder maxTokens(int n) { maxTokens = n; return this; }
        /** Stop strings when the request gives none. Default none. */
        public Builder stopStrings(List<String> v) { stopStrings = List.copyOf(v); return this; }
        /** A time limit per answer. Default none. */
        public Builder timeout(Duration d) { timeout = d; return this; }
        /** Concurrent calls decoded together. Default 4. */
        public Builder maxBatch(int n) { maxBatch = n; return this; }
        /** Positions per call (prompt + answer); 0 = the model's context, at most 4096. Default 0. */
        public Builder contextLength(int n) { contextLength = n; return this; }

        /** Loads what was asked for (model, adapter) and starts the engine. */
        public LlamaChatModel build() {
            return new LlamaChatModel(this);
        }
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        return response(engine.complete(request(request, null)));
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        CompletionHandle h;
        try {
            h = engine.submit(request(request, handler::onPartialResponse));
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        h.future().whenComplete((c, err) -> {
            if (err != null) handler.onError(err instanceof java.util.concurrent.CompletionException && err.getCause() != null
                    ? err.getCause() : err);
            else handler.onCompleteResponse(response(c));
        });
    }

    /** The request for a LangChain4j chat: its messages through the template, its parameters over the defaults. */
    private CompletionRequest request(ChatRequest r, CompletionListener listener) {
        ChatRequestParameters p = r.parameters();
        if (p != null && p.toolSpecifications() != null && !p.toolSpecifications().isEmpty())
            throw new UnsupportedOperationException("tools are not supported by the local stackllama4j model");
        List<ChatMessage> messages = new ArrayList<>();
        for (dev.langchain4j.data.message.ChatMessage m : r.messages()) {
            if (m instanceof SystemMessage sm) messages.add(ChatMessage.system(sm.text()));
            else if (m instanceof UserMessage um) {
                if (!um.hasSingleText()) throw new UnsupportedOperationException("only text user messages are supported");
                messages.add(ChatMessage.user(um.singleText()));
            } else if (m instanceof AiMessage am) messages.add(ChatMessage.assistant(am.text() == null ? "" : am.text()));
            else throw new UnsupportedOperationException("message type " + m.type() + " is not supported");
        }
        Sampling.Builder sb = s.sampling.toBuilder();
        int maxTokens = s.maxTokens;
        List<String> stops = s.stopStrings;
        if (p != null) {
            if (p.temperature() != null) sb.temperature(p.temperature());
            if (p.topP() != null) sb.topP(p.topP());
            if (p.topK() != null) sb.topK(p.topK());
            if (p.frequencyPenalty() != null) sb.frequencyPenalty(p.frequencyPenalty());
            if (p.presencePenalty() != null) sb.presencePenalty(p.presencePenalty());
            if (p.maxOutputTokens() != null) maxTokens = p.maxOutputTokens();
            if (p.stopSequences() != null && !p.stopSequences().isEmpty()) stops = p.stopSequences();
        }
        return CompletionRequest.builder().messages(messages).sampling(sb.build()).maxTokens(maxTokens)
                .stopStrings(stops).timeout(s.timeout).adapter(adapter).listener(listener).build();
    }

    private ChatResponse response(Completion c) {
        FinishReason why = switch (c.finishReason()) {
            case STOP_TOKEN, STOP_STRING -> FinishReason.STOP;
            case LENGTH -> FinishReason.LENGTH;
            case DEADLINE, CANCELLED -> FinishReason.OTHER;
        };
        String name = s.modelName != null ? s.modelName : model.path().getFileName().toString();
        return ChatResponse.builder().aiMessage(AiMessage.from(c.text())).modelName(name)
                .tokenUsage(new TokenUsage(c.promptTokens(), c.tokens().length)).finishReason(why).build();
    }

    // Both interfaces define these; one answer each.
    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return ChatModel.super.defaultRequestParameters();
    }

    @Override
    public List<ChatModelListener> listeners() {
        return ChatModel.super.listeners();
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }

    @Override
    public Set<Capability> supportedCapabilities() {
        return ChatModel.super.supportedCapabilities();
    }

    /** Stops the engine, then frees the adapter and the model if this instance loaded them. */
    @Override
    public void close() {
        engine.close();
        if (adapter != null) adapter.close();
        if (ownsModel) model.close();
    }
}
