package dev.stackllama4j.engine;

import dev.stackllama4j.bridge.global.sl4j;
import dev.stackllama4j.bridge.sl4j_adamw_params;

/**
 * torch.optim.AdamW hyper-parameters of one step (the caller owns the learning-rate schedule),
 * and the same update on Java-owned arrays (value and reward heads).
 *
 * @param lr learning rate of this step
 * @param beta1 default 0.9
 * @param beta2 default 0.999
 * @param eps default 1e-8
 * @param weightDecay decoupled: p -= lr·wd·p before the Adam update
 */
public record AdamW(float lr, float beta1, float beta2, float eps, float weightDecay) {
    public AdamW {
        if (!(lr >= 0)) throw new IllegalArgumentException("learning rate must be >= 0, got " + lr);
        if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("betas must be in [0, 1)");
        if (!(eps > 0)) throw new IllegalArgumentException("eps must be > 0");
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("weight decay must be >= 0");
    }

    public static AdamW of(double lr, double weightDecay) {
        return new AdamW((float) lr, 0.9f, 0.999f, 1e-8f, (float) weightDecay);
    }

    public AdamW withLr(double newLr) {
        return new AdamW((float) newLr, beta1, beta2, eps, weightDecay);
    }

    sl4j_adamw_params toNative() {
        sl4j_adamw_params p = sl4j.sl4j_adamw_default_params();
        p.lr(lr).beta1(beta1).beta2(beta2).eps(eps).weight_decay(weightDecay);
        return p;
    }

    /** One AdamW step on Java arrays; {@code step} is 1-based (bias correction). */
    public void update(float[] param, float[] grad, float[] m, float[] v, long step) {
        Native.load();
        if (grad.length != param.length || m.length != param.length || v.length != param.length)
            throw new IllegalArgumentException("AdamW arrays must have equal lengths");
        try (sl4j_adamw_params p = toNative()) {
            Native.check(sl4j.sl4j_adamw_update_f32(param, grad, m, v, param.length, step, p));
        }
    }
}
