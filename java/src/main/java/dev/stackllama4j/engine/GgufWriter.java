package dev.stackllama4j.engine;

import dev.stackllama4j.bridge.global.sl4j;
import dev.stackllama4j.bridge.sl4j_gguf_writer;
import java.nio.file.Path;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * Builds a GGUF v3 file (metadata and tensors in insertion order) and writes it atomically
 * (temporary file, fsync, rename). Setting an existing key replaces it in place.
 *
 * <p>Tensors given as floats or bytes are held until {@link #write}; the {@code addTensorNormal},
 * {@code addTensorFrom} and {@code addTensorMerged} tensors are produced while the file is written,
 * a chunk of rows at a time encoded on every core, so writing a model of any size takes a few tens
 * of MB. Files and adapters they read from must stay open until {@code write} returns.
 *
 * <p>Not thread-safe. Freed on close, or with a warning when garbage-collected open.
 */
public final class GgufWriter implements AutoCloseable {
    private final NativeHandle<sl4j_gguf_writer> handle;

    public GgufWriter() {
        Native.load();
        sl4j_gguf_writer h = new sl4j_gguf_writer();
        Native.check(sl4j.sl4j_gguf_writer_init(h));
        handle = NativeHandle.register(this, "GgufWriter", h, sl4j::sl4j_gguf_writer_free);
    }

    public GgufWriter putU32(String key, long value) {
        try (BytePointer k = Native.utf8(key)) {
            Native.check(sl4j.sl4j_gguf_writer_set_u32(h(), k, (int) value));
        }
        return this;
    }

    public GgufWriter putI32(String key, int value) {
        try (BytePointer k = Native.utf8(key)) {
            Native.check(sl4j.sl4j_gguf_writer_set_i32(h(), k, value));
        }
        return this;
    }

    public GgufWriter putU64(String key, long value) {
        try (BytePointer k = Native.utf8(key)) {
            Native.check(sl4j.sl4j_gguf_writer_set_u64(h(), k, value));
        }
        return this;
    }

    public GgufWriter putF32(String key, float value) {
        try (BytePointer k = Native.utf8(key)) {
            Native.check(sl4j.sl4j_gguf_writer_set_f32(h(), k, value));
        }
        return this;
    }

    public GgufWriter putBool(String key, boolean value) {
        try (BytePointer k = Native.utf8(key)) {
            Native.check(sl4j.sl4j_gguf_writer_set_bool(h(), k, value ? 1 : 0));
        }
        return this;
    }

    public GgufWriter putString(String key, String value) {
        try (BytePointer k = Native.utf8(key); BytePointer v = Native.utf8(value)) {
            Native.check(sl4j.sl4j_gguf_writer_set_str(h(), k, v));
        }
        return this;
    }

    public GgufWriter putStringArray(String key, String[] values) {
        BytePointer[] encoded = new BytePointer[values.length];
        try (BytePointer k = Native.utf8(key)) {
            for (int i = 0; i < values.length; i++) encoded[i] = Native.utf8(values[i]);
            try (PointerPointer<BytePointer> arr = new PointerPointer<>(encoded)) {
                Native.check(sl4j.sl4j_gguf_writer_set_arr_str(h(), k, arr, values.length));
            }
        } finally {
            for (BytePointer p : encoded) if (p != null) p.close();
        }
        return this;
    }

    public GgufWriter putFloatArray(String key, float[] values) {
        try (BytePointer k = Native.utf8(key); FloatPointer v = new FloatPointer(values)) {
            Native.check(sl4j.sl4j_gguf_writer_set_arr(h(), k, GgufValueType.FLOAT32.id(), v, values.length));
        }
        return this;
    }

    public GgufWriter putIntArray(String key, int[] values) {
        try (BytePointer k = Native.utf8(key); IntPointer v = new IntPointer(values)) {
            Native.check(sl4j.sl4j_gguf_writer_set_arr(h(), k, GgufValueType.INT32.id(), v, values.length));
        }
        return this;
    }

    /** Copies one metadata entry (any type) from an open file. */
    public GgufWriter copyKey(GgufFile src, String key) {
        try (BytePointer k = Native.utf8(key)) {
            long i = sl4j.sl4j_gguf_find_key(src.h(), k);
            if (i < 0) throw new EngineException.NotFound(src.path() + ": metadata key '" + key + "' is absent");
            Native.check(sl4j.sl4j_gguf_writer_copy_kv(h(), src.h(), i));
        }
        return this;
    }

    /** Adds a tensor from floats, encoding them as {@code type}. Dims in ggml order. */
    public GgufWriter addTensor(String name, TensorType type, long[] dims, float[] data) {
        try (BytePointer n = Native.utf8(name)) {
            Native.check(sl4j.sl4j_gguf_writer_add_tensor_f32(h(), n, type.id, dims.length, dims, data, data.length));
        }
        return this;
    }

    /** Adds a tensor from already-encoded bytes. */
    public GgufWriter addTensorBytes(String name, TensorType type, long[] dims, byte[] data) {
        try (BytePointer n = Native.utf8(name); BytePointer d = new BytePointer(data)) {
            Native.check(sl4j.sl4j_gguf_writer_add_tensor(h(), n, type.id, dims.length, dims, d, data.length));
        }
        return this;
    }

    /** Values {@code mean + std·N(0,1)} (std 0: the constant), the same for a seed on any thread count. */
    public GgufWriter addTensorNormal(String name, TensorType type, long[] dims, float mean, float std, long seed) {
        try (BytePointer n = Native.utf8(name)) {
            Native.check(sl4j.sl4j_gguf_writer_add_tensor_normal(h(), n, type.id, dims.length, dims, mean, std, seed));
        }
        return this;
    }

    /** Tensor {@code srcName} of an open file, re-encoded as {@code type} (copied when it is its type). */
    public GgufWriter addTensorFrom(GgufFile src, String srcName, TensorType type) {
        long i = src.requireTensor(srcName);
        try (BytePointer n = Native.utf8(srcName)) {
            Native.check(sl4j.sl4j_gguf_writer_add_tensor_from(h(), n, type.id, src.h(), i));
        }
        return this;
    }

    /**
     * Tensor {@code srcName} of an open file with the adapter's pair folded in (W + alpha/r·B·A, sums in
     * float64), encoded as {@code type}. {@code aIndex} is the pair's A tensor, B follows it.
     */
    public GgufWriter addTensorMerged(GgufFile src, String srcName, TensorType type, LoraAdapter lora, int aIndex) {
        long i = src.requireTensor(srcName);
        try (BytePointer n = Native.utf8(srcName)) {
            Native.check(sl4j.sl4j_gguf_writer_add_tensor_lora_merged(h(), n, type.id, src.h(), i, lora.handle(), aIndex));
        }
        return this;
    }

    public void write(Path path) {
        write(path, null);
    }

    /** Receives the bytes of tensor data written so far and in all, about twice a second. */
    public interface Progress {
        void update(long done, long total);
    }

    /** Writes, calling {@code progress} (may be null) from another thread while the data streams out. */
    public void write(Path path, Progress progress) {
        sl4j_gguf_writer w = h();
        Thread poll = null;
        if (progress != null) {
            poll = new Thread(() -> {
                long[] done = new long[1], total = new long[1];
                try {
                    while (!Thread.currentThread().isInterrupted()) {
                        Thread.sleep(500);
                        if (sl4j.sl4j_gguf_writer_progress(w, done, total) == 0 && total[0] > 0)
                            progress.update(done[0], total[0]);
                    }
                } catch (InterruptedException e) {
                    // the write has ended
                }
            }, "gguf-write-progress");
            poll.setDaemon(true);
            poll.start();
        }
        try (BytePointer p = Native.utf8(path.toString())) {
            Native.check(sl4j.sl4j_gguf_writer_write(w, p));
        } finally {
            if (poll != null) {
                poll.interrupt();
                try {
                    poll.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        if (progress != null) {
            long[] done = new long[1], total = new long[1];
            Native.check(sl4j.sl4j_gguf_writer_progress(w, done, total));
            progress.update(done[0], total[0]);
        }
    }

    private sl4j_gguf_writer h() {
        sl4j_gguf_writer p = handle.get();
        if (p == null) throw new IllegalStateException("GGUF writer is closed");
        return p;
    }

    @Override
    public void close() {
        handle.close();
    }
}
