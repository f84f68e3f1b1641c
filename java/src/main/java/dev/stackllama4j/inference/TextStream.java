package dev.stackllama4j.inference;

import dev.stackllama4j.tokenizer.Decoder;
import java.util.List;

/**
 * Generated tokens to text pieces that are safe to show: complete UTF-8 characters (the decoder
 * holds back bytes of a character split across byte tokens), SentencePiece spaces rendered, and
 * nothing that could still be the start of a stop string. A matched stop string ends the stream;
 * the text is cut before it. Not thread-safe.
 */
final class TextStream {
    private final Decoder decoder;
    private final List<String> stops;
    private final int longestStop;
    private final StringBuilder pending = new StringBuilder();
    private final StringBuilder text = new StringBuilder();
    private String lastPiece = "";
    private boolean stopped;

    TextStream(Decoder decoder, List<String> stops) {
        this.decoder = decoder;
        this.stops = stops;
        this.longestStop = stops.stream().mapToInt(String::length).max().orElse(0);
    }

    /** Feeds one token; returns the text released now (possibly ""). */
    String push(int token) {
        if (stopped) return "";
        lastPiece = decoder.feed(token);
        pending.append(lastPiece);
        return release(false);
    }

    /** Ends the stream: returns whatever is still held (incomplete bytes become U+FFFD). */
    String finish() {
        if (stopped) return "";
        String rest = decoder.flush();
        lastPiece = lastPiece + rest;
        pending.append(rest);
        return release(true);
    }

    /** True once a stop string matched. */
    boolean stopped() {
        return stopped;
    }

    /** What the decoder produced for the last token (before any holding back). */
    String lastPiece() {
        return lastPiece;
    }

    /** All text released so far. */
    String text() {
        return text.toString();
    }

    private String release(boolean all) {
        int cut = -1;
        for (String s : stops) {
            int i = pending.indexOf(s);
            if (i >= 0 && (cut < 0 || i < cut)) cut = i;
        }
        String out;
        if (cut >= 0) {
            out = pending.substring(0, cut);
            pending.setLength(0);
            stopped = true;
        } else {
            int keep = all ? 0 : heldBack();
            out = pending.substring(0, pending.length() - keep);
            pending.delete(0, pending.length() - keep);
        }
        text.append(out);
        return out;
    }

    /** Length of the longest suffix of the pending text that is a proper prefix of a stop string. */
    private int heldBack() {
        int n = pending.length();
        for (int k = Math.min(n, longestStop - 1); k > 0; k--) {
            String suffix = pending.substring(n - k);
            for (String s : stops) if (s.startsWith(suffix)) return k;
        }
        return 0;
    }
}
