package dev.stackllama4j.data;

import java.util.Map;
import java.util.TreeMap;

/** Rows left out, by reason; sorted so that stats.json is byte-identical across runs. */
public final class SkipCounter {
    private final TreeMap<String, Long> counts = new TreeMap<>();

    public void add(String reason) {
        counts.merge(reason, 1L, Long::sum);
    }

    public long get(String reason) {
        return counts.getOrDefault(reason, 0L);
    }

    public long total() {
        long t = 0;
        for (long v : counts.values()) t += v;
        return t;
    }

    public Map<String, Long> asMap() {
        return java.util.Collections.unmodifiableMap(counts);
    }
}
