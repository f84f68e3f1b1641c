package dev.stackllama4j.data;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Assigns each question to one split by a hash of (source, question id, seed): the same question
 * lands in the same split on every run, whatever order the dump lists it in, and never in two.
 */
public final class Splits {
    public static final String FINETUNE = "finetune";
    public static final String REWARD = "reward";
    public static final String RL = "rl";
    public static final String EVALUATION = "evaluation";
    public static final List<String> NAMES = List.of(FINETUNE, REWARD, RL, EVALUATION);

    private final double[] cumulative = new double[NAMES.size()];
    private final Map<String, Double> proportions;

    public Splits(Map<String, Double> proportions) {
        for (String k : proportions.keySet()) {
            if (!NAMES.contains(k)) throw new IllegalArgumentException("unknown split '" + k + "', expected one of " + NAMES);
        }
        double total = 0;
        LinkedHashMap<String, Double> p = new LinkedHashMap<>();
        for (String n : NAMES) {
            double v = proportions.getOrDefault(n, 0.0);
            if (!(v >= 0) || Double.isInfinite(v)) throw new IllegalArgumentException("split '" + n + "' proportion must be >= 0, got " + v);
            p.put(n, v);
            total += v;
        }
        if (!(total > 0)) throw new IllegalArgumentException("split proportions sum to 0");
        double acc = 0;
        for (int i = 0; i < NAMES.size(); i++) {
            acc += p.get(NAMES.get(i)) / total;
            cumulative[i] = acc;
        }
        cumulative[NAMES.size() - 1] = 1.0;
        this.proportions = p;
    }

    /** StackLLaMA-like default: most questions to the three training stages, a tenth held out. */
    public static Splits defaults() {
        return new Splits(Map.of(FINETUNE, 0.3, REWARD, 0.3, RL, 0.3, EVALUATION, 0.1));
    }

    /** Parses {@code "finetune=0.3,reward=0.3,rl=0.3,evaluation=0.1"} (missing names get 0). */
    public static Splits parse(String spec) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (String part : spec.split(",")) {
            String s = part.strip();
            if (s.isEmpty()) continue;
            int eq = s.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("split spec '" + s + "' is not name=proportion");
            String name = s.substring(0, eq).strip();
            double v;
            try {
                v = Double.parseDouble(s.substring(eq + 1).strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("split '" + name + "': '" + s.substring(eq + 1) + "' is not a number");
            }
            if (m.put(name, v) != null) throw new IllegalArgumentException("split '" + name + "' given twice");
        }
        return new Splits(m);
    }

    public Map<String, Double> proportions() {
        return proportions;
    }

    public String of(int source, long qid, long seed) {
        long h = mix(mix(seed ^ 0x5851F42D4C957F2DL) ^ ((long) source << 48) ^ qid);
        double u = (h >>> 11) * 0x1.0p-53;
        for (int i = 0; i < cumulative.length; i++) if (u < cumulative[i]) return NAMES.get(i);
        return NAMES.get(NAMES.size() - 1);
    }

    /** SplitMix64's finalizer: every input bit flips about half the output bits. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    public static List<String> pairSplits() {
        List<String> l = new ArrayList<>(NAMES);
        l.remove(RL);
        return l;
    }
}
