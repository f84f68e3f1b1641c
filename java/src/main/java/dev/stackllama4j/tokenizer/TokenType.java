package dev.stackllama4j.tokenizer;

/** llama.cpp / GGUF token types ({@code tokenizer.ggml.token_type}). */
public final class TokenType {
    public static final int UNDEFINED = 0;
    public static final int NORMAL = 1;
    public static final int UNKNOWN = 2;
    public static final int CONTROL = 3;
    public static final int USER_DEFINED = 4;
    public static final int UNUSED = 5;
    public static final int BYTE = 6;

    private TokenType() {}

    public static String name(int type) {
        switch (type) {
            case UNDEFINED: return "undefined";
            case NORMAL: return "normal";
            case UNKNOWN: return "unknown";
            case CONTROL: return "control";
            case USER_DEFINED: return "user-defined";
            case UNUSED: return "unused";
            case BYTE: return "byte";
            default: return "type " + type;
        }
    }
}
