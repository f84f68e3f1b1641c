package dev.stackllama4j.engine;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.bytedeco.javacpp.Pointer;

/**
 * Owns one native handle for a facade object: {@link #close()} frees it, and if the facade is
 * garbage-collected while still open, a {@link Cleaner} frees it instead and logs a warning that
 * names the handle's type (and, with {@code -Dstackllama4j.debugHandles=true} or
 * {@code SL4J_DEBUG_HANDLES=1}, the stack where it was created).
 *
 * <p>{@code dependencies} are held until the handle is freed, so a dependency (a session's model)
 * is never freed before what was made from it, even when both are collected at once.
 */
final class NativeHandle<P extends Pointer> {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final System.Logger LOG = System.getLogger("dev.stackllama4j.engine");
    static final boolean DEBUG = Boolean.getBoolean("stackllama4j.debugHandles")
            || "1".equals(System.getenv("SL4J_DEBUG_HANDLES"));
    private static final AtomicLong LEAKS = new AtomicLong();
    private static final java.util.Deque<String> RECENT = new java.util.concurrent.ConcurrentLinkedDeque<>();

    private final State<P> state;
    private final Cleaner.Cleanable cleanable;

    private static final class State<P> implements Runnable {
        private final String type;
        private final Consumer<P> free;
        private final Throwable origin;
        @SuppressWarnings("unused") // held on purpose: see the class comment
        private final Object[] dependencies;
        private P ptr;
        private boolean explicit;

        State(String type, P ptr, Consumer<P> free, Object[] dependencies) {
            this.type = type;
            this.ptr = ptr;
            this.free = free;
            this.dependencies = dependencies;
            this.origin = DEBUG ? new Throwable(type + " created here") : null;
        }

        @Override
        public synchronized void run() {
            if (ptr == null) return;
            if (!explicit) {
                String msg = "a " + type + " was garbage-collected without close(); its native memory is freed now"
                        + (origin == null ? " (set -Dstackllama4j.debugHandles=true to see where it was created)"
                                : "\n" + stack(origin));
                RECENT.addLast(msg);
                while (RECENT.size() > 32) RECENT.pollFirst();
                LEAKS.incrementAndGet();
                LOG.log(System.Logger.Level.WARNING, msg);
            }
            P p = ptr;
            ptr = null;
            free.accept(p);
        }

        synchronized P get() {
            return ptr;
        }
    }

    private NativeHandle(Object owner, State<P> state) {
        this.state = state;
        this.cleanable = CLEANER.register(owner, state);
    }

    /**
     * @param owner the facade whose reachability decides (never referenced by {@code free})
     * @param type the facade's name for messages, e.g. "Session"
     */
    static <P extends Pointer> NativeHandle<P> register(Object owner, String type, P ptr, Consumer<P> free,
                                                        Object... dependencies) {
        return new NativeHandle<>(owner, new State<>(type, ptr, free, dependencies));
    }

    /** The handle, or null once freed. */
    P get() {
        return state.get();
    }

    /** Frees the handle now (at most once). */
    void close() {
        synchronized (state) {
            state.explicit = true;
        }
        cleanable.clean();
    }

    /** Handles freed by the Cleaner since start-up (for tests and diagnostics). */
    static long leaksCleaned() {
        return LEAKS.get();
    }

    /** The latest warnings (at most 32), oldest first. */
    static java.util.List<String> recentLeakMessages() {
        return java.util.List.copyOf(RECENT);
    }

    private static String stack(Throwable t) {
        java.io.StringWriter w = new java.io.StringWriter();
        t.printStackTrace(new java.io.PrintWriter(w));
        return w.toString();
    }
}
