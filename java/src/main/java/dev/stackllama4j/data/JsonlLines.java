package dev.stackllama4j.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackllama4j.io.AtomicFileSet;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Streams a JSONL(.gz) file one object at a time under one validation policy, shared by every
 * reader of rows (SFT texts, pairs, prompts, prepare's paired input): UTF-8 only (invalid bytes are
 * an error, a byte-order mark on the first line is skipped), at most {@value #MAX_LINE_BYTES} bytes
 * a line and {@value #MAX_DEPTH} levels of nesting, each line one JSON object, and text fields
 * strings. Every error names the file, the line and the field.
 */
public final class JsonlLines {
    private JsonlLines() {}

    /** Longest line accepted (16 MiB): far above any real post, far below the heap. */
    public static final int MAX_LINE_BYTES = 16 << 20;
    /** Deepest nesting accepted; rows of every supported schema are 1-3 levels deep. */
    public static final int MAX_DEPTH = 64;

    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).maxStringLength(MAX_LINE_BYTES).build())
            .build());

    public interface RowSink {
        void accept(JsonNode row, long line);
    }

    public static long read(Path file, RowSink sink) throws IOException {
        AtomicFileSet.requireSettled(file);
        if (!Files.isRegularFile(file)) throw new DataFormatException(file + ": no such file");
        InputStream raw = Files.newInputStream(file);
        long rows = 0, line = 0;
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try (InputStream in = file.getFileName().toString().endsWith(".gz") ? new GZIPInputStream(raw, 1 << 16) : raw) {
            LineReader lines = new LineReader(in);
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            while (true) {
                buf.reset();
                boolean eof = lines.next(buf, file, line + 1);
                if (eof && buf.size() == 0) break;
                line++;
                byte[] bytes = buf.toByteArray();
                int start = line == 1 && bytes.length >= 3 && (bytes[0] & 0xff) == 0xEF && (bytes[1] & 0xff) == 0xBB && (bytes[2] & 0xff) == 0xBF ? 3 : 0;
                String s;
                try {
                    s = utf8.decode(ByteBuffer.wrap(bytes, start, bytes.length - start)).toString();
                } catch (CharacterCodingException e) {
                    throw new DataFormatException(file + ": line " + line + ": not valid UTF-8");
                }
                if (s.isBlank()) {
                    if (eof) break;
                    continue;
                }
                JsonNode n;
                try {
                    n = JSON.readTree(s);
                } catch (JsonProcessingException e) {
                    throw new DataFormatException(file + ": line " + line + ": " + problem(e));
                }
                if (n == null || !n.isObject()) throw new DataFormatException(file + ": line " + line + ": expected a JSON object");
                sink.accept(n, line);
                rows++;
                if (eof) break;
            }
        }
        return rows;
    }

    /** Reads up to '\n' (dropped, with a '\r' before it) into {@code buf}; true at the end of the input. */
    private static final class LineReader {
        private final InputStream in;
        private final byte[] chunk = new byte[1 << 16];
        private int pos, len;

        LineReader(InputStream in) {
            this.in = in;
        }

        boolean next(ByteArrayOutputStream buf, Path file, long line) throws IOException {
            while (true) {
                if (pos == len) {
                    len = in.read(chunk);
                    pos = 0;
                    if (len <= 0) {
                        len = 0;
                        return true;
                    }
                }
                int i = pos;
                while (i < len && chunk[i] != '\n') i++;
                if (buf.size() + (i - pos) > MAX_LINE_BYTES)
                    throw new DataFormatException(file + ": line " + line + ": longer than " + (MAX_LINE_BYTES >> 20) + " MiB (the limit per row)");
                buf.write(chunk, pos, i - pos);
                if (i < len) {
                    pos = i + 1;
                    if (buf.size() > 0) {
                        byte[] a = buf.toByteArray();
                        if (a[a.length - 1] == '\r') {
                            buf.reset();
                            buf.write(a, 0, a.length - 1);
                        }
                    }
                    return false;
                }
                pos = len;
            }
        }
    }

    /** What is wrong, with the column where known; never the row's content (it may be huge). */
    private static String problem(JsonProcessingException e) {
        String what = e instanceof com.fasterxml.jackson.core.exc.StreamConstraintsException
                ? (e.getOriginalMessage().contains("depth") ? "nested deeper than " + MAX_DEPTH + " levels" : "a value exceeds a size limit")
                : "not a JSON object";
        JsonLocation loc = e.getLocation();
        return loc == null || loc.getColumnNr() < 1 ? what : what + " (column " + loc.getColumnNr() + ")";
    }

    /** A required string field. */
    public static String text(Path file, long line, JsonNode row, String field) {
        JsonNode v = row.get(field);
        if (v == null || v.isNull()) throw new DataFormatException(file + ": line " + line + ": missing field '" + field + "'");
        if (!v.isTextual()) throw new DataFormatException(file + ": line " + line + ": field '" + field + "' should be a string, is " + v.getNodeType());
        return v.asText();
    }

    /** An optional string field: null when absent or null, an error when present but not a string. */
    public static String optionalText(Path file, long line, JsonNode row, String field) {
        JsonNode v = row.get(field);
        if (v == null || v.isNull()) return null;
        return text(file, line, row, field);
    }
}
