package dev.stackllama4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Reads preference pairs in the {@code lvwerra/stack-exchange-paired} schema ({@code qid, question,
 * date, metadata, response_j, response_k}), which {@link Prepare} writes too (followed by
 * {@code score_j, score_k, site}). response_j is the better answer.
 */
public final class PairedJsonl {
    private PairedJsonl() {}

    /** One pair; the scores are null when the file has none (the published dataset). */
    public record Row(String qid, String question, String responseJ, String responseK, Integer scoreJ, Integer scoreK) {
        /** The SFT text of the preferred answer, in the shared template. */
        public String chosenText() {
            return Template.format(question, responseJ);
        }

        public String rejectedText() {
            return Template.format(question, responseK);
        }
    }

    public static long read(Path file, Consumer<Row> sink) throws IOException {
        return JsonlLines.read(file, (n, line) -> {
            JsonNode q = n.get("qid");
            if (q == null || q.isNull()) throw new DataFormatException(file + ": line " + line + ": missing field 'qid'");
            sink.accept(new Row(q.asText(), JsonlLines.text(file, line, n, "question"),
                    JsonlLines.text(file, line, n, "response_j"), JsonlLines.text(file, line, n, "response_k"),
                    integer(file, line, n, "score_j"), integer(file, line, n, "score_k")));
        });
    }

    private static Integer integer(Path file, long line, JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new DataFormatException(file + ": line " + line + ": field '" + field + "' should be an integer");
        }
        return v.intValue();
    }
}
