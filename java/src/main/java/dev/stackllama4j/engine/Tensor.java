package dev.stackllama4j.engine;

import dev.stackllama4j.bridge.global.sl4j;
import dev.stackllama4j.bridge.sl4j_tensor;

/**
 * A tensor stored on a backend in any supported type. Dims are in ggml order (dims[0] contiguous).
 * Not thread-safe (as its backend). Freed on close, or with a warning when garbage-collected open.
 */
public final class Tensor implements AutoCloseable {
    private final NativeHandle<sl4j_tensor> handle;
    private final Backend backend;

    private Tensor(Backend backend, sl4j_tensor handle) {
        this.backend = backend;
        this.handle = NativeHandle.register(this, "Tensor", handle, sl4j::sl4j_tensor_free, backend);
    }

    public static Tensor create(Backend backend, TensorType type, long... dims) {
        sl4j_tensor h = new sl4j_tensor();
        Native.check(sl4j.sl4j_tensor_init(backend.handle(), type.id, dims.length, dims, h));
        return new Tensor(backend, h);
    }

    /** A tensor holding {@code values} encoded as {@code type}. */
    public static Tensor of(Backend backend, TensorType type, float[] values, long... dims) {
        Tensor t = create(backend, type, dims);
        try {
            t.set(values);
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    public TensorType type() {
        return TensorType.fromId(sl4j.sl4j_tensor_type(handle()));
    }

    public long[] dims() {
        int n = sl4j.sl4j_tensor_n_dims(handle());
        long[] d = new long[n];
        for (int i = 0; i < n; i++) d[i] = sl4j.sl4j_tensor_dim(handle(), i);
        return d;
    }

    public long elements() {
        return sl4j.sl4j_tensor_n_elements(handle());
    }

    public void set(float[] values) {
        Native.check(sl4j.sl4j_tensor_set_f32(handle(), values, values.length));
    }

    public float[] toFloats() {
        float[] out = new float[Math.toIntExact(elements())];
        Native.check(sl4j.sl4j_tensor_get_f32(handle(), out, out.length));
        return out;
    }

    /** {@code out = x · wᵀ}: w {k, m} in any type, x F32 {k, n}, out F32 {m, n}. */
    public static void matmul(Tensor out, Tensor w, Tensor x) {
        Native.check(sl4j.sl4j_matmul(out.handle(), w.handle(), x.handle()));
    }

    public Backend backend() {
        return backend;
    }

    sl4j_tensor handle() {
        sl4j_tensor p = handle.get();
        if (p == null) throw new IllegalStateException("tensor is closed");
        return p;
    }

    @Override
    public void close() {
        handle.close();
    }
}
