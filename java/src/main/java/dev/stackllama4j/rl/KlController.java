package dev.stackllama4j.rl;

/** The KL coefficient β and its update after each PPO step. */
public interface KlController {
    /** The current β. */
    double value();

    /**
     * Updates β from the step's measured KL (objective/kl: mean over samples of the summed
     * per-token KL) after {@code nSteps} samples (TRL passes the batch size).
     */
    void update(double currentKl, int nSteps);

    /** Adaptive or fixed as configured, starting from {@code initKlCoef}. */
    static KlController of(PpoConfig cfg) {
        return of(cfg, cfg.initKlCoef());
    }

    /** As configured, starting from {@code value} (a resumed run's saved β). */
    static KlController of(PpoConfig cfg, double value) {
        return cfg.adaptiveKl() ? new AdaptiveKlController(value, cfg.target(), cfg.horizon()) : new FixedKlController(value);
    }
}
