package dev.stackllama4j.train;

import dev.stackllama4j.engine.Trainable;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A run stopped because a quantity stopped being a finite number (or ran past a guard such as
 * {@code --max-kl}). Thrown before anything is written from the bad state: the message names the
 * step and the quantity, and the last good checkpoint, which stays as it was.
 */
public final class DivergedException extends RuntimeException {
    public DivergedException(String message) {
        super(message);
    }

    /** {@code quantity} became {@code value} at {@code step}. */
    public static DivergedException at(int step, String quantity, double value, Path checkpoint) {
        return new DivergedException("step " + step + ": " + quantity + " is " + value + "; stopped without writing an adapter"
                + lastGood(checkpoint));
    }

    /** Where the last good checkpoint is, as the end of a message. */
    public static String lastGood(Path checkpoint) {
        return checkpoint != null && Files.exists(checkpoint) ? "; the last good checkpoint is " + checkpoint + " (continue with --resume)"
                : "; no checkpoint was written before";
    }

    /** Throws when {@code value} is not finite. */
    public static void requireFinite(int step, String quantity, double value, Path checkpoint) {
        if (!Double.isFinite(value)) throw at(step, quantity, value, checkpoint);
    }

    /** Throws when any entry of {@code values} is not finite, naming the first. */
    public static void requireFinite(int step, String quantity, double[] values, Path checkpoint) {
        for (int i = 0; i < values.length; i++)
            if (!Double.isFinite(values[i])) throw at(step, quantity + "[" + i + "]", values[i], checkpoint);
    }

    /** Throws when a trained weight (adapter or full) is not finite, naming the tensor: checked before every save. */
    public static void requireFinite(int step, Trainable weights, Path checkpoint) {
        for (int i = 0; i < weights.tensors().size(); i++) {
            float[] v = weights.get(i, Trainable.Field.VALUE);
            for (float x : v)
                if (!Float.isFinite(x)) throw at(step, "trained weight " + weights.tensors().get(i).name(), x, checkpoint);
        }
    }

    /** As {@link #requireFinite(int, Trainable, Path)} for a plain weight vector. */
    public static void requireFinite(int step, String name, float[] weights, Path checkpoint) {
        for (float x : weights) if (!Float.isFinite(x)) throw at(step, name, x, checkpoint);
    }
}
