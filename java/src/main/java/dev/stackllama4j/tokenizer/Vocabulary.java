package dev.stackllama4j.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * An immutable LLaMA-family vocabulary, as llama.cpp reads it from GGUF {@code tokenizer.ggml.*} keys.
 *
 * <p>Two models are supported: {@code "llama"} (SentencePiece-style, score-driven merges, byte fallback)
 * and {@code "gpt2"} (byte-level BPE with ranked merges and a regex pre-tokenizer named by
 * {@code tokenizer.ggml.pre}). Special ids are -1 when the vocabulary has none.
 *
 * <p>Defaults follow llama.cpp where a key is absent: for "llama" BOS 1, EOS 2, UNK 0, add_bos true,
 * add_space_prefix true; for "gpt2" no special ids (llama.cpp guesses 11, which is only right for
 * GPT-2 itself), add_bos true only for the llama3 pre-tokenizer, add_space_prefix false. A special id
 * outside the vocabulary is ignored with a warning, as llama.cpp does (some fine-tunes declare a pad
 * id equal to the vocabulary size).
 */
public final class Vocabulary {
    public static final String MODEL_SPM = "llama";
    public static final String MODEL_BPE = "gpt2";

    static final String KEY_MODEL = "tokenizer.ggml.model";
    static final String KEY_PRE = "tokenizer.ggml.pre";
    static final String KEY_TOKENS = "tokenizer.ggml.tokens";
    static final String KEY_SCORES = "tokenizer.ggml.scores";
    static final String KEY_TYPES = "tokenizer.ggml.token_type";
    static final String KEY_MERGES = "tokenizer.ggml.merges";
    static final String KEY_BOS = "tokenizer.ggml.bos_token_id";
    static final String KEY_EOS = "tokenizer.ggml.eos_token_id";
    static final String KEY_UNK = "tokenizer.ggml.unknown_token_id";
    static final String KEY_PAD = "tokenizer.ggml.padding_token_id";
    static final String KEY_ADD_BOS = "tokenizer.ggml.add_bos_token";
    static final String KEY_ADD_EOS = "tokenizer.ggml.add_eos_token";
    static final String KEY_ADD_SPACE = "tokenizer.ggml.add_space_prefix";

    private final String source;
    private final String model;
    private final String preTokenizer;
    private final String[] tokens;
    private final float[] scores;
    private final int[] types;
    private final String[] merges;
    private final int bos, eos, unk, pad;
    private final boolean addBos, addEos, addSpacePrefix;
    private final List<String> warnings;

    private Vocabulary(Builder b) {
        this.source = b.source;
        this.model = b.model;
        this.preTokenizer = b.preTokenizer == null ? "" : b.preTokenizer;
        if (!MODEL_SPM.equals(model) && !MODEL_BPE.equals(model)) {
            throw new IllegalArgumentException(source + ": unsupported tokenizer model '" + model + "' ("
                    + KEY_MODEL + "): expected 'llama' (SentencePiece) or 'gpt2' (byte-level BPE)");
        }
        if (b.tokens == null || b.tokens.length == 0) {
            throw new IllegalArgumentException(source + ": " + KEY_TOKENS + " is missing or empty");
        }
        int n = b.tokens.length;
        this.tokens = new String[n];
        for (int i = 0; i < n; i++) {
            String t = b.tokens[i];
            // llama.cpp renames empty entries so that every id has a distinct, printable text
            tokens[i] = (t == null || t.isEmpty()) ? "[EMPTY_" + i + "]" : t;
        }
        if (b.scores != null && b.scores.length != n) {
            throw new IllegalArgumentException(source + ": " + KEY_SCORES + " has " + b.scores.length
                    + " entries, expected one per token (" + n + ")");
        }
        if (b.types != null && b.types.length != n) {
            throw new IllegalArgumentException(source + ": " + KEY_TYPES + " has " + b.types.length
                    + " entries, expected one per token (" + n + ")");
        }
        this.scores = b.scores == null ? new float[n] : b.scores.clone();
        if (b.types == null) {
            this.types = new int[n];
            Arrays.fill(types, TokenType.NORMAL);
        } else {
            this.types = b.types.clone();
        }
        this.merges = b.merges == null ? new String[0] : b.merges.clone();
        if (MODEL_BPE.equals(model) && b.merges == null) {
            throw new IllegalArgumentException(source + ": " + KEY_MERGES + " is missing; a 'gpt2' vocabulary needs merges");
        }
        boolean spm = MODEL_SPM.equals(model);
        List<String> warn = new ArrayList<>();
        this.bos = checkId(b.bos, spm ? 1 : -1, KEY_BOS, n, warn);
        this.eos = checkId(b.eos, spm ? 2 : -1, KEY_EOS, n, warn);
        this.unk = checkId(b.unk, spm ? 0 : -1, KEY_UNK, n, warn);
        this.pad = checkId(b.pad, -1, KEY_PAD, n, warn);
        boolean llama3 = !spm && PreTokenizer.isLlama3(preTokenizer);
        this.addBos = b.addBos != null ? b.addBos : (spm || llama3);
        this.addEos = b.addEos != null ? b.addEos : false;
        this.addSpacePrefix = b.addSpacePrefix != null ? b.addSpacePrefix : spm;
        this.warnings = Collections.unmodifiableList(warn);
        if (!spm) {
            PreTokenizer.forName(preTokenizer, source); // fail at load time on an unknown name
        }
    }

    private int checkId(Long id, int dflt, String key, int n, List<String> warn) {
        if (id == null) {
            return dflt < n ? dflt : -1;
        }
        if (id < 0 || id >= n) {
            warn.add(source + ": " + key + " = " + id + " is outside the vocabulary (0.." + (n - 1)
                    + "), using " + (dflt < n ? dflt : -1));
            return dflt < n ? dflt : -1;
        }
        return (int) (long) id;
    }

    /** Builds a vocabulary from GGUF {@code tokenizer.ggml.*} metadata. */
    public static Vocabulary fromMetadata(MetadataSource md) {
        String src = md.sourceName();
        if (!md.has(KEY_MODEL)) {
            throw new IllegalArgumentException(src + ": no " + KEY_MODEL + " key; the file carries no tokenizer");
        }
        if (!md.has(KEY_TOKENS)) {
            throw new IllegalArgumentException(src + ": no " + KEY_TOKENS + " key; the file carries no vocabulary");
        }
        Builder b = new Builder(md.getString(KEY_MODEL), md.getStringArray(KEY_TOKENS)).source(src);
        if (md.has(KEY_PRE)) b.preTokenizer(md.getString(KEY_PRE));
        if (md.has(KEY_SCORES)) b.scores(md.getFloatArray(KEY_SCORES));
        if (md.has(KEY_TYPES)) b.tokenTypes(md.getIntArray(KEY_TYPES));
        if (md.has(KEY_MERGES)) b.merges(md.getStringArray(KEY_MERGES));
        if (md.has(KEY_BOS)) b.bos(md.getLong(KEY_BOS));
        if (md.has(KEY_EOS)) b.eos(md.getLong(KEY_EOS));
        if (md.has(KEY_UNK)) b.unk(md.getLong(KEY_UNK));
        if (md.has(KEY_PAD)) b.pad(md.getLong(KEY_PAD));
        if (md.has(KEY_ADD_BOS)) b.addBos(md.getBool(KEY_ADD_BOS));
        if (md.has(KEY_ADD_EOS)) b.addEos(md.getBool(KEY_ADD_EOS));
        if (md.has(KEY_ADD_SPACE)) b.addSpacePrefix(md.getBool(KEY_ADD_SPACE));
        return b.build();
    }

    public static Builder builder(String model, String[] tokens) {
        return new Builder(model, tokens);
    }

    /** For hand-built vocabularies (tests, converters). Unset fields take the defaults described above. */
    public static final class Builder {
        private final String model;
        private final String[] tokens;
        private String source = "in-memory vocabulary";
        private String preTokenizer;
        private float[] scores;
        private int[] types;
        private String[] merges;
        private Long bos, eos, unk, pad;
        private Boolean addBos, addEos, addSpacePrefix;

        private Builder(String model, String[] tokens) {
            this.model = model;
            this.tokens = tokens;
        }

        public Builder source(String s) { this.source = s; return this; }
        public Builder preTokenizer(String p) { this.preTokenizer = p; return this; }
        public Builder scores(float[] s) { this.scores = s; return this; }
        public Builder tokenTypes(int[] t) { this.types = t; return this; }
        public Builder merges(String[] m) { this.merges = m; return this; }
        public Builder bos(long id) { this.bos = id; return this; }
        public Builder eos(long id) { this.eos = id; return this; }
        public Builder unk(long id) { this.unk = id; return this; }
        public Builder pad(long id) { this.pad = id; return this; }
        public Builder addBos(boolean v) { this.addBos = v; return this; }
        public Builder addEos(boolean v) { this.addEos = v; return this; }
        public Builder addSpacePrefix(boolean v) { this.addSpacePrefix = v; return this; }

        public Vocabulary build() {
            return new Vocabulary(this);
        }
    }

    public String source() { return source; }
    public String model() { return model; }
    public boolean isSpm() { return MODEL_SPM.equals(model); }
    /** {@code tokenizer.ggml.pre}, or "" when absent. */
    public String preTokenizer() { return preTokenizer; }
    public int size() { return tokens.length; }
    public String token(int id) { return tokens[checkRange(id)]; }
    public float score(int id) { return scores[checkRange(id)]; }
    public int tokenType(int id) { return types[checkRange(id)]; }
    public int mergeCount() { return merges.length; }
    public String merge(int rank) { return merges[rank]; }
    public int bos() { return bos; }
    public int eos() { return eos; }
    public int unk() { return unk; }
    public int pad() { return pad; }
    public boolean addBos() { return addBos; }
    public boolean addEos() { return addEos; }
    public boolean addSpacePrefix() { return addSpacePrefix; }
    public List<String> warnings() { return warnings; }

    int checkRange(int id) {
        if (id < 0 || id >= tokens.length) {
            throw new IllegalArgumentException(source + ": token id " + id + " is outside the vocabulary (0.."
                    + (tokens.length - 1) + ")");
        }
        return id;
    }

    @Override
    public String toString() {
        return "Vocabulary[" + model + (preTokenizer.isEmpty() ? "" : "/" + preTokenizer) + ", " + tokens.length
                + " tokens, " + merges.length + " merges, bos " + bos + ", eos " + eos + ", unk " + unk + "]";
    }
}
