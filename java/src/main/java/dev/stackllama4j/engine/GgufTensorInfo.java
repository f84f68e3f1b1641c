package dev.stackllama4j.engine;

/**
 * A tensor's entry in a GGUF file: dims in ggml order (dims[0] contiguous), offset relative to
 * the data section.
 */
public record GgufTensorInfo(String name, TensorType type, long[] dims, long offset, long nBytes) {
    public long elements() {
        long n = 1;
        for (long d : dims) n *= d;
        return n;
    }

    /** "[64, 512]" */
    public String shape() {
        return java.util.Arrays.toString(dims);
    }
}
