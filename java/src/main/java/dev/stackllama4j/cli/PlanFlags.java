package dev.stackllama4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackllama4j.engine.Device;
import dev.stackllama4j.engine.KvType;
import dev.stackllama4j.engine.MemoryPlan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * The memory plan of a command: --dry-run (print the plan and exit), --json (the plan as JSON),
 * --kv-type. Every planning command prints its plan before it allocates, and refuses (exit 1) a
 * plan larger than the host's available memory, naming the figure and the flags that shrink it.
 * On a device (--device cuda) the plan is split into host and device bytes; --device-memory-limit
 * refuses a plan whose device part is larger. --dry-run needs no GPU: the model is only mapped.
 */
final class PlanFlags {
    private PlanFlags() {}

    static void add(Options o, boolean kvType) {
        o.addOption(Option.builder().longOpt("dry-run").desc("print the memory plan and exit").get());
        if (o.getOption("json") == null) o.addOption(Option.builder().longOpt("json").desc("with --dry-run: the plan as JSON").get());
        o.addOption(Option.builder().longOpt("memory-limit").hasArg().argName("GIB")
                .desc("plan against this many GiB instead of the host's available memory (MemAvailable)").get());
        o.addOption(Option.builder().longOpt("device-memory-limit").hasArg().argName("GIB")
                .desc("with --device cuda: refuse a plan whose device part exceeds this many GiB (default: not checked)").get());
        if (kvType) addKvType(o);
    }

    /** --kv-type f16 | f32 (read by {@link #kvType(CommandLine)}). */
    static void addKvType(Options o) {
        o.addOption(Option.builder().longOpt("kv-type").hasArg().argName("T").desc("KV cache: f16 | f32 (default f16)").get());
    }

    static KvType kvType(CommandLine cmd) {
        try {
            return KvType.parse(cmd.getOptionValue("kv-type", "f16"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** Bytes of a model file (mmapped, resident once it has run). */
    static long fileBytes(Path p) {
        try {
            return Files.size(p);
        } catch (java.io.IOException e) {
            throw new UsageException("cannot read the size of " + p + ": " + e.getMessage());
        }
    }

    /**
     * Prints the plan of {@code command} and decides: null to go on, or the exit code (0 after
     * --dry-run, 1 when the plan does not fit the available memory). {@code fix} names the flags
     * that shrink the plan. {@code quiet}: print only on --dry-run or a refusal.
     */
    static Integer check(CommandLine cmd, CliContext ctx, String command, MemoryPlan.Result plan, boolean quiet, String fix)
            throws Exception {
        long available = MemoryPlan.hostAvailable();
        String limitName = "MemAvailable";
        if (cmd.hasOption("memory-limit")) {
            double gib = Flags.doubleValue(cmd, "memory-limit", 0);
            if (!(gib > 0)) throw new UsageException("--memory-limit must be > 0 GiB");
            available = (long) (gib * (1L << 30));
            limitName = "--memory-limit";
        }
        boolean onDevice = plan.on() != Device.CPU;
        long deviceLimit = -1;
        if (cmd.hasOption("device-memory-limit")) {
            double gib = Flags.doubleValue(cmd, "device-memory-limit", 0);
            if (!(gib > 0)) throw new UsageException("--device-memory-limit must be > 0 GiB");
            deviceLimit = (long) (gib * (1L << 30));
        }
        boolean deviceFits = !onDevice || deviceLimit < 0 || plan.device() <= deviceLimit;
        boolean dry = cmd.hasOption("dry-run");
        if (dry && cmd.hasOption("json")) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("command", command);
            m.put("plan_bytes", plan.parts());
            m.put("available_bytes", available);
            m.put("available_from", limitName);
            m.put("device", plan.on().name().toLowerCase(Locale.ROOT));
            m.put("device_bytes", plan.device());
            if (onDevice && deviceLimit >= 0) m.put("device_available_bytes", deviceLimit);
            m.put("fits", (available < 0 || plan.total() <= available) && deviceFits);
            ctx.out().println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(m));
        } else if (dry || !quiet || (available >= 0 && plan.total() > available) || !deviceFits) {
            (dry ? ctx.out() : ctx.err()).print(format(command, plan, available, onDevice ? deviceLimit : -1));
        }
        if (available >= 0 && plan.total() > available) {
            ctx.err().printf("%s: the plan needs %s but %s available (%s); %s%n", command, gib(plan.total()),
                    gib(available), limitName, fix);
            return 1;
        }
        if (!deviceFits) {
            ctx.err().printf("%s: the plan needs %s on the device (%s) but --device-memory-limit is %s; %s%n", command,
                    gib(plan.device()), plan.on().name().toLowerCase(Locale.ROOT), gib(deviceLimit), fix);
            return 1;
        }
        return dry ? 0 : null;
    }

    /** The plan by part; {@code deviceLimit} -1 = none. */
    static String format(String command, MemoryPlan.Result p, long available, long deviceLimit) {
        StringBuilder b = new StringBuilder();
        boolean onDevice = p.on() != Device.CPU;
        String dev = p.on().name().toLowerCase(Locale.ROOT);
        b.append(String.format("%s memory plan (peak)%s:%n", command, onDevice ? " on " + dev : ""));
        line(b, onDevice ? "weights (mmapped, uploaded)" : "weights (mmapped)", p.weights());
        line(b, "KV cache", p.kvCache());
        line(b, "activations kept", p.activations());
        b.append(String.format("    %-26s %10s without checkpointing, %s with%n", "", gib(p.activationsFull()), gib(p.activationsCheckpointed())));
        line(b, "trainable (LoRA or F32)", p.lora());
        line(b, "gradients", p.gradients());
        line(b, "optimizer state", p.optimizer());
        line(b, "logits chunk", p.logitsChunk());
        line(b, "scratch and outputs", p.scratch());
        line(b, "runtime (JVM)", p.runtime());
        if (onDevice) {
            line(b, dev + " context (estimate)", p.deviceReserve());
            line(b, "host peak", p.total());
            line(b, "device (" + dev + ") peak", p.device());
            if (deviceLimit >= 0) line(b, "device limit", deviceLimit);
        } else {
            line(b, "total", p.total());
        }
        if (available >= 0) line(b, onDevice ? "host available" : "available", available);
        return b.toString();
    }

    private static void line(StringBuilder b, String what, long bytes) {
        b.append(String.format("  %-28s %10s%n", what, gib(bytes)));
    }

    static String gib(long bytes) {
        return bytes >= (1L << 30) ? String.format("%.2f GiB", bytes / (double) (1L << 30)) : String.format("%.1f MiB", bytes / (double) (1L << 20));
    }
}
