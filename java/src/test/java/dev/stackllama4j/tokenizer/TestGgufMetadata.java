package dev.stackllama4j.tokenizer;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * TEST FIXTURE ONLY: a minimal GGUF metadata reader (header and key/value section; tensors are not
 * read) so tokenizer tests can load real vocabularies without the engine's native GGUF reader. It is
 * written independently of the production reader on purpose, so the two cross-check each other.
 *
 * <p>GGUF layout (little-endian): "GGUF", u32 version, tensor count and kv count (u64 from v2, u32 in
 * v1), then per kv: string key, u32 value type, value. Strings are a length (u64, u32 in v1) and
 * UTF-8 bytes; arrays are u32 element type, length, elements.
 */
final class TestGgufMetadata implements MetadataSource {
    private static final int UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
            BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12;

    private final String source;
    private final Map<String, Object> values = new LinkedHashMap<>();
    private final int version;
    private long offset;

    private TestGgufMetadata(Path path, DataInputStream in) throws IOException {
        this.source = path.toString();
        int magic = in.readInt(); // big-endian read of the 4 magic bytes
        offset = 4;
        if (magic != 0x47475546) {
            throw new IOException(source + ": not a GGUF file (magic 0x" + Integer.toHexString(magic) + " at offset 0)");
        }
        version = u32(in);
        if (version < 1 || version > 3) {
            throw new IOException(source + ": unsupported GGUF version " + version + " at offset 4 (expected 1..3)");
        }
        count(in); // tensors, not read
        long kvs = count(in);
        for (long i = 0; i < kvs; i++) {
            String key = string(in);
            int type = u32(in);
            values.put(key, value(in, type, key));
        }
    }

    static TestGgufMetadata read(Path path) throws IOException {
        try (InputStream raw = Files.newInputStream(path);
             DataInputStream in = new DataInputStream(new BufferedInputStream(raw, 1 << 16))) {
            return new TestGgufMetadata(path, in);
        } catch (EOFException e) {
            throw new IOException(path + ": truncated GGUF metadata", e);
        }
    }

    int version() {
        return version;
    }

    Map<String, Object> asMap() {
        return values;
    }

    private Object value(DataInputStream in, int type, String key) throws IOException {
        switch (type) {
            case UINT8: offset += 1; return (long) in.readUnsignedByte();
            case INT8: offset += 1; return (long) in.readByte();
            case UINT16: offset += 2; return (long) Short.toUnsignedInt(Short.reverseBytes(in.readShort()));
            case INT16: offset += 2; return (long) Short.reverseBytes(in.readShort());
            case UINT32: return Integer.toUnsignedLong(u32(in));
            case INT32: return (long) u32(in);
            case FLOAT32: return Float.intBitsToFloat(u32(in));
            case BOOL: {
                offset += 1;
                int b = in.readUnsignedByte();
                if (b > 1) throw new IOException(source + ": key '" + key + "': bool byte " + b + " at offset " + (offset - 1));
                return b == 1;
            }
            case STRING: return string(in);
            case ARRAY: {
                int et = u32(in);
                long n = count(in);
                if (n > Integer.MAX_VALUE - 8) throw new IOException(source + ": key '" + key + "': array of " + n + " elements");
                if (et == STRING) {
                    String[] a = new String[(int) n];
                    for (int i = 0; i < n; i++) a[i] = string(in);
                    return a;
                }
                if (et == FLOAT32) {
                    float[] a = new float[(int) n];
                    for (int i = 0; i < n; i++) a[i] = Float.intBitsToFloat(u32(in));
                    return a;
                }
                if (et == ARRAY) throw new IOException(source + ": key '" + key + "': nested arrays are not supported by this fixture");
                long[] a = new long[(int) n];
                for (int i = 0; i < n; i++) {
                    Object v = value(in, et, key);
                    if (v instanceof Boolean) a[i] = (Boolean) v ? 1 : 0;
                    else if (v instanceof Long) a[i] = (Long) v;
                    else a[i] = (long) (double) (Double) v;
                }
                return a;
            }
            case UINT64: case INT64: offset += 8; return Long.reverseBytes(in.readLong());
            case FLOAT64: offset += 8; return Double.longBitsToDouble(Long.reverseBytes(in.readLong()));
            default:
                throw new IOException(source + ": key '" + key + "': unknown GGUF value type " + type + " at offset " + (offset - 4));
        }
    }

    private int u32(DataInputStream in) throws IOException {
        offset += 4;
        return Integer.reverseBytes(in.readInt());
    }

    private long count(DataInputStream in) throws IOException {
        if (version == 1) return Integer.toUnsignedLong(u32(in));
        offset += 8;
        long v = Long.reverseBytes(in.readLong());
        if (v < 0) throw new IOException(source + ": count " + Long.toUnsignedString(v) + " at offset " + (offset - 8));
        return v;
    }

    private String string(DataInputStream in) throws IOException {
        long n = count(in);
        if (n > (1 << 24)) throw new IOException(source + ": string of " + n + " bytes at offset " + offset);
        byte[] b = new byte[(int) n];
        in.readFully(b);
        offset += n;
        return new String(b, StandardCharsets.UTF_8);
    }

    private Object get(String key, Class<?> want, String what) {
        Object v = values.get(key);
        if (v == null) throw new IllegalArgumentException(source + ": no metadata key '" + key + "'");
        if (!want.isInstance(v)) {
            throw new IllegalArgumentException(source + ": key '" + key + "' holds " + v.getClass().getSimpleName()
                    + ", expected " + what);
        }
        return v;
    }

    @Override public boolean has(String key) { return values.containsKey(key); }
    @Override public String getString(String key) { return (String) get(key, String.class, "a string"); }
    @Override public String[] getStringArray(String key) { return (String[]) get(key, String[].class, "a string array"); }
    @Override public float[] getFloatArray(String key) { return (float[]) get(key, float[].class, "a float32 array"); }
    @Override public long getLong(String key) { return (Long) get(key, Long.class, "an integer"); }
    @Override public boolean getBool(String key) { return (Boolean) get(key, Boolean.class, "a bool"); }
    @Override public String sourceName() { return source; }

    @Override
    public int[] getIntArray(String key) {
        long[] a = (long[]) get(key, long[].class, "an integer array");
        int[] r = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            if (a[i] < Integer.MIN_VALUE || a[i] > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(source + ": key '" + key + "'[" + i + "] = " + a[i] + " does not fit an int");
            }
            r[i] = (int) a[i];
        }
        return r;
    }
}
