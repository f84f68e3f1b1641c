package dev.stackllama4j.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * Independent count for the tests: the whole file as a DOM, a plain map of questions, the score
 * by its thresholds rather than a logarithm (round(log2(1+u)) = k exactly when
 * 2^(k-1/2) <= 1+u < 2^(k+1/2), i.e. 1+u squared in [2^(2k-1), 2^(2k+1))).
 */
final class DomCount {
    long questions, answers, questionsWithPairs, pairs, orphanAnswers, otherTypes;

    static int score(long u, boolean accepted) {
        if (u < 0) return -1;
        long sq = (1 + u) * (1 + u);
        int k = 0;
        while (sq >= (1L << (2 * k + 1))) k++;
        return k + (accepted ? 1 : 0);
    }

    static DomCount of(Path posts, int maxPairs) throws Exception {
        var doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(posts.toFile());
        NodeList rows = doc.getElementsByTagName("row");
        Map<String, String> accepted = new HashMap<>();
        Map<String, List<long[]>> byParent = new HashMap<>();
        DomCount c = new DomCount();
        for (int i = 0; i < rows.getLength(); i++) {
            Element e = (Element) rows.item(i);
            String type = e.getAttribute("PostTypeId");
            if (type.equals("1")) {
                c.questions++;
                accepted.put(e.getAttribute("Id"), e.getAttribute("AcceptedAnswerId"));
            } else if (type.equals("2")) {
                c.answers++;
                byParent.computeIfAbsent(e.getAttribute("ParentId"), k -> new ArrayList<>())
                        .add(new long[] {Long.parseLong(e.getAttribute("Id")), Long.parseLong(e.getAttribute("Score"))});
            } else {
                c.otherTypes++;
            }
        }
        for (var en : byParent.entrySet()) {
            String acc = accepted.get(en.getKey());
            if (acc == null) {
                c.orphanAnswers += en.getValue().size();
                continue;
            }
            List<long[]> as = en.getValue();
            int[] s = new int[as.size()];
            for (int i = 0; i < s.length; i++) s[i] = score(as.get(i)[1], acc.equals(Long.toString(as.get(i)[0])));
            long n = 0;
            for (int i = 0; i < s.length; i++) for (int j = i + 1; j < s.length; j++) if (s[i] != s[j]) n++;
            if (n > 0) c.questionsWithPairs++;
            c.pairs += Math.min(n, maxPairs);
        }
        return c;
    }
}
