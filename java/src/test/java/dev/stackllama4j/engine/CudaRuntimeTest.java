package dev.stackllama4j.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CUDA backend is a plugin (libstackllama4j_cuda.so, linked to libcudart.so.13) that the engine
 * opens only when CUDA is asked for, after the facade loaded the CUDA runtime through JavaCPP's
 * presets. Without a usable GPU, CUDA is refused and AUTO runs on the CPU, both naming the same
 * reason; with the plugin absent the library still loads and runs on the CPU.
 */
public class CudaRuntimeTest {
    /** The reasons the engine gives for "no usable GPU" once the plugin is open (or its runtime is missing). */
    private static final Pattern PLUGIN_REASON = Pattern.compile(
            "no NVIDIA driver on this machine \\(libcuda\\.so\\.1 not found\\)"
                    + "|the NVIDIA driver supports CUDA \\d+\\.\\d+, older than the CUDA runtime .*"
                    + "|no CUDA GPU visible \\(NVIDIA driver for CUDA \\d+\\.\\d+\\)"
                    + "|CUDA runtime not found: .+"
                    + "|CUDA could not be initialised: .+");

    @TempDir
    Path tmp;

    /** False when the engine was built without nvcc (no plugin exists; a stale copy would not be opened). */
    static boolean cudaCompiled() {
        return !Backend.systemInfo().contains(NOT_COMPILED);
    }

    private static final String NOT_COMPILED = "this build of stackllama4j has no CUDA backend (built without nvcc)";

    /** The reason system info gives for zero CUDA devices. */
    public static String noGpuReason() {
        String info = Backend.systemInfo();
        Matcher m = Pattern.compile("CUDA: 0 usable device\\(s\\), (.+)$").matcher(info);
        assertTrue(m.find(), info);
        return m.group(1);
    }

    @Test
    void withoutAGpuCudaIsRefusedAndAutoRunsOnTheCpuNamingTheSameReason() {
        assumeTrue(Backend.cudaDeviceCount() == 0, "a CUDA GPU is usable here: there is no refusal to see");
        String reason = noGpuReason();
        System.err.println("no GPU: " + reason);
        assertTrue(cudaCompiled() ? PLUGIN_REASON.matcher(reason).matches() : reason.equals(NOT_COMPILED), reason);

        EngineException e = assertThrows(EngineException.Backend.class, () -> Backend.open(Device.CUDA));
        assertEquals("device cuda asked, but " + reason + ": use device cpu or auto", e.getMessage());
        try (Backend auto = Backend.open(Device.AUTO)) {
            assertEquals(Device.CPU, auto.device());
            assertEquals("device auto: running on the CPU: " + reason, auto.notice());
        }
    }

    /** Prints what a fresh JVM's engine does with the CUDA plugin where the test points it. */
    public static final class Probe {
        public static void main(String[] args) {
            System.out.println("info " + Backend.systemInfo());
            try (Backend cpu = Backend.open(Device.CPU)) {
                System.out.println("cpu " + cpu.device() + " " + cpu.name());
            }
            try (Backend auto = Backend.open(Device.AUTO)) {
                System.out.println("auto " + auto.device() + " " + auto.notice());
            }
            try (Backend cuda = Backend.open(Device.CUDA)) {
                System.out.println("cuda " + cuda.device());
            } catch (EngineException e) {
                System.out.println("cuda " + e.getClass().getSimpleName() + " " + e.getMessage());
            }
        }
    }

    @Test
    void withThePluginAbsentTheLibraryLoadsAndRunsOnTheCpuSayingTheCudaBackendIsMissing()
            throws IOException, InterruptedException {
        Path absent = tmp.resolve("absent").resolve(System.mapLibraryName("stackllama4j_cuda"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
                "-Dstackllama4j.cuda.plugin=" + absent, Probe.class.getName()))
                .redirectErrorStream(true).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the probe JVM did not finish");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        System.err.print(out);
        assertEquals(0, p.exitValue(), out);
        String why = cudaCompiled()
                ? "the CUDA backend library " + absent + " is missing (this installation of stackllama4j has no CUDA "
                        + "backend)"
                : NOT_COMPILED;
        assertTrue(out.contains("info ") && out.contains("CUDA: 0 usable device(s), " + why), out);
        assertTrue(out.contains("cpu CPU CPU: "), out);
        assertTrue(out.contains("auto CPU device auto: running on the CPU: " + why + "\n"), out);
        assertTrue(out.contains("cuda Backend device cuda asked, but " + why + ": use device cpu or auto\n"), out);
    }
}
