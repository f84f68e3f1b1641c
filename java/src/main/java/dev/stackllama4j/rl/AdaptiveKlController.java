package dev.stackllama4j.rl;

/**
 * Ziegler et al. (2019)'s proportional controller, as TRL's AdaptiveKLController:
 * {@code β ← β·(1 + clip(KL/target − 1, −0.2, 0.2)·n/horizon)}.
 */
public final class AdaptiveKlController implements KlController {
    private double value;
    private final double target;
    private final double horizon;

    /** {@code value} is the initial β, or the saved β when resuming. */
    public AdaptiveKlController(double value, double target, double horizon) {
        if (!(value >= 0)) throw new IllegalArgumentException("KL coefficient must be >= 0, got " + value);
        if (!(target > 0)) throw new IllegalArgumentException("KL target must be > 0, got " + target);
        if (!(horizon > 0)) throw new IllegalArgumentException("KL horizon must be > 0, got " + horizon);
        this.value = value;
        this.target = target;
        this.horizon = horizon;
    }

    @Override
    public double value() {
        return value;
    }

    @Override
    public void update(double currentKl, int nSteps) {
        // A NaN KL would make β NaN for the rest of the run; leave β alone instead.
        if (Double.isNaN(currentKl)) return;
        double err = PpoLoss.clip(currentKl / target - 1, -0.2, 0.2);
        value *= 1 + err * nSteps / horizon;
    }

    public double target() {
        return target;
    }

    public double horizon() {
        return horizon;
    }
}
