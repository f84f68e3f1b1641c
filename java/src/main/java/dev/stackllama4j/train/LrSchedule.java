package dev.stackllama4j.train;

import java.util.Locale;

/**
 * Learning rate per optimizer step: linear warmup from 0 to the peak over {@code warmupSteps},
 * then constant, linear decay to 0, or cosine decay to 0 at {@code totalSteps} (as
 * transformers' get_*_schedule_with_warmup).
 */
public record LrSchedule(Kind kind, double peak, int warmupSteps, int totalSteps) {
    public enum Kind {
        CONSTANT, LINEAR, COSINE;

        public static Kind parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown schedule '" + s + "' (constant, linear or cosine)");
            }
        }
    }

    public LrSchedule {
        if (!(peak > 0)) throw new IllegalArgumentException("learning rate must be > 0, got " + peak);
        if (warmupSteps < 0) throw new IllegalArgumentException("warmup steps must be >= 0, got " + warmupSteps);
        if (totalSteps < 1) throw new IllegalArgumentException("total steps must be >= 1, got " + totalSteps);
    }

    /** The rate for 0-based optimizer step {@code step}. */
    public double at(int step) {
        if (step < warmupSteps) return peak * (step + 1) / (double) (warmupSteps + 1);
        if (kind == Kind.CONSTANT) return peak;
        double progress = Math.min(1.0, (step - warmupSteps) / (double) Math.max(1, totalSteps - warmupSteps));
        return kind == Kind.LINEAR ? peak * (1.0 - progress) : peak * 0.5 * (1.0 + Math.cos(Math.PI * progress));
    }
}
