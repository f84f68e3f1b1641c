package dev.stackllama4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackllama4j.engine.FullWeights;
import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.GgufWriter;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.Trainable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A training checkpoint in one GGUF file (so one atomic rename commits it): the adapter (or, for
 * full-parameter training, every weight), its AdamW moments, and the run's state as JSON under {@code stackllama4j.train_state} (steps done, data
 * cursor, AdamW step count, dropout counter, and the settings a resume must match).
 */
public final class Checkpoint {
    public static final String KEY_STATE = "stackllama4j.train_state";
    private static final ObjectMapper JSON = new ObjectMapper();

    private Checkpoint() {}

    public static void save(Path path, Trainable params, Map<String, Object> state) {
        GgufWriter writer;
        if (params instanceof LoraAdapter lora) {
            writer = AdapterFile.writer(lora, true);
        } else {
            writer = new GgufWriter();
            writer.putString("general.type", "checkpoint");
            AdapterFile.addTensors(writer, params, true);
        }
        try (GgufWriter w = writer) {
            write(path, w, state);
        }
    }

    /** Adds {@code state} to a prepared writer (adapter and any extra tensors) and writes it atomically. */
    public static void write(Path path, GgufWriter w, Map<String, Object> state) {
        try {
            w.putString(KEY_STATE, JSON.writeValueAsString(state));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        w.write(path);
    }

    /** Every weight with its optimizer state, from a full-parameter checkpoint of this model. */
    public static FullWeights loadFull(Path path, LlamaModel model, long adamwSteps) {
        FullWeights full = FullWeights.create(model);
        try (GgufFile f = GgufFile.open(path)) {
            AdapterFile.restoreInto(f, full, true);
            full.setAdamwSteps(adamwSteps);
            return full;
        } catch (RuntimeException e) {
            full.close();
            throw e;
        }
    }

    /** The adapter with its optimizer state, {@code adamwSteps} taken from the validated state. */
    public static LoraAdapter load(Path path, LlamaModel model, long adamwSteps) {
        LoraAdapter lora = AdapterFile.load(path, model, true);
        lora.setAdamwSteps(adamwSteps);
        return lora;
    }

    /**
     * A checkpoint's JSON state, read with validation: every read names the checkpoint, the field
     * and what was expected, so a damaged or foreign state ({@code {}}, a step past the run's end,
     * a negative cursor) is refused with a message instead of failing later.
     */
    public static final class State {
        private final Path path;
        private final JsonNode root;

        private State(Path path, JsonNode root) {
            this.path = path;
            this.root = root;
        }

        public static State read(Path path) {
            String text;
            try (GgufFile f = GgufFile.open(path)) {
                if (!f.has(KEY_STATE))
                    throw new IllegalArgumentException(path + ": not a training checkpoint (no " + KEY_STATE + " metadata)");
                text = f.getString(KEY_STATE);
            }
            JsonNode root;
            try {
                root = JSON.readTree(text);
            } catch (IOException e) {
                throw new IllegalArgumentException(path + ": " + KEY_STATE + " is not valid JSON");
            }
            if (root == null || !root.isObject()) throw new IllegalArgumentException(path + ": " + KEY_STATE + " is not a JSON object");
            return new State(path, root);
        }

        private JsonNode field(String name, String expected) {
            JsonNode v = root.get(name);
            if (v == null || v.isNull())
                throw new IllegalArgumentException(path + ": checkpoint state has no '" + name + "' (expected " + expected + ")");
            return v;
        }

        /** An integer in [min, max]. */
        public long integer(String name, long min, long max) {
            String expected = "an integer in [" + min + ", " + max + "]";
            JsonNode v = field(name, expected);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max)
                throw new IllegalArgumentException(path + ": checkpoint state '" + name + "' is " + v + ", expected " + expected);
            return v.asLong();
        }

        /** A finite number. */
        public double number(String name) {
            JsonNode v = field(name, "a finite number");
            if (!v.isNumber() || !Double.isFinite(v.asDouble()))
                throw new IllegalArgumentException(path + ": checkpoint state '" + name + "' is " + v + ", expected a finite number");
            return v.asDouble();
        }

        /** An array of {@code length} finite numbers (length -1: any). */
        public double[] numbers(String name, int length) {
            JsonNode v = field(name, "an array of numbers");
            if (!v.isArray() || (length >= 0 && v.size() != length))
                throw new IllegalArgumentException(path + ": checkpoint state '" + name + "' should be an array of "
                        + (length >= 0 ? length + " " : "") + "numbers");
            double[] out = new double[v.size()];
            for (int i = 0; i < out.length; i++) {
                JsonNode x = v.get(i);
                if (!x.isNumber() || !Double.isFinite(x.asDouble()))
                    throw new IllegalArgumentException(path + ": checkpoint state '" + name + "'[" + i + "] is " + x + ", expected a finite number");
                out[i] = x.asDouble();
            }
            return out;
        }

        /** An array of arrays of {@code width} finite numbers. */
        public double[][] rows(String name, int width) {
            JsonNode v = field(name, "an array of arrays");
            if (!v.isArray()) throw new IllegalArgumentException(path + ": checkpoint state '" + name + "' should be an array");
            double[][] out = new double[v.size()][];
            for (int i = 0; i < out.length; i++) {
                JsonNode r = v.get(i);
                if (!r.isArray() || r.size() != width)
                    throw new IllegalArgumentException(path + ": checkpoint state '" + name + "'[" + i + "] should be " + width + " numbers");
                out[i] = new double[width];
                for (int j = 0; j < width; j++) {
                    if (!r.get(j).isNumber())
                        throw new IllegalArgumentException(path + ": checkpoint state '" + name + "'[" + i + "][" + j + "] is not a number");
                    out[i][j] = r.get(j).asDouble();
                }
            }
            return out;
        }

        /** The settings record (name → text of the value). */
        public Map<String, String> settings(String name) {
            JsonNode v = root.get(name);
            if (v == null || !v.isObject())
                throw new IllegalArgumentException(path + ": the checkpoint holds no settings record ('" + name
                        + "'), so a resume cannot be checked against it; start a new run (--overwrite)");
            Map<String, String> out = new java.util.LinkedHashMap<>();
            v.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().isNull() ? "null" : e.getValue().asText()));
            return out;
        }

        public Path path() {
            return path;
        }
    }
}
