package dev.stackllama4j.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/** Streams a JSONL(.gz) file one object at a time; errors name the file, line and field. */
public final class JsonlLines {
    private JsonlLines() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    public interface RowSink {
        void accept(JsonNode row, long line);
    }

    public static long read(Path file, RowSink sink) throws IOException {
        InputStream raw = Files.newInputStream(file);
        InputStream in = file.getFileName().toString().endsWith(".gz") ? new GZIPInputStream(raw, 1 << 16) : raw;
        long rows = 0, line = 0;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16)) {
            String s;
            while ((s = r.readLine()) != null) {
                line++;
                if (s.isBlank()) continue;
                JsonNode n;
                try {
                    n = JSON.readTree(s);
                } catch (JsonProcessingException e) {
                    // the message would quote the row; name the place only
                    throw new DataFormatException(file + ": line " + line + ": not a JSON object (column "
                            + e.getLocation().getColumnNr() + ")");
                }
                if (n == null || !n.isObject()) throw new DataFormatException(file + ": line " + line + ": expected a JSON object");
                sink.accept(n, line);
                rows++;
            }
        }
        return rows;
    }

    static String text(Path file, long line, JsonNode row, String field) {
        JsonNode v = row.get(field);
        if (v == null || v.isNull()) throw new DataFormatException(file + ": line " + line + ": missing field '" + field + "'");
        if (!v.isTextual()) throw new DataFormatException(file + ": line " + line + ": field '" + field + "' should be a string, is " + v.getNodeType());
        return v.asText();
    }
}
