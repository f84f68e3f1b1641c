package dev.stackllama4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SynthSiteTest {
    @TempDir
    Path tmp;

    /** Wrong answers cover every plausible wrong number (within 5 of the truth), not only slips of 1, 2 or 10. */
    @Test
    void wrongAnswersCoverEveryMiscountWithinFive() throws Exception {
        Path posts = tmp.resolve("site/Posts.xml");
        Files.createDirectories(posts.getParent());
        try (java.io.Writer w = Files.newBufferedWriter(posts)) {
            SynthSite.write(w, 400, 3, SynthSite.Difficulty.EASY);
        }
        Prepare.run(Prepare.Config.of(List.of(posts), tmp.resolve("data"), 1));
        java.util.Map<Long, Integer> offsets = new java.util.TreeMap<>();
        for (String split : Splits.pairSplits())
            for (JsonNode r : PrepareTest.lines(tmp.resolve("data").resolve(split + ".jsonl")))
                for (String side : List.of("response_j", "response_k")) {
                    OptionalLong v = SynthSite.answerValue(r.get(side).asText()), t = SynthSite.truth(r.get("question").asText());
                    if (v.isPresent() && v.getAsLong() != t.getAsLong()) offsets.merge(v.getAsLong() - t.getAsLong(), 1, Integer::sum);
                }
        for (long d = -5; d <= 5; d++) if (d != 0) assertTrue(offsets.getOrDefault(d, 0) > 5, "wrong answers off by " + d + ": " + offsets);
    }

    @Test
    void checkerOnHandWrittenCases() {
        assertEquals(OptionalLong.of(42), SynthSite.truth("What is 17 + 25?"));
        assertEquals(OptionalLong.of(3), SynthSite.truth("Question: What is 8 - 5?\n\nPlease help.\n\nAnswer: "));
        assertEquals(OptionalLong.of(56), SynthSite.truth("What is 7 * 8?"));
        assertEquals(OptionalLong.of(300), SynthSite.truth("How many centimeters are in 3 meters?"));
        assertEquals(OptionalLong.of(21), SynthSite.truth("How many days are in 3 weeks?"));
        assertTrue(SynthSite.truth("How many parsecs are in 3 meters?").isEmpty());
        assertTrue(SynthSite.truth("Why is beer bitter?").isEmpty());

        assertTrue(SynthSite.isCorrect("What is 17 + 25?", "42"));
        assertTrue(SynthSite.isCorrect("What is 17 + 25?", " 42. Because 17 + 25 = 42."));
        assertTrue(SynthSite.isCorrect("What is 17 + 25?", "Answer: 42, check with `17 + 25`."));
        assertFalse(SynthSite.isCorrect("What is 17 + 25?", "41. Because 17 + 25 = 41."));
        assertFalse(SynthSite.isCorrect("What is 17 + 25?", "420"));
        assertFalse(SynthSite.isCorrect("What is 17 + 25?", "42.5"));
        assertFalse(SynthSite.isCorrect("What is 17 + 25?", "The answer is 42")); // the number must lead
        assertFalse(SynthSite.isCorrect("What is 17 + 25?", "Not sure, try a calculator."));
        assertFalse(SynthSite.isCorrect("Why?", "42"));
    }

    @Test
    void sameSeedSameBytes() throws Exception {
        StringWriter a = new StringWriter(), b = new StringWriter(), c = new StringWriter();
        SynthSite.write(a, 200, 5);
        SynthSite.write(b, 200, 5);
        SynthSite.write(c, 200, 6);
        assertEquals(a.toString(), b.toString());
        assertFalse(a.toString().equals(c.toString()));
    }

    @Test
    void siteParsesAsADumpAndVotesFollowCorrectness() throws Exception {
        Path posts = tmp.resolve("Posts.xml");
        StringWriter w = new StringWriter();
        long rows = SynthSite.write(w, 2000, 1);
        Files.writeString(posts, w.toString(), StandardCharsets.UTF_8);

        long[] qs = {0}, as = {0};
        SkipCounter sk = new SkipCounter();
        assertEquals(rows, PostsReader.read(posts, sk, p -> {
            if (p.isQuestion()) qs[0]++;
            else as[0]++;
        }));
        assertEquals(0, sk.total());
        assertEquals(2000, qs[0]);
        assertEquals(rows - 2000, as[0]);

        Path out = tmp.resolve("out");
        Prepare.Stats st = Prepare.run(new Prepare.Config(List.of(posts), out, 0, 10, Splits.parse("reward=1"), 1 << 20, 8, null));
        assertEquals(0, st.skipped.total());
        // the preferred answer is right more often than the rejected one, but not always (noise)
        long jRight = 0, kRight = 0, n = 0;
        for (JsonNode r : PrepareTest.lines(out.resolve("reward.jsonl"))) {
            String q = r.get("question").asText();
            assertTrue(SynthSite.truth(q).isPresent(), q);
            assertTrue(Set.of("What", "How").contains(q.substring(0, q.indexOf(' '))));
            if (SynthSite.isCorrect(q, r.get("response_j").asText())) jRight++;
            if (SynthSite.isCorrect(q, r.get("response_k").asText())) kRight++;
            n++;
        }
        assertTrue(n > 3000, "pairs: " + n);
        double pj = (double) jRight / n, pk = (double) kRight / n;
        assertTrue(pj > 0.6 && pk < 0.35 && pj < 0.99, "P(correct | chosen) " + pj + ", P(correct | rejected) " + pk);
    }

    @Test
    void answersAreShortWithASmallAlphabet() throws Exception {
        StringWriter w = new StringWriter();
        SynthSite.write(w, 500, 2);
        Path posts = tmp.resolve("Posts.xml");
        Files.writeString(posts, w.toString());
        int[] maxLen = {0};
        boolean[] seen = new boolean[128];
        PostsReader.read(posts, new SkipCounter(), p -> {
            String t = p.isQuestion() ? Template.questionText(p.title(), HtmlToText.convert(p.body())) : HtmlToText.convert(p.body());
            if (p.isAnswer()) maxLen[0] = Math.max(maxLen[0], t.length());
            for (char c : t.toCharArray()) {
                assertTrue(c < 128, "non-ASCII " + (int) c);
                seen[c] = true;
            }
        });
        int distinct = 0;
        for (boolean s : seen) if (s) distinct++;
        assertTrue(maxLen[0] <= 64, "longest answer " + maxLen[0]);
        assertTrue(distinct <= 64, "distinct characters " + distinct);
    }
}
