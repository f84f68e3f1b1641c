package dev.stackllama4j.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Metrics as JSONL, one object per step, flushed as written. On resume, lines after the
 * checkpoint's step are dropped first, so the file reads as one uninterrupted run.
 */
public final class MetricsLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final BufferedWriter out;

    public MetricsLog(Path path, long keepThroughStep) throws IOException {
        if (Files.exists(path)) {
            List<String> kept = new ArrayList<>();
            for (String line : Files.readAllLines(path, StandardCharsets.UTF_8)) {
                if (line.isBlank()) continue;
                long step = JSON.readTree(line).path("step").asLong(Long.MAX_VALUE);
                if (step <= keepThroughStep) kept.add(line);
            }
            Files.write(path, kept, StandardCharsets.UTF_8);
        }
        out = Files.newBufferedWriter(path, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    public void write(Map<String, Object> row) {
        try {
            out.write(JSON.writeValueAsString(row));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
