package dev.stackllama4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.stackllama4j.ppo.PpoRun;
import dev.stackllama4j.reward.RewardConfig;
import dev.stackllama4j.rl.PpoConfig;
import java.lang.reflect.Constructor;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The resume check covers every field of every run configuration, by reflection: each field is
 * changed in turn (to the first nearby value the record accepts) and the comparison must name it,
 * so a field added to a config later is checked without anyone touching the check.
 */
class RunSettingsTest {
    static final List<Record> CONFIGS = List.of(SftConfig.defaults(), RewardConfig.defaults(), PpoConfig.defaults(), LoraConfig.defaults(),
            new PpoRun.Settings(100, 0, 1.0, 0));

    @Test
    void changingAnyFieldOfAnyConfigIsADifference() throws Exception {
        int checked = 0;
        for (Record base : CONFIGS) {
            Map<String, Object> before = RunSettings.of(base);
            RecordComponent[] comps = base.getClass().getRecordComponents();
            for (int i = 0; i < comps.length; i++) {
                for (Record changed : variants(base, i)) {
                    List<String> diff = RunSettings.differences(RunSettings.asText(before), RunSettings.of(changed), Set.of());
                    assertEquals(1, diff.size(), base.getClass().getSimpleName() + "." + comps[i].getName() + ": " + diff);
                    String key = diff.get(0).substring(0, diff.get(0).indexOf(':'));
                    assertTrue(key.equals(RunSettings.kebab(comps[i].getName())) || key.startsWith(RunSettings.kebab(comps[i].getName()) + "."),
                            comps[i].getName() + " reported as " + diff);
                    checked++;
                }
            }
        }
        assertTrue(checked >= 60, "fields checked: " + checked);
    }

    @Test
    void differencesAreListedOldToNewAndChangeableOnesAreIgnored() {
        Map<String, String> old = Map.of("lr", "1.0E-4", "lora.r", "16", "max-steps", "100", "input.sft-adapter", "/a/s.gguf (10 bytes)");
        Map<String, Object> now = Map.of("lr", 1e-3, "lora.r", 8, "max-steps", 200, "input.sft-adapter", "(none)");
        assertEquals(List.of("input.sft-adapter: /a/s.gguf (10 bytes) → (none)", "lora.r: 16 → 8", "lr: 1.0E-4 → 0.001"),
                RunSettings.differences(old, now, Set.of("max-steps")));
    }

    /** Fields that cannot change alone (the record refuses it): score-norm needs score-scaling. */
    static final Set<String> COUPLED = Set.of("PpoConfig.scoreNorm");

    /** Copies of {@code r} with component {@code i} changed, one per accepted candidate value (at most one). */
    static List<Record> variants(Record r, int i) throws Exception {
        RecordComponent[] comps = r.getClass().getRecordComponents();
        Object[] args = new Object[comps.length];
        Class<?>[] types = new Class<?>[comps.length];
        for (int k = 0; k < comps.length; k++) {
            args[k] = comps[k].getAccessor().invoke(r);
            types[k] = comps[k].getType();
        }
        Constructor<?> ctor = r.getClass().getDeclaredConstructor(types);
        for (Object candidate : candidates(args[i])) {
            Object[] a = args.clone();
            a[i] = candidate;
            try {
                return List.of((Record) ctor.newInstance(a));
            } catch (java.lang.reflect.InvocationTargetException e) {
                if (!(e.getCause() instanceof IllegalArgumentException)) throw e;
            }
        }
        String name = r.getClass().getSimpleName() + "." + comps[i].getName();
        if (COUPLED.contains(name)) return List.of();
        fail(name + ": no other value accepted; add a candidate for its type");
        return List.of();
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static List<Object> candidates(Object v) throws Exception {
        List<Object> out = new ArrayList<>();
        if (v instanceof Integer x) for (int c : new int[] {x + 1, x * 2, x + 4, x - 1, x * 4}) out.add(c);
        else if (v instanceof Long x) for (long c : new long[] {x + 1, x - 1}) out.add(c);
        else if (v instanceof Double x) for (double c : new double[] {x * 2, x / 2, x + 1, x + 0.5, 0.5, 1.5}) out.add(c);
        else if (v instanceof Float x) for (float c : new float[] {x * 2, x / 2, x + 0.25f, 0.5f}) out.add(c);
        else if (v instanceof Boolean x) out.add(!x);
        else if (v instanceof Enum<?> e) {
            for (Object c : e.getDeclaringClass().getEnumConstants()) {
                if (c != e) out.add(c);
            }
        } else if (v instanceof Set<?> s && !s.isEmpty() && s.iterator().next() instanceof Enum<?> e0) {
            EnumSet all = EnumSet.allOf((Class) e0.getDeclaringClass());
            EnumSet more = EnumSet.copyOf((Set) s);
            more.addAll(all);
            if (!more.equals(s)) out.add(more);
            else out.add(EnumSet.of((Enum) e0));
        } else if (v instanceof Record rec) {
            for (int k = 0; k < rec.getClass().getRecordComponents().length; k++) out.addAll(variants(rec, k));
            return out.subList(0, 1);
        } else fail("no candidate values for a setting of type " + (v == null ? "null" : v.getClass()));
        out.removeIf(c -> c.equals(v));
        return out;
    }
}
