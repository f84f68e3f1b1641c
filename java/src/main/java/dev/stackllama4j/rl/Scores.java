package dev.stackllama4j.rl;

/**
 * Reward-model scores to PPO scores: {@code score − reward_baseline} (StackLLaMA's script), then
 * TRL's optional running-moment scaling/normalisation and clipping (PPOTrainer.step).
 */
public final class Scores {
    /** float32 machine epsilon: TRL adds {@code torch.finfo(scores.dtype).eps} to the running std. */
    static final double FLOAT32_EPS = Math.ulp(1.0f);

    private final PpoConfig cfg;
    private final RunningMoments running = new RunningMoments();

    public Scores(PpoConfig cfg) {
        this.cfg = cfg;
    }

    /** {@code raw − baseline} for each score: the "rewards" StackLLaMA passes to step and logs as env/reward_*. */
    public static double[] subtractBaseline(double[] raw, double baseline) {
        double[] out = new double[raw.length];
        for (int i = 0; i < raw.length; i++) out[i] = raw[i] - baseline;
        return out;
    }

    /** Scaling and clipping as configured; updates the running moments when scaling is on. */
    public double[] process(double[] rewards) {
        double[] s = rewards.clone();
        if (cfg.scoreScaling()) {
            running.update(s);
            double factor = running.std() + FLOAT32_EPS;
            for (int i = 0; i < s.length; i++) s[i] = cfg.scoreNorm() ? (s[i] - running.mean()) / factor : s[i] / factor;
        }
        if (cfg.scoreClip() > 0) {
            for (int i = 0; i < s.length; i++) s[i] = Math.max(-cfg.scoreClip(), Math.min(cfg.scoreClip(), s[i]));
        }
        return s;
    }

    public RunningMoments running() {
        return running;
    }

    /**
     * TRL's RunningMoments: a parallel-merge running mean and variance that starts from mean 0,
     * var 1 with a count of 1e-24, so the first batch effectively replaces the prior.
     */
    public static final class RunningMoments {
        private double mean = 0, var = 1, std = 1, count = 1e-24;

        /** Merges a batch; returns the batch's mean and unbiased std, as TRL's update. */
        public double[] update(double[] xs) {
            int n = xs.length;
            if (n == 0) throw new IllegalArgumentException("no scores to update the running moments with");
            double xm = 0;
            for (double x : xs) xm += x;
            xm /= n;
            double xv = 0;
            for (double x : xs) xv += (x - xm) * (x - xm);
            xv /= n;
            double delta = xm - mean;
            double tot = count + n;
            double oldSum = var * count + delta * delta * count * n / tot;
            mean += delta * n / tot;
            var = (oldSum + xv * n) / tot;
            std = Math.sqrt(var * tot / (tot - 1));
            count = tot;
            return new double[] {xm, Math.sqrt(xv * n / (n - 1))};
        }

        public double mean() { return mean; }
        public double var() { return var; }
        public double std() { return std; }
        public double count() { return count; }

        /** Restores saved moments (resume). */
        public void restore(double mean, double var, double count) {
            this.mean = mean;
            this.var = var;
            this.count = count;
            this.std = Math.sqrt(var * count / (count - 1));
        }
    }
}
