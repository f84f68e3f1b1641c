package dev.stackllama4j.engine;

import dev.stackllama4j.bridge.global.sl4j;
import java.nio.charset.StandardCharsets;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;

/** Loads the native library once and turns status codes into exceptions. Package-private glue. */
final class Native {
    private Native() {}

    private static volatile boolean loaded;

    static void load() {
        if (loaded) return;
        synchronized (Native.class) {
            if (loaded) return;
            try {
                Loader.load(sl4j.class);
            } catch (UnsatisfiedLinkError e) {
                throw new EngineException.Internal(-1, "the stackllama4j native library could not be loaded for "
                        + Loader.getPlatform() + ": " + e.getMessage());
            }
            loaded = true;
        }
    }

    /** Throws the typed exception for a non-zero status, with the calling thread's native message. */
    static void check(int status) {
        if (status != 0) throw EngineException.of(status, lastError());
    }

    static String lastError() {
        return str(sl4j.sl4j_last_error());
    }

    /** A NUL-terminated UTF-8 copy (JavaCPP's String overloads would use the platform charset). */
    static BytePointer utf8(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        return new BytePointer(java.util.Arrays.copyOf(bytes, bytes.length + 1));
    }

    static String str(BytePointer p) {
        if (p == null || p.isNull()) return "";
        return p.getString(StandardCharsets.UTF_8);
    }
}
