package dev.stackllama4j.engine;

import dev.stackllama4j.bridge.global.sl4j;
import java.util.Locale;

/** Tensor element types, with ggml's ids (so GGUF type fields map one to one). */
public enum TensorType {
    F32(0), F16(1), Q4_0(2), Q4_1(3), Q5_0(6), Q5_1(7), Q8_0(8), Q8_1(9), Q2_K(10), Q3_K(11), Q4_K(12),
    Q5_K(13), Q6_K(14), Q8_K(15), I8(24), I16(25), I32(26), I64(27), F64(28), BF16(30);

    public final int id;

    TensorType(int id) {
        this.id = id;
    }

    public static TensorType fromId(int id) {
        for (TensorType t : values()) if (t.id == id) return t;
        throw new EngineException.Unsupported("unknown tensor type id " + id);
    }

    /** Parses ggml's names, case-insensitively ("q4_k", "Q8_0", "f32"). */
    public static TensorType parse(String name) {
        for (TensorType t : values()) if (t.name().equalsIgnoreCase(name.trim())) return t;
        throw new IllegalArgumentException("unknown tensor type '" + name + "'");
    }

    public long blockSize() {
        Native.load();
        return sl4j.sl4j_type_block_size(id);
    }

    public long blockBytes() {
        Native.load();
        return sl4j.sl4j_type_block_bytes(id);
    }

    /** Bytes taken by {@code n} elements (n a multiple of the block size). */
    public long rowBytes(long n) {
        long bs = blockSize();
        if (bs == 0 || n % bs != 0)
            throw new EngineException.InvalidArgument(n + " elements is not a whole number of " + this + " blocks");
        return n / bs * blockBytes();
    }

    public boolean isSupported() {
        Native.load();
        return sl4j.sl4j_type_is_supported(id) != 0;
    }

    public boolean canQuantize() {
        Native.load();
        return sl4j.sl4j_type_can_quantize(id) != 0;
    }

    /** ggml's name ("q4_K", "f32"). */
    public String toString() {
        return name().toLowerCase(Locale.ROOT).replace("_k", "_K");
    }
}
