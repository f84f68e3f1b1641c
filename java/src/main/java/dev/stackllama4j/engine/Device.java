package dev.stackllama4j.engine;

import java.util.Locale;

/** Where computation runs. {@link #AUTO} picks a usable CUDA GPU, else the CPU (with a notice). */
public enum Device {
    CPU(0), CUDA(1), AUTO(2);

    final int id;

    Device(int id) {
        this.id = id;
    }

    static Device fromId(int id) {
        for (Device d : values()) if (d.id == id) return d;
        throw new IllegalStateException("unknown device id " + id);
    }

    public static Device parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown device '" + s + "' (expected cpu, cuda or auto)");
        }
    }
}
