package dev.stackllama4j.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;

/**
 * A LangChain4j {@link ChatModel} running a local LLaMA-family GGUF (optionally with a LoRA
 * adapter, such as the policy {@code ppo} trained) in this process. Prompts are rendered with the
 * model's own chat template. Thread-safe: concurrent calls are batched on the model.
 *
 * <pre>{@code
 * try (LlamaChatModel chat = LlamaChatModel.builder().modelPath(Path.of("model.gguf"))
 *         .adapterPath(Path.of("ppo/adapter.gguf")).temperature(0.7).maxTokens(200).build()) {
 *     String answer = chat.chat("How do I descale an espresso machine?");
 * }
 * }</pre>
 */
public final class LlamaChatModel implements ChatModel, AutoCloseable {
    private final LocalLlama local;

    private LlamaChatModel(LocalLlama local) {
        this.local = local;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builder; see {@link LocalLlama.Settings} for every option and its default. */
    public static final class Builder extends LocalLlama.Settings<Builder> {
        public LlamaChatModel build() {
            return new LlamaChatModel(LocalLlama.open(this));
        }
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        return local.response(local.engine().complete(local.request(request, null)));
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }

    /** Frees the engine, and the model and adapter when they were loaded from paths. */
    @Override
    public void close() {
        local.close();
    }
}
