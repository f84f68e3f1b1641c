package example;

import dev.langchain4j.model.chat.ChatModel;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.inference.ChatMessage;
import dev.stackllama4j.inference.Completion;
import dev.stackllama4j.inference.CompletionRequest;
import dev.stackllama4j.inference.LlamaEngine;
import dev.stackllama4j.inference.Sampling;
import dev.stackllama4j.langchain4j.LlamaChatModel;
import java.nio.file.Path;
import java.util.List;

/** Usage: EmbeddingExample MODEL.gguf [ADAPTER.gguf] — the README's two examples, as a program. */
public final class EmbeddingExample {
    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: EmbeddingExample MODEL.gguf [ADAPTER.gguf]");
            System.exit(2);
        }
        Path modelFile = Path.of(args[0]);

        // 1. The request API: streamed text, stop strings, sampling controls, log-probs.
        try (LlamaModel model = LlamaModel.load(modelFile);
                LlamaEngine engine = LlamaEngine.create(model)) {
            Completion c = engine.complete(CompletionRequest.builder()
                    .prompt("Once upon a time")
                    .sampling(Sampling.builder().temperature(0.7).topP(0.9).seed(42).build())
                    .maxTokens(48)
                    .stopStrings(List.of("\n"))
                    .logProbs(2)
                    .listener(piece -> System.out.print(piece))
                    .build());
            System.out.printf("%n[%s, %d tokens, first token log-prob %.3f]%n", c.finishReason(), c.tokens().length,
                    c.logProbs().get(0).logProb());

            Completion chat = engine.complete(CompletionRequest.builder()
                    .messages(List.of(ChatMessage.user("Tell me a story about a cat.")))
                    .sampling(Sampling.greedy()).maxTokens(32).build());
            System.out.println("chat: " + chat.text());
        }

        // 2. LangChain4j: a ChatModel over the same file (plus an adapter, e.g. the one `ppo` wrote).
        LlamaChatModel.Builder b = LlamaChatModel.builder().modelPath(modelFile).temperature(0).maxTokens(32);
        if (args.length > 1) b.adapterPath(Path.of(args[1]));
        try (LlamaChatModel lc = b.build()) {
            ChatModel chatModel = lc;
            System.out.println("langchain4j: " + chatModel.chat("Tell me a story about a dog."));
        }
    }
}
