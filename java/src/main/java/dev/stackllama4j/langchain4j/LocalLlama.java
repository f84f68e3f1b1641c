package dev.stackllama4j.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.inference.ChatMessage;
import dev.stackllama4j.inference.Completion;
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

/**
 * What the LangChain4j models share: a local model (loaded from a path and owned, or given and
 * borrowed), an optional LoRA adapter file (e.g. the policy {@code ppo} wrote), an engine, and the
 * mapping between LangChain4j's chat types and this library's requests. Internal apart from
 * {@link Settings}, the options both builders share. Thread-safe.
 */
public final class LocalLlama implements AutoCloseable {
    private final LlamaModel model;
    private final boolean ownsModel;
    private final LoraAdapter adapter;
    private final LlamaEngine engine;
    private final Settings<?> s;

    private LocalLlama(Settings<?> s) {
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
        LlamaEngine e = null;
        try {
            a = s.adapterPath == null ? null : AdapterFile.load(s.adapterPath, model);
            e = LlamaEngine.create(model, new LlamaEngine.Options(s.maxBatch, s.contextLength));
        } catch (RuntimeException ex) {
            if (a != null) a.close();
            if (ownsModel) model.close();
            throw ex;
        }
        this.adapter = a;
        this.engine = e;
    }

    static LocalLlama open(Settings<?> s) {
        return new LocalLlama(s);
    }

    LlamaEngine engine() {
        return engine;
    }

    String modelName() {
        return s.modelName != null ? s.modelName : model.path().getFileName().toString();
    }

    /** The request for a LangChain4j chat: its messages through the model's template, its parameters over the defaults. */
    CompletionRequest request(ChatRequest r, CompletionListener listener) {
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

    ChatResponse response(Completion c) {
        FinishReason why = switch (c.finishReason()) {
            case STOP_TOKEN, STOP_STRING -> FinishReason.STOP;
            case LENGTH -> FinishReason.LENGTH;
            case DEADLINE, CANCELLED -> FinishReason.OTHER;
        };
        return ChatResponse.builder().aiMessage(AiMessage.from(c.text())).modelName(modelName())
                .tokenUsage(new TokenUsage(c.promptTokens(), c.tokens().length)).finishReason(why).build();
    }

    /** Closes the engine, then the adapter and the model if this instance loaded them. */
    @Override
    public void close() {
        engine.close();
        if (adapter != null) adapter.close();
        if (ownsModel) model.close();
    }

    /**
     * Options shared by {@link LlamaChatModel} and {@link LlamaStreamingChatModel}; each has one
     * documented default.
     */
    public abstract static class Settings<B extends Settings<B>> {
        Path modelPath, adapterPath;
        LlamaModel model;
        String modelName;
        Sampling sampling = Sampling.defaults();
        int maxTokens = 256, maxBatch = 4, contextLength;
        List<String> stopStrings = List.of();
        Duration timeout;

        @SuppressWarnings("unchecked")
        private B self() {
            return (B) this;
        }

        /** A GGUF model to load (owned: closed with the chat model). Either this or {@link #model}. */
        public B modelPath(Path p) { modelPath = p; return self(); }
        /** An already loaded model (borrowed: the caller closes it after the chat model). */
        public B model(LlamaModel m) { model = m; return self(); }
        /** A llama.cpp LoRA adapter file (as {@code sft} and {@code ppo} write) applied to every call. Default none. */
        public B adapterPath(Path p) { adapterPath = p; return self(); }
        /** The name reported in responses. Default: the model file's name. */
        public B modelName(String n) { modelName = n; return self(); }
        /** Sampling defaults; a request's own temperature, top-p, top-k and penalties override them. Default {@link Sampling#defaults()}. */
        public B sampling(Sampling v) { sampling = v; return self(); }
        /** Shorthand for the sampling temperature. */
        public B temperature(double t) { sampling = sampling.toBuilder().temperature(t).build(); return self(); }
        /** Shorthand for the sampling seed. */
        public B seed(long seed) { sampling = sampling.toBuilder().seed(seed).build(); return self(); }
        /** Tokens per answer when the request does not say. Default 256. */
        public B maxTokens(int n) { maxTokens = n; return self(); }
        /** Stop strings when the request gives none. Default none. */
        public B stopStrings(List<String> v) { stopStrings = List.copyOf(v); return self(); }
        /** A time limit per answer. Default none. */
        public B timeout(Duration d) { timeout = d; return self(); }
        /** Concurrent calls decoded together. Default 4. */
        public B maxBatch(int n) { maxBatch = n; return self(); }
        /** Positions per call (prompt + answer); 0 = the model's context, at most 4096. Default 0. */
        public B contextLength(int n) { contextLength = n; return self(); }
    }
}
