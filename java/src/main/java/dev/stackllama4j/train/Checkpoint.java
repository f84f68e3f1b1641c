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

    /** The JSON state of a checkpoint file. */
    public static JsonNode readState(Path path) {
        try (GgufFile f = GgufFile.open(path)) {
            return JSON.readTree(f.getString(KEY_STATE));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every weight with its optimizer state, from a full-parameter checkpoint of this model. */
    public static FullWeights loadFull(Path path, LlamaModel model, JsonNode[] state) {
        state[0] = readState(path);
        FullWeights full = FullWeights.create(model);
        try (GgufFile f = GgufFile.open(path)) {
            AdapterFile.restoreInto(f, full, true);
            full.setAdamwSteps(state[0].get("adamw_steps").asLong());
            return full;
        } catch (RuntimeException e) {
            full.close();
            throw e;
        }
    }

    /** The adapter with its optimizer state; {@code state} receives the JSON state. */
    public static LoraAdapter load(Path path, LlamaModel model, JsonNode[] state) {
        state[0] = readState(path);
        LoraAdapter lora = AdapterFile.load(path, model, true);
        lora.setAdamwSteps(state[0].get("adamw_steps").asLong());
        return lora;
    }
}
