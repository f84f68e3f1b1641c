package dev.stackllama4j.engine;

import java.util.Locale;

/**
 * How a session's matrix products compute with quantized weights (the engine's
 * {@code sl4j_precision}).
 * <ul>
 * <li>{@link #EXACT}: weights dequantized, F32 activations and sums; the reference. Logits, every
 * reference comparison, and anything a gradient or a log-probability ratio is computed against
 * (training, PPO) use it.</li>
 * <li>{@link #FAST}: for Q4_0, Q8_0, Q4_K, Q5_K and Q6_K weights the activations are quantized to 8
 * bits per block once per product and the products are integer dot products, as llama.cpp computes
 * them (several times faster on those types). Other weight types compute as {@link #EXACT}. Meant
 * for generation and scoring that sample or rank; never mixed with {@link #EXACT} inside one
 * ratio.</li>
 * </ul>
 */
public enum Precision {
    EXACT(0), FAST(1);

    final int id;

    Precision(int id) {
        this.id = id;
    }

    public static Precision parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown precision '" + s + "' (expected exact or fast)");
        }
    }
}
