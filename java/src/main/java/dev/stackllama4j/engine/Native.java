package dev.stackllama4j.engine;

import dev.stackllama4j.bridge.global.sl4j;
import dev.stackllama4j.bridge.sl4j_backend;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;

/** Loads the native library once and turns status codes into exceptions. Package-private glue. */
final class Native {
    private Native() {}

    private static volatile boolean loaded;

    static void load() {
        if (loaded) return;
        synchronized (Native.class) {
            if (loaded) return;
            try {
                Loader.load(sl4j.class);
            } catch (UnsatisfiedLinkError e) {
                throw new EngineException.Internal(-1, "the stackllama4j native library could not be loaded for "
                        + Loader.getPlatform() + ": " + e.getMessage());
            }
            loaded = true;
        }
    }

    private static volatile boolean cudaPrepared;

    /**
     * Called before the engine is first asked for CUDA (device CUDA or AUTO, the device count). The
     * engine's CUDA backend is a plugin, {@code libstackllama4j_cuda.so}, linked to the CUDA runtime
     * {@code libcudart.so.13}; the CPU path never loads either. This loads the runtime through
     * JavaCPP's presets ({@code org.bytedeco:cuda}: from the {@code cuda-redist} jar when it is on the
     * class path, else an installed one), so that a machine with only the NVIDIA driver needs no
     * toolkit, and tells the engine where the plugin is (extracted from this jar beside the main
     * library). Nothing here throws: when CUDA is unusable the engine says why once it is asked for.
     */
    static void prepareCuda() {
        load();
        if (cudaPrepared) return;
        synchronized (Native.class) {
            if (cudaPrepared) return;
            String runtimeHint = loadCudaRuntime();
            String plugin = cudaPluginPath();
            try (BytePointer p = plugin == null ? null : utf8(plugin); BytePointer h = utf8(runtimeHint)) {
                check(sl4j.sl4j_cuda_configure(p, h));
            }
            cudaPrepared = true;
        }
    }

    /**
     * Loads libcudart.so.13 through {@code Loader.load(cudart.class)}; returns the sentence the engine
     * gives if its plugin still cannot find the runtime. Loading the presets' JNI glue also needs the
     * driver's libcuda.so.1, so on a machine without a driver it fails after libcudart.so.13 itself
     * was loaded: that is all the plugin needs, and the engine then reports the missing driver.
     */
    private static String loadCudaRuntime() {
        String redistRuntime = "/org/bytedeco/cuda/" + Loader.getPlatform() + "/libcudart.so.13";
        try {
            Loader.load(org.bytedeco.cuda.global.cudart.class);
            return "libcudart.so.13 was loaded by JavaCPP but not found by the CUDA plugin";
        } catch (LinkageError | RuntimeException e) {
            if (Native.class.getResource(redistRuntime) != null)
                return "libcudart.so.13 of the org.bytedeco:cuda-redist jar could not be loaded: " + e.getMessage();
            return "the org.bytedeco:cuda-redist jar for " + Loader.getPlatform()
                    + " is not on the class path and no libcudart.so.13 is installed";
        }
    }

    /**
     * The CUDA plugin: the system property {@code stackllama4j.cuda.plugin} when set, else the one
     * beside the main library (extracted from the jar), else null (this build has none).
     */
    private static String cudaPluginPath() {
        String override = System.getProperty("stackllama4j.cuda.plugin", "");
        if (!override.isEmpty()) return override;
        String resource = Loader.getPlatform() + "/" + System.mapLibraryName("stackllama4j_cuda");
        try {
            if (Loader.findResource(sl4j_backend.class, resource) == null) return null;
            File file = Loader.cacheResource(sl4j_backend.class, resource);
            return file == null ? null : file.getAbsolutePath();
        } catch (IOException e) {
            return null;  // the engine then looks beside its library and says the plugin is missing
        }
    }

    /** Throws the typed exception for a non-zero status, with the calling thread's native message. */
    static void check(int status) {
        if (status != 0) throw EngineException.of(status, lastError());
    }

    static String lastError() {
        return str(sl4j.sl4j_last_error());
    }

    /** A NUL-terminated UTF-8 copy (JavaCPP's String overloads would use the platform charset). */
    static BytePointer utf8(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        return new BytePointer(java.util.Arrays.copyOf(bytes, bytes.length + 1));
    }

    static String str(BytePointer p) {
        if (p == null || p.isNull()) return "";
        return p.getString(StandardCharsets.UTF_8);
    }
}
