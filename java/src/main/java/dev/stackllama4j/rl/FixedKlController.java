package dev.stackllama4j.rl;

/** A constant β (TRL's FixedKLController). */
public final class FixedKlController implements KlController {
    private final double value;

    public FixedKlController(double value) {
        if (!(value >= 0)) throw new IllegalArgumentException("KL coefficient must be >= 0, got " + value);
        this.value = value;
    }

    @Override
    public double value() {
        return value;
    }

    @Override
    public void update(double currentKl, int nSteps) {}
}
