package dev.stackllama4j.train;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A LoRA adapter's shape: rank r, alpha (scale alpha/r), dropout on the adapter input, the
 * projections it adapts, and the seed of A's initialisation and of the dropout masks. Defaults as
 * PEFT for LLaMA: r 16, alpha 32, dropout 0.05, targets q,v.
 */
public record LoraConfig(int r, float alpha, float dropout, Set<Target> targets, long seed) {
    /** The projections, with llama.cpp's tensor names and the native bit of each. */
    public enum Target {
        Q("attn_q", 1), K("attn_k", 2), V("attn_v", 4), O("attn_output", 8), GATE("ffn_gate", 16), UP("ffn_up", 32),
        DOWN("ffn_down", 64);

        public final String ggufName;
        public final int bit;

        Target(String ggufName, int bit) {
            this.ggufName = ggufName;
            this.bit = bit;
        }
    }

    public LoraConfig {
        if (r < 1) throw new IllegalArgumentException("LoRA rank must be >= 1, got " + r);
        if (!(alpha > 0)) throw new IllegalArgumentException("LoRA alpha must be > 0, got " + alpha);
        if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("LoRA dropout must be in [0, 1), got " + dropout);
        if (targets.isEmpty()) throw new IllegalArgumentException("LoRA needs at least one target");
        targets = Set.copyOf(targets);
    }

    public static LoraConfig defaults() {
        return new LoraConfig(16, 32f, 0.05f, EnumSet.of(Target.Q, Target.V), 42);
    }

    /** Parses "q,v" or "q,k,v,o,gate,up,down". */
    public static Set<Target> parseTargets(String s) {
        EnumSet<Target> out = EnumSet.noneOf(Target.class);
        for (String part : s.split(",")) {
            String p = part.trim().toUpperCase(Locale.ROOT);
            if (p.isEmpty()) continue;
            try {
                out.add(Target.valueOf(p));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown LoRA target '" + part.trim() + "' (q, k, v, o, gate, up, down)");
            }
        }
        return out;
    }

    public int targetBits() {
        int bits = 0;
        for (Target t : targets) bits |= t.bit;
        return bits;
    }


    public String targetList() {
        return targets.stream().sorted().map(t -> t.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(","));
    }

    public LoraConfig withSeed(long s) {
        return new LoraConfig(r, alpha, dropout, targets, s);
    }
}
