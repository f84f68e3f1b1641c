package dev.stackllama4j.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.stackllama4j.inference.CompletionHandle;

/**
 * A LangChain4j {@link StreamingChatModel} over a local model: text arrives in UTF-8-complete
 * pieces as tokens are generated. The handler is called on the engine's worker thread (keep it
 * quick). Thread-safe: concurrent calls are batched on the model. Options as {@link LlamaChatModel}.
 */
public final class LlamaStreamingChatModel implements StreamingChatModel, AutoCloseable {
    private final LocalLlama local;

    private LlamaStreamingChatModel(LocalLlama local) {
        this.local = local;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builder; see {@link LocalLlama.Settings} for every option and its default. */
    public static final class Builder extends LocalLlama.Settings<Builder> {
        public LlamaStreamingChatModel build() {
            return new LlamaStreamingChatModel(LocalLlama.open(this));
        }
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        CompletionHandle h;
        try {
            h = local.engine().submit(local.request(request, handler::onPartialResponse));
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        h.future().whenComplete((c, err) -> {
            if (err != null) handler.onError(err instanceof java.util.concurrent.CompletionException && err.getCause() != null
                    ? err.getCause() : err);
            else handler.onCompleteResponse(local.response(c));
        });
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }

    @Override
    public void close() {
        local.close();
    }
}
