package dev.stackllama4j.cli;

import dev.stackllama4j.engine.Device;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.engine.Precision;
import dev.stackllama4j.train.AdapterFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** The flags every model-using command shares: --model, --threads, --device. */
final class ModelFlags {
    private ModelFlags() {}

    static void add(Options o) {
        o.addOption(Option.builder().longOpt("model").hasArg().argName("M.gguf").desc("LLaMA-architecture GGUF model (required)").get());
        o.addOption(Option.builder().longOpt("threads").hasArg().argName("N").desc("CPU threads (default: one per core)").get());
        o.addOption(Option.builder().longOpt("device").hasArg().argName("D").desc("cpu | cuda | auto (default auto)").get());
    }

    /**
     * Loads --model on --device: cpu, cuda (refused with the engine's reason when no GPU is usable)
     * or auto (the GPU when one is usable, else the CPU, said in one line). Sessions, adapters,
     * training and the reward model all run where the model is.
     */
    static LlamaModel load(CommandLine cmd, CliContext ctx) {
        return load(cmd, ctx, dev.stackllama4j.engine.KvType.F16, Precision.EXACT);
    }

    /** {@link #load(CommandLine, CliContext)} whose sessions use {@code kv} and {@code precision}. */
    static LlamaModel load(CommandLine cmd, CliContext ctx, dev.stackllama4j.engine.KvType kv, Precision precision) {
        Path path = Path.of(Flags.required(cmd, "model"));
        if (!Files.isRegularFile(path)) throw new UsageException("no such model file: " + path);
        // --dry-run only plans: the model is mapped on the CPU (nothing uploaded, no GPU needed) and
        // the plan is made for --device (planDevice).
        Device device = cmd.hasOption("dry-run") ? Device.CPU : device(cmd);
        int threads = Flags.intValue(cmd, "threads", 0);
        if (threads < 0) throw new UsageException("--threads must be >= 0");
        if (threads > 0) dev.stackllama4j.engine.Backend.setThreads(threads);
        LlamaModel model = LlamaModel.load(path, new LlamaModel.Options(device, 0, kv, precision));
        if (!model.deviceNotice().isEmpty()) ctx.err().println(model.deviceNotice());
        return model;
    }

    /**
     * The device a plan is made for: where the model is, or with --dry-run (model mapped on the CPU)
     * --device, AUTO meaning CUDA when a usable GPU is present.
     */
    static Device planDevice(CommandLine cmd, LlamaModel model) {
        if (!cmd.hasOption("dry-run")) return model.device();
        Device d = device(cmd);
        return d == Device.AUTO ? (dev.stackllama4j.engine.Backend.cudaDeviceCount() > 0 ? Device.CUDA : Device.CPU) : d;
    }

    /** --device cpu|cuda|auto (default auto). */
    static Device device(CommandLine cmd) {
        try {
            return Device.parse(cmd.getOptionValue("device", "auto"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** --precision exact|fast, for a command that evaluates a model with sessions; {@code def} is its default. */
    static void addPrecision(Options o, Precision def) {
        o.addOption(Option.builder().longOpt("precision").hasArg().argName("P")
                .desc("exact | fast (default " + def.name().toLowerCase(java.util.Locale.ROOT) + "): fast quantizes activations to 8 bits "
                        + "for Q4_0/Q8_0/Q4_K/Q5_K/Q6_K weights and runs integer dot products, as llama.cpp does; exact is the reference")
                .get());
    }

    /** --precision, else {@code def}. */
    static Precision precision(CommandLine cmd, Precision def) {
        Precision p;
        try {
            p = cmd.hasOption("precision") ? Precision.parse(cmd.getOptionValue("precision")) : def;
        } catch (IllegalArgumentException e) {
            throw new UsageException("--precision: " + e.getMessage());
        }
        return p;
    }

    /** Loads --adapter (if given) for {@code model}; null when absent. The caller passes it to each use. */
    static LoraAdapter adapter(CommandLine cmd, LlamaModel model) {
        if (!cmd.hasOption("adapter")) return null;
        Path p = Path.of(cmd.getOptionValue("adapter"));
        if (!Files.isRegularFile(p)) throw new UsageException("no such adapter file: " + p);
        return AdapterFile.load(p, model);
    }

    /** Parses "1,2,3" into token ids. */
    static int[] tokenList(String s) {
        String[] parts = s.split("[,\\s]+");
        int[] out = new int[parts.length];
        try {
            for (int i = 0; i < parts.length; i++) out[i] = Integer.parseInt(parts[i].trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--tokens expects comma-separated integers, got '" + s + "'");
        }
        return out;
    }
}
