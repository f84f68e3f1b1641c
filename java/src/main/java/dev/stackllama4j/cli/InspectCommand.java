package dev.stackllama4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.GgufTensorInfo;
import dev.stackllama4j.engine.GgufValueType;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code inspect FILE.gguf [--json]}: metadata (long arrays summarised) and the tensor table. */
public final class InspectCommand implements Command {
    /** Arrays longer than this are shown by their first elements and their length. */
    static final int ARRAY_PREVIEW = 8;

    @Override
    public String name() {
        return "inspect";
    }

    @Override
    public String summary() {
        return "show a GGUF file's metadata and tensors";
    }

    @Override
    public String positionals() {
        return "FILE.gguf";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("json").desc("print JSON instead of text").get());
        return o;
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) throws Exception {
        if (cmd.getArgList().size() != 1) throw new UsageException("expected exactly one GGUF file");
        Path path = Path.of(cmd.getArgList().get(0));
        if (!Files.exists(path)) throw new UsageException("no such file: " + path);
        try (GgufFile f = GgufFile.open(path)) {
            Map<String, Object> report = describe(f);
            if (cmd.hasOption("json")) {
                ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
                ctx.out().println(m.writeValueAsString(report));
            } else {
                printText(f, ctx.out());
            }
        }
        return 0;
    }

    /** The whole file as a JSON-ready map (arrays summarised). */
    static Map<String, Object> describe(GgufFile f) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("file", f.path().toString());
        r.put("version", f.version());
        r.put("alignment", f.alignment());
        r.put("file_size", f.fileSize());
        Map<String, Object> meta = new LinkedHashMap<>();
        for (String k : f.keys()) meta.put(k, valueForJson(f, k));
        r.put("metadata", meta);
        List<Map<String, Object>> tensors = new ArrayList<>();
        for (GgufTensorInfo t : f.tensors()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("name", t.name());
            e.put("type", t.type().toString());
            e.put("shape", t.dims());
            e.put("bytes", t.nBytes());
            e.put("offset", t.offset());
            tensors.add(e);
        }
        r.put("tensors", tensors);
        return r;
    }

    private static Object valueForJson(GgufFile f, String key) {
        if (f.type(key) != GgufValueType.ARRAY) return f.get(key);
        long n = f.arrayLength(key);
        List<Object> head = new ArrayList<>();
        for (long j = 0; j < Math.min(n, ARRAY_PREVIEW); j++) head.add(f.getArrayElement(key, j));
        if (n <= ARRAY_PREVIEW) return head;
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("type", f.arrayType(key).toString());
        summary.put("length", n);
        summary.put("first", head);
        return summary;
    }

    private static void printText(GgufFile f, PrintStream out) {
        out.printf("%s: GGUF v%d, %,d bytes, alignment %d, %d metadata keys, %d tensors%n", f.path(), f.version(),
                f.fileSize(), f.alignment(), f.keys().size(), f.tensors().size());
        out.println();
        out.println("metadata:");
        for (String k : f.keys()) out.printf("  %-42s %s%n", k, textValue(f, k));
        out.println();
        out.println("tensors:");
        out.printf("  %-32s %-6s %-20s %12s%n", "name", "type", "shape", "bytes");
        long total = 0, params = 0;
        for (GgufTensorInfo t : f.tensors()) {
            out.printf("  %-32s %-6s %-20s %,12d%n", t.name(), t.type(), t.shape(), t.nBytes());
            total += t.nBytes();
            params += t.elements();
        }
        out.printf("  total: %,d parameters, %,d bytes of tensor data%n", params, total);
    }

    private static String textValue(GgufFile f, String key) {
        if (f.type(key) != GgufValueType.ARRAY) {
            Object v = f.get(key);
            return v instanceof String s ? quote(s) : String.valueOf(v);
        }
        long n = f.arrayLength(key);
        StringBuilder sb = new StringBuilder("[");
        for (long j = 0; j < Math.min(n, ARRAY_PREVIEW); j++) {
            if (j > 0) sb.append(", ");
            Object v = f.getArrayElement(key, j);
            sb.append(v instanceof String s ? quote(s) : String.valueOf(v));
        }
        if (n > ARRAY_PREVIEW) sb.append(", …");
        return sb.append("] (").append(n).append(" × ").append(f.arrayType(key)).append(")").toString();
    }

    private static String quote(String s) {
        String shown = s.length() > 60 ? s.substring(0, 57) + "…" : s;
        return '"' + shown.replace("\n", "\\n") + '"';
    }
}
