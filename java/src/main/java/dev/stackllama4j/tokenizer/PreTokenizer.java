package dev.stackllama4j.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The regex split that byte-level BPE runs before merging, chosen by {@code tokenizer.ggml.pre}.
 *
 * <p>Like llama.cpp's unicode_regex_split, a pre-tokenizer is a cascade of regexes: each one re-splits
 * every piece from the previous stage, and text a regex does not match stays as a piece of its own,
 * so no input is ever dropped. \s, \p{L}, \p{N} are Unicode classes (White_Space, letters, numbers).
 */
final class PreTokenizer {
    // Llama 3's pattern, with (?i:...) spelled out as in llama.cpp (the regex engines differ on it)
    static final String LLAMA3 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    // GPT-2's pattern as llama.cpp has it: without the final |\s+, whose matches the cascade keeps anyway
    static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
    // llama.cpp's fallback for a missing or "default" tokenizer.ggml.pre
    static final String[] DEFAULT = {
        "[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]",
    };

    private static final String SUPPORTED = "llama3, llama-v3, llama-bpe, falcon3, gpt-2, gpt2, default";

    private final String name;
    private final Pattern[] cascade;

    private PreTokenizer(String name, String... regexes) {
        this.name = name;
        this.cascade = new Pattern[regexes.length];
        for (int i = 0; i < regexes.length; i++) {
            cascade[i] = Pattern.compile(regexes[i], Pattern.UNICODE_CHARACTER_CLASS);
        }
    }

    static boolean isLlama3(String name) {
        switch (name) {
            case "llama3": case "llama-v3": case "llama-bpe": case "falcon3": return true;
            default: return false;
        }
    }

    static PreTokenizer forName(String name, String source) {
        if (name == null || name.isEmpty() || name.equals("default")) {
            return new PreTokenizer("default", DEFAULT);
        }
        if (isLlama3(name)) {
            return new PreTokenizer(name, LLAMA3);
        }
        if (name.equals("gpt-2") || name.equals("gpt2")) {
            return new PreTokenizer(name, GPT2);
        }
        throw new IllegalArgumentException(source + ": unknown pre-tokenizer '" + name + "' ("
                + Vocabulary.KEY_PRE + "); supported: " + SUPPORTED);
    }

    String name() {
        return name;
    }

    List<String> split(String text) {
        List<String> pieces = new ArrayList<>();
        if (text.isEmpty()) {
            return pieces;
        }
        pieces.add(text);
        for (Pattern p : cascade) {
            List<String> next = new ArrayList<>(pieces.size() * 2);
            for (String piece : pieces) {
                splitOne(p, piece, next);
            }
            pieces = next;
        }
        return pieces;
    }

    private static void splitOne(Pattern p, String s, List<String> out) {
        Matcher m = p.matcher(s);
        int last = 0;
        while (m.find()) {
            if (m.end() == m.start()) {
                continue; // none of our patterns match empty, but a zero-width match must not loop or split
            }
            if (m.start() > last) {
                out.add(s.substring(last, m.start()));
            }
            out.add(s.substring(m.start(), m.end()));
            last = m.end();
        }
        if (last < s.length()) {
            out.add(s.substring(last));
        }
    }
}
