package dev.stackllama4j.engine;

/**
 * A failure reported by the native engine. Each status code of {@code stackllama4j.h} has its own
 * subclass, so callers can catch, say, a malformed file ({@link Format}) apart from a missing one
 * ({@link Io}). The message is the engine's, naming the file, offset or key and what was expected.
 */
public class EngineException extends RuntimeException {
    private final int status;

    protected EngineException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** The native status code ({@code SL4J_ERR_*}). */
    public int status() {
        return status;
    }

    /** Maps a native status and message to the matching subclass. */
    public static EngineException of(int status, String message) {
        return switch (status) {
            case 1 -> new InvalidArgument(message);
            case 2 -> new Io(message);
            case 3 -> new Format(message);
            case 4 -> new Unsupported(message);
            case 5 -> new OutOfMemory(message);
            case 6 -> new Backend(message);
            case 7 -> new NotFound(message);
            default -> new Internal(status, message);
        };
    }

    /** A NULL handle, a bad size, an index out of range. */
    public static final class InvalidArgument extends EngineException {
        public InvalidArgument(String m) { super(1, m); }
    }

    /** A file could not be opened, mapped, read, written or renamed. */
    public static final class Io extends EngineException {
        public Io(String m) { super(2, m); }
    }

    /** A file is malformed: truncated, wrong magic, offsets past the end. */
    public static final class Format extends EngineException {
        public Format(String m) { super(3, m); }
    }

    /** Valid input the engine does not handle, such as a tensor type. */
    public static final class Unsupported extends EngineException {
        public Unsupported(String m) { super(4, m); }
    }

    /** Host or device memory ran out; the message gives the figure needed. */
    public static final class OutOfMemory extends EngineException {
        public OutOfMemory(String m) { super(5, m); }
    }

    /** The compute device reported an error. */
    public static final class Backend extends EngineException {
        public Backend(String m) { super(6, m); }
    }

    /** A metadata key or tensor name is absent. */
    public static final class NotFound extends EngineException {
        public NotFound(String m) { super(7, m); }
    }

    /** An engine invariant broke: a bug. */
    public static final class Internal extends EngineException {
        public Internal(int status, String m) { super(status, m); }
    }
}
