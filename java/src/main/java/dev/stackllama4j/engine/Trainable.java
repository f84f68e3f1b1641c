package dev.stackllama4j.engine;

import dev.stackllama4j.bridge.global.sl4j;
import dev.stackllama4j.bridge.sl4j_adamw_params;
import dev.stackllama4j.bridge.sl4j_lora;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;

/**
 * Trainable tensors held natively with their gradients and AdamW moments: a {@link LoraAdapter}
 * or every weight of a model ({@link FullWeights}). Gradients add up over trainer steps until
 * zeroed. Decoding only reads the tensors, so several sessions (on several threads) may use one
 * adapter at once; training, {@link #set} and optimizer steps mutate it and need the caller's
 * exclusion. Must outlive the sessions and trainers it is attached to; one that is
 * garbage-collected open is freed with a warning.
 */
public abstract sealed class Trainable implements AutoCloseable permits LoraAdapter, FullWeights {
    /** Which part of a tensor to read or write. */
    public enum Field {
        VALUE, GRAD, ADAM_M, ADAM_V
    }

    /** A trainable tensor: name, ggml dims and element count. */
    public record TensorInfo(String name, long[] dims, long elements) {}

    private final NativeHandle<sl4j_lora> handle;
    private final List<TensorInfo> tensors;

    Trainable(sl4j_lora handle, String type) {
        this.handle = NativeHandle.register(this, type, handle, sl4j::sl4j_lora_free);
        long n = sl4j.sl4j_lora_n_tensors(handle);
        List<TensorInfo> list = new ArrayList<>();
        for (long i = 0; i < n; i++) {
            long[] dims = new long[2];
            Native.check(sl4j.sl4j_lora_tensor_dims(handle, i, dims));
            list.add(new TensorInfo(Native.str(sl4j.sl4j_lora_tensor_name(handle, i)), dims,
                    sl4j.sl4j_lora_tensor_n_elements(handle, i)));
        }
        this.tensors = List.copyOf(list);
    }

    public List<TensorInfo> tensors() {
        return tensors;
    }

    /** Index of the tensor named {@code name}, or -1. */
    public int index(String name) {
        try (BytePointer p = Native.utf8(name)) {
            return (int) sl4j.sl4j_lora_find_tensor(h(), p);
        }
    }

    public float[] get(int i, Field f) {
        float[] out = new float[Math.toIntExact(tensors.get(i).elements())];
        Native.check(sl4j.sl4j_lora_get(h(), i, f.ordinal(), out, out.length));
        return out;
    }

    public void set(int i, Field f, float[] values) {
        Native.check(sl4j.sl4j_lora_set(h(), i, f.ordinal(), values, values.length));
    }

    public void zeroGrad() {
        Native.check(sl4j.sl4j_lora_zero_grad(h()));
    }

    public double gradNorm() {
        double[] out = new double[1];
        Native.check(sl4j.sl4j_lora_grad_norm(h(), out));
        return out[0];
    }

    /** clip_grad_norm_ semantics; returns the norm before clipping. */
    public double clipGradNorm(double maxNorm) {
        double[] out = new double[1];
        Native.check(sl4j.sl4j_lora_clip_grad_norm(h(), maxNorm, out));
        return out[0];
    }

    /** One AdamW step on every tensor with its accumulated gradient (gradients are kept). */
    public void adamwStep(AdamW opt) {
        try (sl4j_adamw_params p = opt.toNative()) {
            Native.check(sl4j.sl4j_lora_adamw_step(h(), p));
        }
    }

    public long adamwSteps() {
        return sl4j.sl4j_lora_adamw_steps(h());
    }

    public void setAdamwSteps(long steps) {
        Native.check(sl4j.sl4j_lora_set_adamw_steps(h(), steps));
    }

    sl4j_lora handle() {
        return h();
    }

    private sl4j_lora h() {
        sl4j_lora p = handle.get();
        if (p == null) throw new IllegalStateException(getClass().getSimpleName() + " is closed");
        return p;
    }

    @Override
    public void close() {
        handle.close();
    }
}
