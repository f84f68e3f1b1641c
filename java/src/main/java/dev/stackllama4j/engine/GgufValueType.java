package dev.stackllama4j.engine;

/** GGUF metadata value types, with the ids the file format uses. */
public enum GgufValueType {
    UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64;

    public final int id() {
        return ordinal();
    }

    public static GgufValueType fromId(int id) {
        if (id < 0 || id >= values().length) throw new EngineException.Format("unknown GGUF value type " + id);
        return values()[id];
    }

    public boolean isInteger() {
        return this != FLOAT32 && this != FLOAT64 && this != BOOL && this != STRING && this != ARRAY;
    }

    public boolean isFloat() {
        return this == FLOAT32 || this == FLOAT64;
    }
}
