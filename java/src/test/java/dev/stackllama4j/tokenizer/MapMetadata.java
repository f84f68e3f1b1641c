package dev.stackllama4j.tokenizer;

import java.util.HashMap;
import java.util.Map;

/** In-memory MetadataSource for tests. */
final class MapMetadata implements MetadataSource {
    final Map<String, Object> map = new HashMap<>();

    MapMetadata put(String k, Object v) {
        map.put(k, v);
        return this;
    }

    private Object get(String k) {
        Object v = map.get(k);
        if (v == null) throw new IllegalArgumentException("test metadata: no key '" + k + "'");
        return v;
    }

    @Override public boolean has(String key) { return map.containsKey(key); }
    @Override public String getString(String key) { return (String) get(key); }
    @Override public String[] getStringArray(String key) { return (String[]) get(key); }
    @Override public float[] getFloatArray(String key) { return (float[]) get(key); }
    @Override public int[] getIntArray(String key) { return (int[]) get(key); }
    @Override public long getLong(String key) { return ((Number) get(key)).longValue(); }
    @Override public boolean getBool(String key) { return (Boolean) get(key); }
    @Override public String sourceName() { return "test metadata"; }
}
