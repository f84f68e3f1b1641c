package dev.stackllama4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackllama4j.engine.Backend;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.inference.Bench;
import dev.stackllama4j.model.ModelShape;
import dev.stackllama4j.model.RandomModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code bench (--model M | shape flags) [--threads N] [--json]}: throughput figures. */
public final class BenchCommand implements Command {
    @Override
    public String name() {
        return "bench";
    }

    @Override
    public String summary() {
        return "measure prefill, decode (batch 1 and 8) and LoRA training tokens/s beside their bandwidth and FLOP floors";
    }

    @Override
    public Options options() {
        Options o = new Options();
        ModelFlags.add(o);
        ModelFlags.addPrecision(o, dev.stackllama4j.engine.Precision.FAST);
        ShapeOptions.add(o);
        o.addOption(Option.builder().longOpt("type").hasArg().argName("TYPE").desc("weight type of a shape-flag model (default f32)").get());
        o.addOption(Option.builder().longOpt("prompt-tokens").hasArg().argName("N").desc("prefill length (default 128)").get());
        o.addOption(Option.builder().longOpt("gen-tokens").hasArg().argName("N").desc("decode steps (default 32)").get());
        o.addOption(Option.builder().longOpt("repeats").hasArg().argName("N").desc("best of N runs (default 3)").get());
        o.addOption(Option.builder().longOpt("train-batch").hasArg().argName("N")
                .desc("sequences per LoRA training step (default 4; 0 skips training)").get());
        o.addOption(Option.builder().longOpt("train-seq").hasArg().argName("N").desc("tokens per training sequence (default 128)").get());
        o.addOption(Option.builder().longOpt("matmul-size").hasArg().argName("N")
                .desc("side of the square F32 matmul measuring the FLOP rate (default 1024)").get());
        o.addOption(Option.builder().longOpt("json").desc("print JSON").get());
        return o;
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) throws Exception {
        Bench.Config config;
        try {
            config = new Bench.Config(Flags.intValue(cmd, "prompt-tokens", 128), Flags.intValue(cmd, "gen-tokens", 32),
                    Flags.intValue(cmd, "repeats", 3), Flags.intValue(cmd, "train-batch", 4), Flags.intValue(cmd, "train-seq", 128),
                    Flags.intValue(cmd, "matmul-size", 1024));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        Path tmp = null;
        try {
            if (!cmd.hasOption("model")) {
                ModelShape shape = ShapeOptions.parse(cmd);
                TensorType type = TensorType.parse(cmd.getOptionValue("type", "f32"));
                tmp = Files.createTempFile("stackllama4j-bench-", ".gguf");
                ctx.err().printf("creating a random %s model: %,d parameters...%n", type, shape.parameters());
                RandomModel.write(shape, type, 1, tmp);
            }
            Path path = tmp != null ? tmp : Path.of(cmd.getOptionValue("model"));
            if (!Files.isRegularFile(path)) throw new UsageException("no such model file: " + path);
            int threads = Flags.intValue(cmd, "threads", 0);
            if (threads > 0) Backend.setThreads(threads);
            try (LlamaModel model = LlamaModel.load(path, new LlamaModel.Options(ModelFlags.device(cmd), 0,
                    dev.stackllama4j.engine.KvType.F16, ModelFlags.precision(cmd, dev.stackllama4j.engine.Precision.FAST)))) {
                if (!model.deviceNotice().isEmpty()) ctx.err().println(model.deviceNotice());
                Map<String, Object> r = new java.util.LinkedHashMap<>();
                r.put("model", cmd.hasOption("model") ? path.toString() : "random " + model.info().dim() + "x" + model.info().layers());
                r.put("weight_type", model.info().weightType().toString());
                r.put("parameters", model.info());
                r.put("device", model.device().name().toLowerCase(java.util.Locale.ROOT));
                r.put("threads", Backend.threads());
                r.putAll(Bench.run(model, config));
                r.remove("parameters");
                if (cmd.hasOption("json")) ctx.out().println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(r));
                else for (var e : r.entrySet()) ctx.out().printf("%-24s %s%n", e.getKey(), e.getValue());
            }
        } finally {
            if (tmp != null) Files.deleteIfExists(tmp);
        }
        return 0;
    }
}
