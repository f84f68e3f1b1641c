package dev.stackllama4j.tokenizer;

/**
 * Read-only view of a model file's key/value metadata (GGUF {@code tokenizer.ggml.*} keys and the like).
 *
 * <p>The engine's GGUF facade implements this; tests use a small fixture reader. Getters throw
 * {@link IllegalArgumentException} naming {@link #sourceName()} and the key when the key is absent or
 * holds a value of another type, so callers test optional keys with {@link #has(String)} first.
 * Integer getters accept any GGUF integer type that fits; {@link #getIntArray(String)} widens
 * 8/16-bit arrays and rejects 64-bit values that do not fit in an int.
 */
public interface MetadataSource {
    boolean has(String key);

    String getString(String key);

    String[] getStringArray(String key);

    float[] getFloatArray(String key);

    int[] getIntArray(String key);

    long getLong(String key);

    boolean getBool(String key);

    /** Where the metadata came from (usually a file path), for error messages. */
    default String sourceName() {
        return "metadata";
    }
}
