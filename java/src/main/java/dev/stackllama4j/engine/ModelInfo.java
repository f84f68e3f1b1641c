package dev.stackllama4j.engine;

/** A loaded model's hyper-parameters (from the GGUF's {@code llama.*} metadata). */
public record ModelInfo(long vocab, long dim, long layers, long heads, long kvHeads, long headDim, long ffn, long rotDims,
                        long trainContext, double ropeBase, double rmsEps, boolean tiedOutput, TensorType weightType) {}
