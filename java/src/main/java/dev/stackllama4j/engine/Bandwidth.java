package dev.stackllama4j.engine;

import dev.stackllama4j.bridge.global.sl4j;

/** The machine's memory bandwidth, measured by the native CPU pool: reads (the decode floor) and copies. */
public final class Bandwidth {
    private Bandwidth() {}

    /** Best-of-{@code repeats} GB/s reading a buffer of {@code bytes} (use far more than the caches). */
    public static double measureGBps(long bytes, int repeats) {
        Native.load();
        double[] out = new double[1];
        Native.check(sl4j.sl4j_measure_read_bandwidth(bytes, repeats, out));
        return out[0];
    }

    /**
     * Best-of-{@code repeats} GB/s copying {@code bytes} between two buffers, counted as STREAM's
     * Copy counts it: bytes read plus bytes written.
     */
    public static double measureCopyGBps(long bytes, int repeats) {
        Native.load();
        double[] out = new double[1];
        Native.check(sl4j.sl4j_measure_copy_bandwidth(bytes, repeats, out));
        return out[0];
    }
}
