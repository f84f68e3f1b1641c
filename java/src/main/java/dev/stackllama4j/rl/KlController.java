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
        return cfg.adaptiveKl() ? new AdaptiveKlController(cfg.initKlCoef(), cfg.target(), cfg.horizon())
                : new FixedKlController(cfg.initKlCoef());
    }
}
