package dev.stackllama4j.rl;

/**
 * Settings of a PPO run, validated on construction. Defaults follow StackLLaMA's rl_training.py
 * where it sets a value and TRL's legacy PPOConfig otherwise; each is named below. Error messages
 * name the CLI flag ({@code --kebab-case} of the field).
 *
 * @param learningRate Adam learning rate. Default 1.4e-5 (StackLLaMA: 1.41e-5).
 * @param batchSize prompts rolled out and scored per PPO step. Default 32 (StackLLaMA).
 * @param miniBatchSize samples per forward/backward pass. Default 4: with grad-accum 1 this is
 *     the same 4 samples per optimizer step as StackLLaMA's mini-batch 1 × grad-accum 4.
 * @param gradAccum mini-batches per optimizer step. Default 1. {@code batchSize} must be a
 *     multiple of {@code miniBatchSize × gradAccum} (TRL's check).
 * @param ppoEpochs passes over the batch per step. Default 4.
 * @param initKlCoef initial β. Default 0.2.
 * @param adaptiveKl adaptive β controller (else fixed). Default true.
 * @param target KL target of the adaptive controller (sequence-level, nats). Default 6.
 * @param horizon horizon of the adaptive controller (samples). Default 10000.
 * @param klPenalty per-token KL estimator. Default {@link KlEstimator#KL}.
 * @param gamma discount. Default 1.0.
 * @param lam GAE λ. Default 0.95.
 * @param cliprange policy ratio clip. Default 0.2.
 * @param cliprangeValue value clip around the rollout values. Default 0.2.
 * @param vfCoef value loss weight. Default 0.1.
 * @param rewardBaseline subtracted from every reward-model score. Default 0 (StackLLaMA).
 * @param scoreScaling divide scores by a running std (TRL use_score_scaling). Default false.
 * @param scoreNorm also subtract the running mean; needs scoreScaling (TRL use_score_norm). Default false.
 * @param scoreClip clip scores to ±this after scaling; 0 = off (TRL score_clip None). Default 0.
 * @param whitenRewards whiten per-token rewards (mean kept) before GAE (TRL whiten_rewards). Default false.
 * @param whitenAdvantages whiten advantages over the batch's response tokens. Default true (TRL always does).
 * @param ratioThreshold skip a mini-batch whose mean ratio exceeds this. Default 10.
 * @param earlyStopping stop the step's optimisation when policy KL &gt; 1.5 × targetKl. Default false.
 * @param targetKl early-stopping KL. Default 0.1 (StackLLaMA; TRL's own default is 1).
 * @param minNewTokens shortest response length the length sampler draws. Default 32.
 * @param maxNewTokens longest response length the length sampler draws (inclusive). Default 128.
 * @param stopAtEos end a response at its first EOS (kept) and drop the rest. Default true.
 * @param trainingDropout LoRA dropout on the training pass (the rollout and reference passes never
 *     have it, so the ratio is then not 1 at a step's first mini-batch). Default false: TRL ≥ 0.7.2
 *     disables dropout in every PPO forward.
 * @param seed length sampler, mini-batch shuffling, sampling. Default 0.
 */
public record PpoConfig(double learningRate, int batchSize, int miniBatchSize, int gradAccum, int ppoEpochs,
                        double initKlCoef, boolean adaptiveKl, double target, double horizon, KlEstimator klPenalty,
                        double gamma, double lam, double cliprange, double cliprangeValue, double vfCoef,
                        double rewardBaseline, boolean scoreScaling, boolean scoreNorm, double scoreClip,
                        boolean whitenRewards, boolean whitenAdvantages, double ratioThreshold,
                        boolean earlyStopping, double targetKl, int minNewTokens, int maxNewTokens,
                        boolean stopAtEos, boolean trainingDropout, long seed) {
    public PpoConfig {
        if (!(learningRate > 0) || !Double.isFinite(learningRate)) fail("lr", "must be > 0", learningRate);
        atLeast(batchSize, "batch-size", 1);
        atLeast(miniBatchSize, "mini-batch-size", 1);
        atLeast(gradAccum, "grad-accum", 1);
        atLeast(ppoEpochs, "ppo-epochs", 1);
        if ((long) miniBatchSize * gradAccum > batchSize || batchSize % (miniBatchSize * gradAccum) != 0) {
            throw new IllegalArgumentException("--batch-size (" + batchSize + ") must be a multiple of --mini-batch-size × --grad-accum ("
                    + miniBatchSize + " × " + gradAccum + ")");
        }
        if (!(initKlCoef >= 0) || !Double.isFinite(initKlCoef)) fail("init-kl-coef", "must be >= 0", initKlCoef);
        if (!(target > 0) || !Double.isFinite(target)) fail("target", "must be > 0", target);
        if (!(horizon > 0) || !Double.isFinite(horizon)) fail("horizon", "must be > 0", horizon);
        if (klPenalty == null) throw new IllegalArgumentException("--kl-penalty must be kl, abs, mse or full");
        if (!(gamma >= 0 && gamma <= 1)) fail("gamma", "must be in [0, 1]", gamma);
        if (!(lam >= 0 && lam <= 1)) fail("lam", "must be in [0, 1]", lam);
        if (!(cliprange > 0 && cliprange < 1)) fail("cliprange", "must be in (0, 1)", cliprange);
        if (!(cliprangeValue > 0) || !Double.isFinite(cliprangeValue)) fail("cliprange-value", "must be > 0", cliprangeValue);
        if (!(vfCoef >= 0) || !Double.isFinite(vfCoef)) fail("vf-coef", "must be >= 0", vfCoef);
        if (!Double.isFinite(rewardBaseline)) fail("reward-baseline", "must be finite", rewardBaseline);
        if (scoreNorm && !scoreScaling) {
            throw new IllegalArgumentException("--score-norm needs --score-scaling (the running std it divides by)");
        }
        if (!(scoreClip >= 0) || !Double.isFinite(scoreClip)) fail("score-clip", "must be >= 0 (0 = off)", scoreClip);
        if (!(ratioThreshold > 1) || Double.isNaN(ratioThreshold)) fail("ratio-threshold", "must be > 1", ratioThreshold);
        if (!(targetKl > 0) || !Double.isFinite(targetKl)) fail("target-kl", "must be > 0", targetKl);
        atLeast(minNewTokens, "min-new-tokens", 1);
        if (maxNewTokens < minNewTokens) {
            throw new IllegalArgumentException("--max-new-tokens (" + maxNewTokens + ") must be >= --min-new-tokens (" + minNewTokens + ")");
        }
    }

    public static PpoConfig defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding a copy of these settings. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.learningRate = learningRate; b.batchSize = batchSize; b.miniBatchSize = miniBatchSize; b.gradAccum = gradAccum;
        b.ppoEpochs = ppoEpochs; b.initKlCoef = initKlCoef; b.adaptiveKl = adaptiveKl; b.target = target; b.horizon = horizon;
        b.klPenalty = klPenalty; b.gamma = gamma; b.lam = lam; b.cliprange = cliprange; b.cliprangeValue = cliprangeValue;
        b.vfCoef = vfCoef; b.rewardBaseline = rewardBaseline; b.scoreScaling = scoreScaling; b.scoreNorm = scoreNorm;
        b.scoreClip = scoreClip; b.whitenRewards = whitenRewards; b.whitenAdvantages = whitenAdvantages;
        b.ratioThreshold = ratioThreshold; b.earlyStopping = earlyStopping; b.targetKl = targetKl;
        b.minNewTokens = minNewTokens; b.maxNewTokens = maxNewTokens; b.stopAtEos = stopAtEos;
        b.trainingDropout = trainingDropout; b.seed = seed;
        return b;
    }

    /** Samples per optimizer step (TRL's backward_batch_size). */
    public int backwardBatchSize() {
        return miniBatchSize * gradAccum;
    }

    private static void atLeast(int v, String flag, int min) {
        if (v < min) throw new IllegalArgumentException("--" + flag + " must be >= " + min + ", got " + v);
    }

    private static void fail(String flag, String rule, double got) {
        throw new IllegalArgumentException("--" + flag + " " + rule + ", got " + got);
    }

    /** Mutable settings with the documented defaults; {@link #build()} validates. */
    public static final class Builder {
        private double learningRate = 1.4e-5;
        private int batchSize = 32;
        private int miniBatchSize = 4;
        private int gradAccum = 1;
        private int ppoEpochs = 4;
        private double initKlCoef = 0.2;
        private boolean adaptiveKl = true;
        private double target = 6;
        private double horizon = 10000;
        private KlEstimator klPenalty = KlEstimator.KL;
        private double gamma = 1.0;
        private double lam = 0.95;
        private double cliprange = 0.2;
        private double cliprangeValue = 0.2;
        private double vfCoef = 0.1;
        private double rewardBaseline = 0;
        private boolean scoreScaling = false;
        private boolean scoreNorm = false;
        private double scoreClip = 0;
        private boolean whitenRewards = false;
        private boolean whitenAdvantages = true;
        private double ratioThreshold = 10;
        private boolean earlyStopping = false;
        private double targetKl = 0.1;
        private int minNewTokens = 32;
        private int maxNewTokens = 128;
        private boolean stopAtEos = true;
        private boolean trainingDropout = false;
        private long seed = 0;

        private Builder() {}

        public Builder learningRate(double v) { learningRate = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder miniBatchSize(int v) { miniBatchSize = v; return this; }
        public Builder gradAccum(int v) { gradAccum = v; return this; }
        public Builder ppoEpochs(int v) { ppoEpochs = v; return this; }
        public Builder initKlCoef(double v) { initKlCoef = v; return this; }
        public Builder adaptiveKl(boolean v) { adaptiveKl = v; return this; }
        public Builder target(double v) { target = v; return this; }
        public Builder horizon(double v) { horizon = v; return this; }
        public Builder klPenalty(KlEstimator v) { klPenalty = v; return this; }
        public Builder gamma(double v) { gamma = v; return this; }
        public Builder lam(double v) { lam = v; return this; }
        public Builder cliprange(double v) { cliprange = v; return this; }
        public Builder cliprangeValue(double v) { cliprangeValue = v; return this; }
        public Builder vfCoef(double v) { vfCoef = v; return this; }
        public Builder rewardBaseline(double v) { rewardBaseline = v; return this; }
        public Builder scoreScaling(boolean v) { scoreScaling = v; return this; }
        public Builder scoreNorm(boolean v) { scoreNorm = v; return this; }
        public Builder scoreClip(double v) { scoreClip = v; return this; }
        public Builder whitenRewards(boolean v) { whitenRewards = v; return this; }
        public Builder whitenAdvantages(boolean v) { whitenAdvantages = v; return this; }
        public Builder ratioThreshold(double v) { ratioThreshold = v; return this; }
        public Builder earlyStopping(boolean v) { earlyStopping = v; return this; }
        public Builder targetKl(double v) { targetKl = v; return this; }
        public Builder minNewTokens(int v) { minNewTokens = v; return this; }
        public Builder maxNewTokens(int v) { maxNewTokens = v; return this; }
        public Builder stopAtEos(boolean v) { stopAtEos = v; return this; }
        public Builder trainingDropout(boolean v) { trainingDropout = v; return this; }
        public Builder seed(long v) { seed = v; return this; }

        public PpoConfig build() {
            return new PpoConfig(learningRate, batchSize, miniBatchSize, gradAccum, ppoEpochs, initKlCoef, adaptiveKl, target,
                    horizon, klPenalty, gamma, lam, cliprange, cliprangeValue, vfCoef, rewardBaseline, scoreScaling, scoreNorm,
                    scoreClip, whitenRewards, whitenAdvantages, ratioThreshold, earlyStopping, targetKl, minNewTokens,
                    maxNewTokens, stopAtEos, trainingDropout, seed);
        }
    }
}
