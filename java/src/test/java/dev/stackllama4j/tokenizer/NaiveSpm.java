package dev.stackllama4j.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reference for the SentencePiece merge loop, written the slow obvious way: rescan every adjacent
 * pair, merge the one whose concatenation has the highest score (leftmost on a tie), repeat; then
 * map symbols to ids, unknown ones to their UTF-8 byte tokens. Quadratic, for tests only.
 */
final class NaiveSpm {
    private final Vocabulary v;
    private final Map<String, Integer> ids = new HashMap<>();

    NaiveSpm(Vocabulary v) {
        this.v = v;
        for (int i = 0; i < v.size(); i++) ids.put(v.token(i), i);
    }

    /** Encodes plain text (no special-token parsing, no BOS/EOS). */
    List<Integer> encode(String text) {
        List<Integer> out = new ArrayList<>();
        if (text.isEmpty()) return out;
        String s = (v.addSpacePrefix() ? " " + text : text).replace(' ', '\u2581');
        List<String> syms = new ArrayList<>();
        s.codePoints().forEach(cp -> syms.add(new String(Character.toChars(cp))));
        while (true) {
            int best = -1;
            float bestScore = 0;
            for (int i = 0; i + 1 < syms.size(); i++) {
                Integer id = ids.get(syms.get(i) + syms.get(i + 1));
                if (id != null && (best < 0 || v.score(id) > bestScore)) {
                    best = i;
                    bestScore = v.score(id);
                }
            }
            if (best < 0) break;
            syms.set(best, syms.get(best) + syms.remove(best + 1));
        }
        for (String sym : syms) {
            Integer id = ids.get(sym);
            if (id != null) {
                out.add(id);
                continue;
            }
            for (byte b : sym.getBytes(StandardCharsets.UTF_8)) {
                out.add(ids.get(String.format("<0x%02X>", b & 0xFF)));
            }
        }
        return out;
    }
}
