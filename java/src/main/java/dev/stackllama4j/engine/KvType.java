package dev.stackllama4j.engine;

import java.util.Locale;

/**
 * Element type of a session's KV cache. {@link #F16} (the default) halves the cache (a 7B model at
 * 4096 positions: 2 GiB instead of 4); its logits stay within about 1e-4 of the largest logit of
 * {@link #F32}'s, which is exact.
 */
public enum KvType {
    F16(TensorType.F16), F32(TensorType.F32);

    final TensorType type;

    KvType(TensorType type) {
        this.type = type;
    }

    /** Bytes per cached element. */
    public int bytes() {
        return this == F16 ? 2 : 4;
    }

    public static KvType parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown KV cache type '" + s + "' (expected f16 or f32)");
        }
    }
}
