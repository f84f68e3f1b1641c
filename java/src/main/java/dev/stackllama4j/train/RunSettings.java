package dev.stackllama4j.train;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The resolved settings of a run as a flat, ordered map of {@code kebab-case} names to values,
 * read from the typed configuration records by reflection: every component of every record given
 * (nested records under {@code name.}), so a field added to a config later is stored and checked on
 * resume without further code. Values are numbers, booleans and strings (enums by lower-case name,
 * collections as a sorted comma list, paths as text).
 */
public final class RunSettings {
    private RunSettings() {}

    /** The components of {@code records} (each a Java record), in declaration order. */
    public static Map<String, Object> of(Record... records) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Record r : records) flatten("", r, out);
        return out;
    }

    /** Adds the components of {@code r} to {@code settings} under {@code prefix.}; returns {@code settings}. */
    public static Map<String, Object> with(Map<String, Object> settings, String prefix, Record r) {
        flatten(prefix + ".", r, settings);
        return settings;
    }

    private static void flatten(String prefix, Record r, Map<String, Object> out) {
        for (RecordComponent c : r.getClass().getRecordComponents()) {
            Object v;
            try {
                c.getAccessor().setAccessible(true);
                v = c.getAccessor().invoke(r);
            } catch (IllegalAccessException | InvocationTargetException e) {
                throw new IllegalStateException("cannot read setting " + c.getName() + " of " + r.getClass().getSimpleName(), e);
            }
            String name = prefix + kebab(c.getName());
            if (v instanceof Record nested) flatten(name + ".", nested, out);
            else out.put(name, plain(v));
        }
    }

    private static Object plain(Object v) {
        if (v == null || v instanceof Number || v instanceof Boolean || v instanceof String) return v;
        if (v instanceof Enum<?> e) return e.name().toLowerCase(Locale.ROOT);
        if (v instanceof Path p) return p.toString();
        if (v instanceof Collection<?> c) {
            Set<String> s = new TreeSet<>();
            for (Object o : c) s.add(String.valueOf(plain(o)));
            return String.join(",", s);
        }
        return v.toString();
    }

    /** {@code seqLength} → {@code seq-length}. */
    static String kebab(String camel) {
        StringBuilder b = new StringBuilder();
        for (char ch : camel.toCharArray()) {
            if (Character.isUpperCase(ch)) b.append('-').append(Character.toLowerCase(ch));
            else b.append(ch);
        }
        return b.toString();
    }

    /**
     * The settings that differ between {@code stored} and {@code now}, as {@code "name: old → new"}
     * lines, ignoring the names in {@code changeable}. A setting present on one side only differs
     * ({@code (absent)} on the other).
     */
    public static List<String> differences(Map<String, String> stored, Map<String, Object> now, Set<String> changeable) {
        Set<String> names = new TreeSet<>(stored.keySet());
        names.addAll(now.keySet());
        List<String> out = new ArrayList<>();
        for (String n : names) {
            if (changeable.contains(n)) continue;
            String a = stored.containsKey(n) ? stored.get(n) : "(absent)";
            String b = now.containsKey(n) ? String.valueOf(now.get(n)) : "(absent)";
            if (!a.equals(b)) out.add(n + ": " + a + " → " + b);
        }
        return out;
    }

    /** Text form of every value, as {@link #differences} compares them. */
    public static Map<String, String> asText(Map<String, Object> settings) {
        Map<String, String> m = new LinkedHashMap<>();
        settings.forEach((k, v) -> m.put(k, String.valueOf(v)));
        return m;
    }
}
