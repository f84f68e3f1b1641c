package dev.stackllama4j.engine;

import dev.stackllama4j.bridge.global.sl4j;
import dev.stackllama4j.bridge.sl4j_backend;
import dev.stackllama4j.bridge.sl4j_backend_params;

/**
 * A compute device and the memory it owns. Tensors created from a backend live on it and every
 * op runs there. Not thread-safe: use one backend per thread or synchronise. Freed on close, or
 * with a warning when garbage-collected open.
 */
public final class Backend implements AutoCloseable {
    private final NativeHandle<sl4j_backend> handle;

    private Backend(sl4j_backend handle) {
        this.handle = NativeHandle.register(this, "Backend", handle, sl4j::sl4j_backend_free);
    }

    public static Backend open(Device device) {
        if (device == Device.CPU) Native.load();
        else Native.prepareCuda();
        try (sl4j_backend_params p = sl4j.sl4j_backend_default_params()) {
            p.device(device.id);
            sl4j_backend h = new sl4j_backend();
            Native.check(sl4j.sl4j_backend_init(p, h));
            return new Backend(h);
        }
    }

    /** The device in use (never AUTO). */
    public Device device() {
        return Device.fromId(sl4j.sl4j_backend_device(handle()));
    }

    /** E.g. "CPU: 2 threads, avx512". */
    public String name() {
        return Native.str(sl4j.sl4j_backend_name(handle()));
    }

    /** A one-line notice about a fallback (AUTO without a GPU), or "". */
    public String notice() {
        return Native.str(sl4j.sl4j_backend_notice(handle()));
    }

    /** Number of usable CUDA GPUs (0 without the CUDA plugin, runtime, driver or device). */
    public static int cudaDeviceCount() {
        Native.prepareCuda();
        return sl4j.sl4j_cuda_device_count();
    }

    /**
     * The CPU kernels matrix products have run on since the previous call, comma-separated, as
     * op:weight-type/level (gemv/gemm: the exact decode and prefill paths; qgemv/qgemm: the fast
     * precision's integer decode and tiled prefill; qgemm_rows: its prefill where the level has no
     * tile; qgemv_repacked / qgemm_repacked: the same on weights the model repacked at load for it,
     * Q4_0), e.g. {@code "qgemm:q4_K/avx512vnni"}; clears the record.
     */
    public static String kernelsRan() {
        Native.load();
        return Native.str(sl4j.sl4j_kernels_ran());
    }

    /**
     * Whether the fast precision's prefill may run on AMX tiles (kernels named {@code .../amx}), and
     * why not: {@code "amx: int8, bf16 (self-test passed)"}, {@code "amx: unavailable (no
     * AMX-TILE)"}, {@code "amx: refused by kernel (errno …)"}, {@code "amx: off (SL4J_AMX=0)"}.
     */
    public static String amxStatus() {
        Native.load();
        return Native.str(sl4j.sl4j_amx_status());
    }

    /** Build and CPU summary: SIMD level, threads, usable CUDA devices (or why there are none). */
    public static String systemInfo() {
        Native.prepareCuda();
        return Native.str(sl4j.sl4j_system_info());
    }

    /**
     * Threads of the process-wide CPU pool (0 = one per core). The pool is shared by every model,
     * so this is refused with {@link IllegalStateException} while a model is loaded: set it once,
     * before the first {@link LlamaModel#load}. Setting the current value is always allowed.
     */
    public static void setThreads(int n) {
        Native.load();
        if (n < 0) throw new IllegalArgumentException("threads must be >= 0, got " + n);
        int open = LlamaModel.openModels();
        if (open > 0) {
            if (n == threads()) return;  // nothing to change: the running pool stays as it is
            throw new IllegalStateException("the CPU thread pool is shared by the " + open
                    + " loaded model(s); set the thread count before loading the first model");
        }
        Native.check(sl4j.sl4j_set_threads(n));
    }

    public static int threads() {
        Native.load();
        return sl4j.sl4j_get_threads();
    }

    sl4j_backend handle() {
        sl4j_backend p = handle.get();
        if (p == null) throw new IllegalStateException("backend is closed");
        return p;
    }

    @Override
    public void close() {
        handle.close();
    }
}
