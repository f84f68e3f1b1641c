package dev.stackllama4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.GgufWriter;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A training checkpoint in one GGUF file (so one atomic rename commits it): the adapter, its AdamW
 * moments, and the run's state as JSON under {@code stackllama4j.train_state} (steps done, data
 * cursor, AdamW step count, dropout counter, and the settings a resume must match).
 */
public final class Checkpoint {
    public static final String KEY_STATE = "stackllama4j.train_state";
    private static final ObjectMapper JSON = new ObjectMapper();

    private Checkpoint() {}

    public static void save(Path path, LoraAdapter lora, Map<String, Object> state) {
        try (GgufWriter w = AdapterFile.writer(lora, true)) {
            w.putString(KEY_STATE, JSON.writeValueAsString(state));
            w.write(path);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The adapter with its optimizer state; {@code state} receives the JSON state. */
    public static LoraAdapter load(Path path, LlamaModel model, JsonNode[] state) {
        try (GgufFile f = GgufFile.open(path)) {
            state[0] = JSON.readTree(f.getString(KEY_STATE));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        LoraAdapter lora = AdapterFile.load(path, model, true);
        lora.setAdamwSteps(state[0].get("adamw_steps").asLong());
        return lora;
    }
}
