package dev.stackllama4j.engine;

import dev.stackllama4j.bridge.global.sl4j;
import dev.stackllama4j.bridge.sl4j_model;
import dev.stackllama4j.bridge.sl4j_model_info;
import dev.stackllama4j.bridge.sl4j_model_params;
import dev.stackllama4j.tokenizer.Tokenizer;
import dev.stackllama4j.tokenizer.Vocabulary;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.BytePointer;

/**
 * A LLaMA-architecture model loaded from GGUF. Weights stay memory-mapped in their stored type.
 *
 * <p>Thread-safety: a model is immutable once loaded and may be shared by any number of threads,
 * each using its own {@link Session}. Close the model only after all its sessions.
 */
public final class LlamaModel implements AutoCloseable {
    /**
     * @param threads CPU threads for the process-wide pool; 0 keeps the current setting (default one
     *     per core)
     * @param device where to run; AUTO uses a usable GPU, else the CPU
     * @param contextLength positions per sequence for sessions made by the convenience methods; 0
     *     means the model's training context
     */
    public record Options(int threads, Device device, int contextLength) {
        public Options {
            if (threads < 0) throw new IllegalArgumentException("threads must be >= 0, got " + threads);
            if (contextLength < 0) throw new IllegalArgumentException("contextLength must be >= 0, got " + contextLength);
        }

        public static Options defaults() {
            return new Options(0, Device.AUTO, 0);
        }
    }

    private sl4j_model handle;
    private final Path path;
    private final ModelInfo info;
    private final Options options;
    private Tokenizer tokenizer;
    private volatile LoraAdapter adapter;
    private volatile KvType kvType = KvType.F16;

    private LlamaModel(Path path, sl4j_model handle, Options options) {
        this.path = path;
        this.handle = handle;
        this.options = options;
        this.info = readInfo(handle);
    }

    public static LlamaModel load(Path path) {
        return load(path, Options.defaults());
    }

    public static LlamaModel load(Path path, Options options) {
        Native.load();
        if (!Files.isRegularFile(path)) throw new EngineException.Io(path + ": no such model file");
        if (options.threads() > 0) Backend.setThreads(options.threads());
        sl4j_model h = new sl4j_model();
        try (sl4j_model_params p = sl4j.sl4j_model_default_params(); BytePointer cpath = Native.utf8(path.toString())) {
            // The engine decides: AUTO runs on the CPU in this version, CUDA is refused with a message.
            p.device(options.device().id);
            Native.check(sl4j.sl4j_model_load(cpath, p, h));
        }
        return new LlamaModel(path, h, options);
    }

    private static ModelInfo readInfo(sl4j_model h) {
        try (sl4j_model_info i = new sl4j_model_info()) {
            Native.check(sl4j.sl4j_model_get_info(h, i));
            return new ModelInfo(i.n_vocab(), i.dim(), i.n_layers(), i.n_heads(), i.n_kv_heads(), i.head_dim(), i.ffn(),
                    i.n_rot(), i.n_ctx_train(), i.rope_base(), i.rms_eps(), i.tied_output() != 0,
                    TensorType.fromId(i.weight_type()));
        }
    }

    public Path path() {
        return path;
    }

    public ModelInfo info() {
        return info;
    }

    /** The tokenizer stored in the file's {@code tokenizer.ggml.*} metadata (built once, thread-safe). */
    public synchronized Tokenizer tokenizer() {
        if (tokenizer == null) {
            try (GgufFile f = GgufFile.open(path)) {
                tokenizer = Tokenizer.forVocabulary(Vocabulary.fromMetadata(f));
            }
        }
        return tokenizer;
    }

    /** Context length used by the convenience methods and by default sessions. */
    public int contextLength() {
        return options.contextLength() > 0 ? options.contextLength() : (int) Math.min(info.trainContext(), 1 << 20);
    }

    /**
     * A new session with a KV cache for {@code sequences} sequences of {@code context} positions,
     * of this model's {@link #kvType()}.
     */
    public Session newSession(int sequences, int context) {
        Session s = Session.create(this, sequences, context, kvType);
        LoraAdapter a = adapter;
        if (a != null) s.setLora(a, true);
        return s;
    }

    /**
     * Applies {@code lora} (merged on the fly) in every session created from now on, and in the
     * convenience methods; null goes back to the base model. The caller keeps ownership of the
     * adapter and must keep it open while sessions use it.
     */
    public void useAdapter(LoraAdapter lora) {
        this.adapter = lora;
    }

    public LoraAdapter adapter() {
        return adapter;
    }

    /** KV cache type of every session created from now on (default {@link KvType#F16}). */
    public void useKvType(KvType kv) {
        this.kvType = java.util.Objects.requireNonNull(kv);
    }

    public KvType kvType() {
        return kvType;
    }

    /** Logits for every position of one sequence: [tokens.length][vocab]. */
    public float[][] logits(int[] tokens) {
        try (Session s = newSession(1, tokens.length)) {
            s.decode(tokens, null, null, true);
            return s.logitRows();
        }
    }

    /**
     * log p(tokens[i+1] | tokens[0..i]) for i = 0..n-2: what RLHF needs from a policy and from its
     * reference. Length {@code tokens.length - 1}.
     */
    public float[] logProbs(int[] tokens) {
        if (tokens.length < 2) return new float[0];
        try (Session s = newSession(1, tokens.length)) {
            boolean[] out = new boolean[tokens.length];
            java.util.Arrays.fill(out, 0, tokens.length - 1, true);
            s.decode(tokens, null, out, true);
            return s.logProbs(java.util.Arrays.copyOfRange(tokens, 1, tokens.length));
        }
    }

    /** Final hidden states (after the output norm) of every position: [tokens.length][dim]. */
    public float[][] hiddenStates(int[] tokens) {
        try (Session s = newSession(1, tokens.length)) {
            s.decode(tokens, null, null, false);
            return s.hiddenRows();
        }
    }

    sl4j_model handle() {
        if (handle == null) throw new IllegalStateException("model " + path + " is closed");
        return handle;
    }

    @Override
    public void close() {
        if (handle != null) {
            sl4j.sl4j_model_free(handle);
            handle = null;
        }
    }
}
