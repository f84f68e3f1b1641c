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
 * <p>Thread-safety: a model is immutable once loaded and may be shared by any number of threads.
 * Everything that varies per use belongs to a {@link Session} (one thread at a time): its KV
 * cache and its LoRA adapter. The convenience methods ({@link #logits}, {@link #logProbs},
 * {@link #hiddenStates}) make a private session per call and take the adapter as an argument.
 * {@link #close()} refuses while sessions are open; a model that is garbage-collected without
 * {@code close()} is freed with a warning.
 */
public final class LlamaModel implements AutoCloseable {
    /**
     * @param device where to run; AUTO uses a usable GPU, else the CPU. Default AUTO.
     * @param contextLength positions per sequence for sessions made by the convenience methods; 0
     *     means the model's training context. Default 0.
     */
    /**
     * How a model is loaded; fixed for the model's life, so a model shared across threads never
     * changes under them.
     *
     * @param device where the weights live (default {@link Device#AUTO})
     * @param contextLength positions a session may hold; 0: the trained context (default 0)
     * @param kvType KV cache type of the sessions this model creates (default {@link KvType#F16})
     * @param precision matmul precision of those sessions (default {@link Precision#EXACT})
     */
    public record Options(Device device, int contextLength, KvType kvType, Precision precision) {
        public Options {
            if (device == null) throw new IllegalArgumentException("device must not be null");
            if (contextLength < 0) throw new IllegalArgumentException("contextLength must be >= 0, got " + contextLength);
            if (kvType == null) throw new IllegalArgumentException("kvType must not be null");
            if (precision == null) throw new IllegalArgumentException("precision must not be null");
        }

        /** {@code device} and {@code contextLength}, the other fields at their defaults. */
        public Options(Device device, int contextLength) {
            this(device, contextLength, KvType.F16, Precision.EXACT);
        }

        public static Options defaults() {
            return new Options(Device.AUTO, 0);
        }

        public Options withKvType(KvType kv) {
            return new Options(device, contextLength, kv, precision);
        }

        public Options withPrecision(Precision p) {
            return new Options(device, contextLength, kvType, p);
        }
    }

    private static final java.util.concurrent.atomic.AtomicInteger OPEN_MODELS = new java.util.concurrent.atomic.AtomicInteger();

    private final NativeHandle<sl4j_model> handle;
    private final Path path;
    private final ModelInfo info;
    private final Options options;
    private final java.util.concurrent.atomic.AtomicInteger openSessions = new java.util.concurrent.atomic.AtomicInteger();
    private Tokenizer tokenizer;
    private volatile String trunkId;

    private LlamaModel(Path path, sl4j_model h, Options options) {
        this.path = path;
        this.handle = NativeHandle.register(this, "LlamaModel (" + path + ")", h, p -> {
            sl4j.sl4j_model_free(p);
            OPEN_MODELS.decrementAndGet();
        });
        OPEN_MODELS.incrementAndGet();
        this.options = options;
        this.info = readInfo(h);
    }

    public static LlamaModel load(Path path) {
        return load(path, Options.defaults());
    }

    /**
     * Loads a model. The CPU thread pool is process-wide and shared by every model: loading never
     * changes it (set it with {@link Backend#setThreads} before the first load).
     */
    public static LlamaModel load(Path path, Options options) {
        if (options.device() == Device.CPU) Native.load();
        else Native.prepareCuda();
        if (!Files.isRegularFile(path)) throw new EngineException.Io(path + ": no such model file");
        sl4j_model h = new sl4j_model();
        try (sl4j_model_params p = sl4j.sl4j_model_default_params(); BytePointer cpath = Native.utf8(path.toString())) {
            // The engine decides: AUTO takes a usable GPU, else the CPU; CUDA without one fails saying why.
            p.device(options.device().id);
            Native.check(sl4j.sl4j_model_load(cpath, p, h));
        }
        try {
            Native.check(sl4j.sl4j_model_check_finite(h));
        } catch (EngineException e) {
            sl4j.sl4j_model_free(h);
            throw e;
        }
        return new LlamaModel(path, h, options);
    }

    /** Models loaded and not yet freed in this process. */
    static int openModels() {
        return OPEN_MODELS.get();
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

    /** Where the weights and sessions are: {@link Device#CPU} or {@link Device#CUDA}, never AUTO. */
    public Device device() {
        return Device.fromId(sl4j.sl4j_model_device(handle()));
    }

    /** The backend in words, e.g. "CPU: 2 threads, AVX-512". */
    public String backendName() {
        return Native.str(sl4j.sl4j_model_backend_name(handle()));
    }

    /** With {@link Device#AUTO}: one line naming the device picked; otherwise "". */
    public String deviceNotice() {
        return Native.str(sl4j.sl4j_model_notice(handle()));
    }

    /** Bytes of weights in device memory: 0 on the CPU, where they stay in the mapped file. */
    public long deviceBytes() {
        return sl4j.sl4j_model_device_bytes(handle());
    }

    public ModelInfo info() {
        return info;
    }

    /** This model's {@link TrunkId} (read from the file once, then kept). */
    public String trunkId() {
        String id = trunkId;
        if (id == null) trunkId = id = TrunkId.of(path);
        return id;
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
     * A new session with a KV cache for {@code sequences} sequences of {@code context} positions, of
     * this model's {@link #kvType()}, on the base model.
     */
    public Session newSession(int sequences, int context) {
        return newSession(sequences, context, null);
    }

    /**
     * A new session whose projections run with {@code lora} (null: the base model). The adapter
     * is a property of the session: sessions of one model may use different adapters at once.
     */
    public Session newSession(int sequences, int context, LoraAdapter lora) {
        Session s = Session.create(this, sequences, context, options.kvType(), options.precision());
        if (lora != null) {
            try {
                s.setLora(lora, true);
            } catch (RuntimeException e) {
                s.close();
                throw e;
            }
        }
        return s;
    }

    /** Sessions (and trainers) made from this model and not yet closed. */
    public int openSessions() {
        return openSessions.get();
    }

    void sessionOpened() {
        openSessions.incrementAndGet();
    }

    void sessionClosed() {
        openSessions.decrementAndGet();
    }

    /** Matmul precision of this model's sessions ({@link Options#precision()}). */
    public Precision precision() {
        return options.precision();
    }

    /** KV cache type of this model's sessions ({@link Options#kvType()}). */
    public KvType kvType() {
        return options.kvType();
    }

    /** Logits for every position of one sequence: [tokens.length][vocab]. */
    public float[][] logits(int[] tokens) {
        return logits(tokens, null);
    }

    /** As {@link #logits(int[])}, with {@code lora} applied (null: the base model). */
    public float[][] logits(int[] tokens, LoraAdapter lora) {
        try (Session s = newSession(1, tokens.length, lora)) {
            s.decode(tokens, null, null, true);
            return s.logitRows();
        }
    }

    /**
     * log p(tokens[i+1] | tokens[0..i]) for i = 0..n-2: what RLHF needs from a policy and from its
     * reference. Length {@code tokens.length - 1}.
     */
    public float[] logProbs(int[] tokens) {
        return logProbs(tokens, null);
    }

    /** As {@link #logProbs(int[])}, with {@code lora} applied (null: the base model). */
    public float[] logProbs(int[] tokens, LoraAdapter lora) {
        if (tokens.length < 2) return new float[0];
        try (Session s = newSession(1, tokens.length, lora)) {
            boolean[] out = new boolean[tokens.length];
            java.util.Arrays.fill(out, 0, tokens.length - 1, true);
            s.decode(tokens, null, out, true);
            return s.logProbs(java.util.Arrays.copyOfRange(tokens, 1, tokens.length));
        }
    }

    /** Final hidden states (after the output norm) of every position: [tokens.length][dim]. */
    public float[][] hiddenStates(int[] tokens) {
        return hiddenStates(tokens, null);
    }

    /** As {@link #hiddenStates(int[])}, with {@code lora} applied (null: the base model). */
    public float[][] hiddenStates(int[] tokens, LoraAdapter lora) {
        try (Session s = newSession(1, tokens.length, lora)) {
            s.decode(tokens, null, null, false);
            return s.hiddenRows();
        }
    }

    sl4j_model handle() {
        sl4j_model h = handle.get();
        if (h == null) throw new IllegalStateException("model " + path + " is closed");
        return h;
    }

    /**
     * Frees the model. Fails with {@link IllegalStateException} while sessions or trainers made
     * from it are open (close them first); closing twice is a no-op.
     */
    @Override
    public void close() {
        int open = openSessions.get();
        if (open > 0 && handle.get() != null)
            throw new IllegalStateException("model " + path + " still has " + open
                    + " open session(s) or trainer(s); close them before the model");
        handle.close();
    }
}
