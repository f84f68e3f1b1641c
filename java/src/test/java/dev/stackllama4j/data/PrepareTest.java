package dev.stackllama4j.data;

import dev.stackllama4j.io.FolderLock;
import dev.stackllama4j.testing.SharedFiles;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrepareTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void convertersDefaultToOnePerCoreFromThreeCoresUp() {
        // measured on two idle cores: parse-and-convert in turn 46.5-47.7 MB/s, 2 converters 39.9-41.4
        assertEquals(1, Prepare.defaultThreads(1));
        assertEquals(1, Prepare.defaultThreads(2));
        assertEquals(3, Prepare.defaultThreads(3));
        assertEquals(16, Prepare.defaultThreads(16));
    }

    @TempDir
    Path tmp;

    static List<JsonNode> lines(Path f) throws IOException {
        List<JsonNode> l = new ArrayList<>();
        for (String s : Files.readAllLines(f, StandardCharsets.UTF_8)) if (!s.isEmpty()) l.add(JSON.readTree(s));
        return l;
    }

    private Prepare.Stats prepare(Path posts, Path out, long seed, long bufferBytes) throws IOException {
        return Prepare.run(new Prepare.Config(List.of(posts), out, seed, 10, Splits.defaults(), bufferBytes, 4, null));
    }

    /**
     * Expected figures: questions and answers agree with ../shared/README.md (663 / 1,572 and
     * 225 / 327); pairs and questions with pairs were computed once by {@link DomCount} (DOM, score
     * by thresholds, no log) and are asserted both against it and as literals.
     */
    private void exactCounts(String site, long q, long a, long other, long qwp, long pairs) throws Exception {
        Path posts = SharedFiles.require("data/stackexchange/" + site + "/Posts.xml");
        DomCount dom = DomCount.of(posts, 10);
        assertEquals(q, dom.questions);
        assertEquals(a, dom.answers);
        assertEquals(qwp, dom.questionsWithPairs);
        assertEquals(pairs, dom.pairs);

        Path out = tmp.resolve(site);
        Prepare.Stats st = prepare(posts, out, 0, 64L << 20);
        assertEquals(q, st.questions);
        assertEquals(a, st.answers);
        assertEquals(qwp, st.questionsWithPairs);
        assertEquals(pairs, st.pairsSampled);
        assertEquals(other, st.skipped.get(PostsReader.OTHER_POST_TYPE));
        assertEquals(other, st.skipped.total(), "only tag wikis etc. are skipped in a clean dump");

        // the files hold what stats.json says
        long written = 0;
        for (String s : Splits.pairSplits()) {
            List<JsonNode> rows = lines(out.resolve(s + ".jsonl"));
            assertEquals(st.pairsPerSplit.get(s).longValue(), rows.size(), s);
            for (JsonNode r : rows) {
                assertTrue(r.get("score_j").asInt() > r.get("score_k").asInt(), "ties or inverted pair in " + s);
                assertFalse(r.get("response_j").asText().isBlank());
            }
            written += rows.size();
        }
        assertEquals(st.pairs(), written);
        assertEquals(st.rlPrompts, lines(out.resolve("rl.jsonl")).size());
        JsonNode stats = JSON.readTree(out.resolve("stats.json").toFile());
        assertEquals(q, stats.get("questions").asLong());
        assertEquals(pairs, stats.get("pairs_sampled_incl_rl").asLong());
        assertEquals(other, stats.get("skipped").get("other_post_type").asLong());
    }

    @Test
    void beerExactCounts() throws Exception {
        exactCounts("beer", 663, 1572, 119, 384, 1267);
    }

    @Test
    void coffeeExactCounts() throws Exception {
        exactCounts("coffee", 225, 327, 40, 72, 129);
    }

    /** The folder's files, without the (empty, released) lock file every output folder keeps. */
    private static Map<String, byte[]> contents(Path dir) throws IOException {
        Map<String, byte[]> m = new HashMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) m.put(p.getFileName().toString(), Files.readAllBytes(p));
        }
        assertEquals(0, m.remove(FolderLock.LOCK).length, "the lock file is released (empty)");
        return m;
    }

    @Test
    void sameSeedByteIdenticalAndSortBufferIrrelevant() throws Exception {
        Path posts = SharedFiles.require("data/stackexchange/beer/Posts.xml");
        prepare(posts, tmp.resolve("a"), 7, 64L << 20);
        Prepare.Stats tiny = prepare(posts, tmp.resolve("b"), 7, 64 << 10); // 64 KiB: many runs, fan-in 4: multi-pass
        assertTrue(tiny.sortRuns > 16, "expected a multi-pass merge, got " + tiny.sortRuns + " runs");
        prepare(posts, tmp.resolve("c"), 8, 64L << 20);
        Map<String, byte[]> a = contents(tmp.resolve("a")), b = contents(tmp.resolve("b")), c = contents(tmp.resolve("c"));
        assertEquals(Set.of("finetune.jsonl", "reward.jsonl", "rl.jsonl", "evaluation.jsonl", "stats.json"), a.keySet());
        String statsA = new String(a.get("stats.json"), StandardCharsets.UTF_8);
        for (String k : a.keySet()) {
            if (k.equals("stats.json")) {
                // identical but for the sort-run count, which is not in stats.json
                assertEquals(statsA, new String(b.get(k), StandardCharsets.UTF_8));
            } else {
                assertArrayEquals(a.get(k), b.get(k), k);
            }
        }
        assertFalse(java.util.Arrays.equals(a.get("reward.jsonl"), c.get("reward.jsonl")), "another seed, other splits");
    }

    @Test
    void splitsAreDisjointByQuestion() throws Exception {
        Path posts = SharedFiles.require("data/stackexchange/beer/Posts.xml");
        Path out = tmp.resolve("s");
        prepare(posts, out, 3, 64L << 20);
        Map<Long, String> owner = new HashMap<>();
        int nonEmpty = 0;
        for (String s : Splits.NAMES) {
            Set<Long> qids = new HashSet<>();
            for (JsonNode r : lines(out.resolve(s + ".jsonl"))) qids.add(r.get("qid").asLong());
            if (!qids.isEmpty()) nonEmpty++;
            for (long q : qids) {
                String prev = owner.put(q, s);
                assertEquals(null, prev, "question " + q + " in both " + prev + " and " + s);
            }
        }
        assertEquals(4, nonEmpty);
    }

    static final String HEAD = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<posts>\n";

    static String q(long id, long accepted, String title) {
        return "  <row Id=\"" + id + "\" PostTypeId=\"1\"" + (accepted > 0 ? " AcceptedAnswerId=\"" + accepted + "\"" : "")
                + " Score=\"3\" Title=\"" + title + "\" Body=\"&lt;p&gt;body " + id + "&lt;/p&gt;\" />\n";
    }

    static String a(long id, long parent, long score) {
        return "  <row Id=\"" + id + "\" PostTypeId=\"2\" ParentId=\"" + parent + "\" Score=\"" + score
                + "\" Body=\"&lt;p&gt;answer " + id + "&lt;/p&gt;\" />\n";
    }

    @Test
    void handMadeRowsAnyOrderScoresAndMalformedCounted() throws Exception {
        // answers before their question, a question split around another's, an orphan, bad rows
        String xml = HEAD
                + a(11, 10, 5) // 3
                + a(12, 10, 0) // 0, accepted: 1
                + q(20, 0, "Other")
                + a(21, 20, 2) // 2
                + q(10, 12, "First")
                + a(13, 10, -3) // -1
                + a(22, 20, 2) // 2: tie with 21, never paired
                + a(99, 555, 4) // orphan
                + "  <row PostTypeId=\"2\" ParentId=\"10\" Score=\"1\" Body=\"x\" />\n"
                + "  <row Id=\"30\" PostTypeId=\"2\" ParentId=\"10\" Score=\"many\" Body=\"x\" />\n"
                + "  <row Id=\"31\" PostTypeId=\"2\" Score=\"1\" Body=\"x\" />\n"
                + "  <row Id=\"32\" PostTypeId=\"5\" Body=\"wiki\" />\n"
                + "</posts>\n";
        Path f = tmp.resolve("Posts.xml");
        Files.writeString(f, xml);
        Path out = tmp.resolve("o");
        Prepare.Stats st = Prepare.run(new Prepare.Config(List.of(f), out, 0, 10,
                Splits.parse("reward=1"), 1 << 20, 64, null));
        assertEquals(2, st.questions);
        assertEquals(6, st.answers);
        assertEquals(1, st.skipped.get(PostsReader.MISSING_ID));
        assertEquals(1, st.skipped.get(PostsReader.BAD_NUMBER));
        assertEquals(1, st.skipped.get(PostsReader.ANSWER_WITHOUT_PARENT));
        assertEquals(1, st.skipped.get(PostsReader.OTHER_POST_TYPE));
        assertEquals(1, st.skipped.get(Prepare.ANSWER_WITHOUT_QUESTION));
        assertEquals(5, st.skipped.total());
        List<JsonNode> rows = lines(out.resolve("reward.jsonl"));
        assertEquals(3, rows.size(), "question 10: 3>1, 3>-1, 1>-1; question 20: one tie, no pair");
        List<String> got = new ArrayList<>();
        for (JsonNode r : rows) {
            assertEquals(10, r.get("qid").asLong());
            assertEquals("First\n\nbody 10", r.get("question").asText());
            got.add(r.get("response_j").asText() + ">" + r.get("response_k").asText() + " " + r.get("score_j") + ">" + r.get("score_k"));
        }
        got.sort(null); // the rows are shuffled
        assertEquals(List.of("answer 11>answer 12 3>1", "answer 11>answer 13 3>-1", "answer 12>answer 13 1>-1"), got);
    }

    @Test
    void maxPairsPerQuestionCapsAndDependsOnSeed() throws Exception {
        StringBuilder xml = new StringBuilder(HEAD).append(q(1, 0, "Many"));
        for (int i = 0; i < 8; i++) xml.append(a(100 + i, 1, (1L << i) - 1)); // scores 0..7 all distinct: 28 pairs
        xml.append("</posts>\n");
        Path f = tmp.resolve("Posts.xml");
        Files.writeString(f, xml.toString());
        List<String> first = null;
        for (long seed : new long[] {1, 1, 2}) {
            Path out = tmp.resolve("cap" + seed + (first == null ? "" : "b"));
            Prepare.Stats st = Prepare.run(new Prepare.Config(List.of(f), out, seed, 5, Splits.parse("finetune=1"), 1 << 20, 64, null));
            assertEquals(5, st.pairs());
            List<String> pairs = new ArrayList<>();
            for (JsonNode r : lines(out.resolve("finetune.jsonl"))) pairs.add(r.get("response_j").asText() + "|" + r.get("response_k").asText());
            assertEquals(5, new HashSet<>(pairs).size());
            if (first == null) first = pairs;
            else if (seed == 1) assertEquals(first, pairs);
            else assertNotEquals(first, pairs);
        }
    }

    @Test
    void truncatedXmlFailsWithLineNumberAndWritesNothing() throws Exception {
        String xml = HEAD + q(1, 0, "T") + a(2, 1, 1) + a(3, 1, 4) + "  <row Id=\"4\" PostTypeId=\"2\" Par";
        Path f = tmp.resolve("Posts.xml");
        Files.writeString(f, xml);
        Path out = tmp.resolve("trunc");
        DataFormatException e = assertThrows(DataFormatException.class, () -> prepare(f, out, 0, 1 << 20));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("line 6"), e.getMessage());
        assertEquals(Map.of(), contents(out), "no partial output, no temp files");
    }

    @Test
    void realDumpCutMidwayFailsWithItsLine() throws Exception {
        Path beer = SharedFiles.require("data/stackexchange/beer/Posts.xml");
        byte[] all = Files.readAllBytes(beer);
        byte[] cut = java.util.Arrays.copyOf(all, all.length / 2);
        long newlines = 0;
        for (byte b : cut) if (b == '\n') newlines++;
        Path f = tmp.resolve("Posts.xml");
        Files.write(f, cut);
        DataFormatException e = assertThrows(DataFormatException.class, () -> prepare(f, tmp.resolve("cut"), 0, 1 << 20));
        assertTrue(e.getMessage().contains("line " + (newlines + 1)), e.getMessage());
    }
}
