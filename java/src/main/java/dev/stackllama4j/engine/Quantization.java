package dev.stackllama4j.engine;

import dev.stackllama4j.bridge.global.sl4j;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;

/** Encoding floats into a tensor type's blocks and back, exactly as ggml lays them out. */
public final class Quantization {
    private Quantization() {}

    /** Encodes {@code values} (a whole number of blocks) as {@code type}. */
    public static byte[] quantize(TensorType type, float[] values) {
        Native.load();
        long nBytes = type.rowBytes(values.length);
        try (FloatPointer src = new FloatPointer(values); BytePointer dst = new BytePointer(nBytes)) {
            Native.check(sl4j.sl4j_quantize(type.id, src, values.length, dst, nBytes));
            byte[] out = new byte[Math.toIntExact(nBytes)];
            dst.get(out);
            return out;
        }
    }

    /** Decodes {@code n} elements of {@code type} from {@code encoded}. */
    public static float[] dequantize(TensorType type, byte[] encoded, int n) {
        Native.load();
        try (BytePointer src = new BytePointer(encoded); FloatPointer dst = new FloatPointer(n)) {
            Native.check(sl4j.sl4j_dequantize(type.id, src, encoded.length, dst, n));
            float[] out = new float[n];
            dst.get(out);
            return out;
        }
    }
}
