package dev.stackllama4j.engine;

import dev.stackllama4j.bridge.global.sl4j;
import dev.stackllama4j.bridge.sl4j_gguf;
import dev.stackllama4j.tokenizer.MetadataSource;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;

/**
 * A GGUF file opened read-only: validated on open, tensor data memory-mapped by the native engine.
 * Metadata getters throw {@link EngineException.NotFound} for an absent key and
 * {@link EngineException.Format} for a value of the wrong type, naming the key. Safe for concurrent
 * reads; {@link #close()} must not race with them.
 */
public final class GgufFile implements AutoCloseable, MetadataSource {
    private final NativeHandle<sl4j_gguf> handle;
    private final Path path;

    private GgufFile(Path path, sl4j_gguf handle) {
        this.path = path;
        this.handle = NativeHandle.register(this, "GgufFile (" + path + ")", handle, sl4j::sl4j_gguf_free);
    }

    public static GgufFile open(Path path) {
        Native.load();
        sl4j_gguf h = new sl4j_gguf();
        try (BytePointer p = Native.utf8(path.toString())) {
            Native.check(sl4j.sl4j_gguf_open(p, h));
        }
        return new GgufFile(path, h);
    }

    public Path path() {
        return path;
    }

    @Override
    public String sourceName() {
        return path.toString();
    }

    public int version() {
        return sl4j.sl4j_gguf_version(h());
    }

    public int alignment() {
        return sl4j.sl4j_gguf_alignment(h());
    }

    public long dataOffset() {
        return sl4j.sl4j_gguf_data_offset(h());
    }

    public long fileSize() {
        return sl4j.sl4j_gguf_file_size(h());
    }

    // ---- metadata -------------------------------------------------------------------------

    public List<String> keys() {
        long n = sl4j.sl4j_gguf_n_kv(h());
        List<String> out = new ArrayList<>((int) n);
        for (long i = 0; i < n; i++) out.add(Native.str(sl4j.sl4j_gguf_kv_key(h(), i)));
        return out;
    }

    @Override
    public boolean has(String key) {
        return index(key) >= 0;
    }

    public GgufValueType type(String key) {
        return GgufValueType.fromId(sl4j.sl4j_gguf_kv_type(h(), require(key)));
    }

    /** Element type of an array value. */
    public GgufValueType arrayType(String key) {
        int[] out = new int[1];
        Native.check(sl4j.sl4j_gguf_kv_array_type(h(), require(key), out));
        return GgufValueType.fromId(out[0]);
    }

    public long arrayLength(String key) {
        long[] out = new long[1];
        Native.check(sl4j.sl4j_gguf_kv_array_len(h(), require(key), out));
        return out[0];
    }

    @Override
    public long getLong(String key) {
        long[] out = new long[1];
        Native.check(sl4j.sl4j_gguf_kv_get_i64(h(), require(key), out));
        return out[0];
    }

    public long getLong(String key, long fallback) {
        return has(key) ? getLong(key) : fallback;
    }

    public double getDouble(String key) {
        double[] out = new double[1];
        Native.check(sl4j.sl4j_gguf_kv_get_f64(h(), require(key), out));
        return out[0];
    }

    public double getDouble(String key, double fallback) {
        return has(key) ? getDouble(key) : fallback;
    }

    @Override
    public boolean getBool(String key) {
        int[] out = new int[1];
        Native.check(sl4j.sl4j_gguf_kv_get_bool(h(), require(key), out));
        return out[0] != 0;
    }

    public boolean getBool(String key, boolean fallback) {
        return has(key) ? getBool(key) : fallback;
    }

    @Override
    public String getString(String key) {
        try (BytePointer out = new BytePointer((BytePointer) null)) {
            Native.check(sl4j.sl4j_gguf_kv_get_str(h(), require(key), out));
            return Native.str(out);
        }
    }

    public String getString(String key, String fallback) {
        return has(key) ? getString(key) : fallback;
    }

    @Override
    public String[] getStringArray(String key) {
        long i = require(key);
        int n = Math.toIntExact(arrayLength(key));
        String[] out = new String[n];
        try (BytePointer p = new BytePointer((BytePointer) null)) {
            for (int j = 0; j < n; j++) {
                Native.check(sl4j.sl4j_gguf_kv_array_get_str(h(), i, j, p));
                out[j] = Native.str(p);
            }
        }
        return out;
    }

    @Override
    public float[] getFloatArray(String key) {
        float[] out = new float[Math.toIntExact(arrayLength(key))];
        Native.check(sl4j.sl4j_gguf_kv_array_copy_f32(h(), require(key), out, out.length));
        return out;
    }

    @Override
    public int[] getIntArray(String key) {
        int[] out = new int[Math.toIntExact(arrayLength(key))];
        Native.check(sl4j.sl4j_gguf_kv_array_copy_i32(h(), require(key), out, out.length));
        return out;
    }

    /** One array element as a long (integer arrays) or double (float arrays), or a string. */
    public Object getArrayElement(String key, long j) {
        long i = require(key);
        GgufValueType t = arrayType(key);
        if (t == GgufValueType.STRING) {
            try (BytePointer p = new BytePointer((BytePointer) null)) {
                Native.check(sl4j.sl4j_gguf_kv_array_get_str(h(), i, j, p));
                return Native.str(p);
            }
        }
        if (t.isFloat()) {
            double[] d = new double[1];
            Native.check(sl4j.sl4j_gguf_kv_array_get_f64(h(), i, j, d));
            return d[0];
        }
        long[] l = new long[1];
        Native.check(sl4j.sl4j_gguf_kv_array_get_i64(h(), i, j, l));
        return t == GgufValueType.BOOL ? (Object) (l[0] != 0) : (Object) l[0];
    }

    /** Any scalar value as a Java object (Long, Double, Boolean, String); arrays as "[n × type]". */
    public Object get(String key) {
        GgufValueType t = type(key);
        if (t == GgufValueType.STRING) return getString(key);
        if (t == GgufValueType.BOOL) return getBool(key);
        if (t.isFloat()) return getDouble(key);
        if (t == GgufValueType.UINT64) {
            long[] out = new long[1];
            Native.check(sl4j.sl4j_gguf_kv_get_u64(h(), require(key), out));
            return Long.toUnsignedString(out[0]);
        }
        if (t == GgufValueType.ARRAY) return "[" + arrayLength(key) + " × " + arrayType(key) + "]";
        return getLong(key);
    }

    // ---- tensors --------------------------------------------------------------------------

    public List<GgufTensorInfo> tensors() {
        long n = sl4j.sl4j_gguf_n_tensors(h());
        List<GgufTensorInfo> out = new ArrayList<>((int) n);
        for (long i = 0; i < n; i++) out.add(tensorInfo(i));
        return out;
    }

    public GgufTensorInfo tensor(String name) {
        return tensorInfo(requireTensor(name));
    }

    public boolean hasTensor(String name) {
        try (BytePointer p = Native.utf8(name)) {
            return sl4j.sl4j_gguf_find_tensor(h(), p) >= 0;
        }
    }

    /** The whole tensor as floats (dequantized). */
    public float[] readFloats(String name) {
        long i = requireTensor(name);
        GgufTensorInfo info = tensorInfo(i);
        float[] out = new float[Math.toIntExact(info.elements())];
        Native.check(sl4j.sl4j_gguf_tensor_read_f32(h(), i, out, out.length));
        return out;
    }

    /** The tensor's encoded bytes, copied out of the mapping. */
    public byte[] readBytes(String name) {
        long i = requireTensor(name);
        byte[] out = new byte[Math.toIntExact(sl4j.sl4j_gguf_tensor_n_bytes(h(), i))];
        new BytePointer(sl4j.sl4j_gguf_tensor_data(h(), i)).get(out);
        return out;
    }

    private GgufTensorInfo tensorInfo(long i) {
        int nd = sl4j.sl4j_gguf_tensor_n_dims(h(), i);
        long[] dims = new long[nd];
        for (int d = 0; d < nd; d++) dims[d] = sl4j.sl4j_gguf_tensor_dim(h(), i, d);
        return new GgufTensorInfo(Native.str(sl4j.sl4j_gguf_tensor_name(h(), i)),
                TensorType.fromId(sl4j.sl4j_gguf_tensor_type(h(), i)), dims, sl4j.sl4j_gguf_tensor_offset(h(), i),
                sl4j.sl4j_gguf_tensor_n_bytes(h(), i));
    }

    private long index(String key) {
        try (BytePointer p = Native.utf8(key)) {
            return sl4j.sl4j_gguf_find_key(h(), p);
        }
    }

    private long require(String key) {
        long i = index(key);
        if (i < 0) throw new EngineException.NotFound(path + ": metadata key '" + key + "' is absent");
        return i;
    }

    long requireTensor(String name) {
        try (BytePointer p = Native.utf8(name)) {
            long i = sl4j.sl4j_gguf_find_tensor(h(), p);
            if (i < 0) throw new EngineException.NotFound(path + ": tensor '" + name + "' is absent");
            return i;
        }
    }

    sl4j_gguf h() {
        sl4j_gguf p = handle.get();
        if (p == null) throw new IllegalStateException("GGUF file " + path + " is closed");
        return p;
    }

    @Override
    public void close() {
        handle.close();
    }
}
