package dev.stackllama4j.inference;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A submitted request: wait for its {@link Completion}, or cancel it from any thread. Thread-safe.
 */
public final class CompletionHandle {
    private final CompletableFuture<Completion> future = new CompletableFuture<>();
    private volatile boolean cancelRequested;

    CompletionHandle() {}

    /**
     * Asks the engine to stop this request. It ends before the engine's next decode step (at most
     * one more token is produced, by a step already running) with
     * {@link Completion.FinishReason#CANCELLED} and the text so far. No-op once done.
     */
    public void cancel() {
        cancelRequested = true;
    }

    public boolean cancelRequested() {
        return cancelRequested;
    }

    public boolean isDone() {
        return future.isDone();
    }

    /** Blocks until the request ends; rethrows the failure (an {@code EngineException}, ...) if it failed. */
    public Completion await() {
        try {
            return future.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw e;
        }
    }

    /** The completion as a future, for composition. */
    public CompletableFuture<Completion> future() {
        return future;
    }

    void complete(Completion c) {
        future.complete(c);
    }

    void fail(Throwable t) {
        future.completeExceptionally(t);
    }
}
