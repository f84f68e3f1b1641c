package dev.stackllama4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.sevenz.SevenZArchiveEntry;
import org.apache.commons.compress.archivers.sevenz.SevenZOutputFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code prepare} over site dumps as published: .7z archives, folders of sites, several sites per run. */
class SiteDumpsTest {
    @TempDir
    Path tmp;

    private static final String[] SITES = {"alpha.stackexchange.com", "beta.stackexchange.com"};

    /** Both sites twice: {@code sevenz/SITE.7z} and {@code xml/SITE/Posts.xml}, the same content. */
    private void writeSites() throws Exception {
        for (int i = 0; i < SITES.length; i++) {
            SynthSite.writeSevenZ(tmp.resolve("sevenz/" + SITES[i] + ".7z"), 150 + 50 * i, 11 + i, SynthSite.Difficulty.STANDARD);
            Path xml = tmp.resolve("xml/" + SITES[i] + "/Posts.xml");
            Files.createDirectories(xml.getParent());
            try (Writer w = Files.newBufferedWriter(xml, StandardCharsets.UTF_8)) {
                SynthSite.write(w, 150 + 50 * i, 11 + i, SynthSite.Difficulty.STANDARD);
            }
        }
    }

    private static Prepare.Stats prepare(List<Path> posts, Path out) throws Exception {
        return Prepare.run(new Prepare.Config(posts, out, 3, 10, Splits.defaults(), 1 << 20, 8, null));
    }

    @Test
    void twoSitesAsSevenZipGiveTheSamePairsAsTheUnpackedXml() throws Exception {
        writeSites();
        Prepare.Stats z = prepare(List.of(tmp.resolve("sevenz")), tmp.resolve("out-7z"));
        Prepare.Stats x = prepare(List.of(tmp.resolve("xml")), tmp.resolve("out-xml"));
        // the same as naming each site's file, in the same order
        Prepare.Stats each = prepare(List.of(tmp.resolve("xml/" + SITES[0] + "/Posts.xml"), tmp.resolve("sevenz/" + SITES[1] + ".7z")),
                tmp.resolve("out-each"));
        long xmlBytes = 0;
        for (String s : SITES) xmlBytes += Files.size(tmp.resolve("xml/" + s + "/Posts.xml"));
        assertEquals(xmlBytes, z.bytesRead, "a .7z counts the XML it holds");
        assertEquals(xmlBytes, x.bytesRead);
        assertEquals(x.questions, z.questions);
        assertEquals(x.pairs(), z.pairs());
        assertTrue(z.pairs() > 100, "pairs " + z.pairs());
        for (String s : Splits.NAMES) {
            byte[] a = Files.readAllBytes(tmp.resolve("out-7z/" + s + ".jsonl"));
            assertArrayEquals(Files.readAllBytes(tmp.resolve("out-xml/" + s + ".jsonl")), a, s);
            assertArrayEquals(Files.readAllBytes(tmp.resolve("out-each/" + s + ".jsonl")), a, s);
        }
        assertEquals(x.pairs(), each.pairs());

        // every row names its site; a qid belongs to one site; both sites' rows are there
        Map<Long, String> siteOfQid = new HashMap<>();
        Set<String> sites = new HashSet<>();
        for (String s : Splits.NAMES) {
            for (JsonNode r : PrepareTest.lines(tmp.resolve("out-7z/" + s + ".jsonl"))) {
                String site = r.get("site").asText();
                sites.add(site);
                long qid = r.get("qid").asLong();
                String before = siteOfQid.putIfAbsent(qid, site);
                if (before != null) assertEquals(before, site, "qid " + qid + " in two sites");
                long local = qid & ((1L << Prepare.SITE_SHIFT) - 1);
                assertEquals(site.equals(SITES[0]) ? 0 : 1, qid >>> Prepare.SITE_SHIFT, "site number above the site's own id");
                if (!s.equals(Splits.RL)) {
                    assertEquals("https://" + site + "/questions/" + local, r.get("metadata").get(0).asText());
                }
            }
        }
        assertEquals(Set.of(SITES), sites);
    }

    @Test
    void pairRowsCarryTheStackExchangePairedColumns() throws Exception {
        writeSites();
        Path out = tmp.resolve("out");
        Prepare.Stats st = prepare(List.of(tmp.resolve("sevenz/" + SITES[0] + ".7z")), out);
        List<String> expected = List.of("qid", "question", "date", "metadata", "response_j", "response_k", "score_j", "score_k", "site");
        long rows = 0;
        for (String s : Splits.pairSplits()) {
            for (JsonNode r : PrepareTest.lines(out.resolve(s + ".jsonl"))) {
                List<String> names = new ArrayList<>();
                r.fieldNames().forEachRemaining(names::add);
                assertEquals(expected, names);
                assertTrue(r.get("qid").isIntegralNumber());
                // SynthSite dates its posts from 2020-01-01 on, one a minute
                assertTrue(r.get("date").asText().matches("202\\d/\\d\\d/\\d\\d"), r.get("date").asText());
                JsonNode m = r.get("metadata");
                assertTrue(m.isArray() && m.size() == 2, m.toString());
                assertEquals("https://" + SITES[0], m.get(1).asText());
                assertEquals(SITES[0], r.get("site").asText());
                rows++;
            }
            // a script written for stack-exchange-paired reads ours: our own reader of that schema takes it
            long[] read = {0};
            PairedJsonl.read(out.resolve(s + ".jsonl"), row -> read[0]++);
            assertEquals(st.pairsPerSplit.get(s).longValue(), read[0]);
        }
        assertEquals(st.pairs(), rows);
        assertTrue(rows > 0);
    }

    @Test
    void pipelineGivesTheSameBytesWithAnyNumberOfConverters() throws Exception {
        writeSites();
        Map<Integer, Prepare.Stats> st = new HashMap<>();
        for (int threads : new int[] {1, 2, 5}) {
            // a 64 kB sort buffer: several spills, so the sorter's input order would show in ties
            st.put(threads, Prepare.run(new Prepare.Config(List.of(tmp.resolve("xml")), tmp.resolve("t" + threads), 0, 10,
                    Splits.defaults(), 64 << 10, 4, null, List.of(), List.of(), threads)));
            assertTrue(st.get(threads).sortRuns > 1, "sort runs " + st.get(threads).sortRuns);
        }
        for (String s : new String[] {"finetune.jsonl", "reward.jsonl", "rl.jsonl", "evaluation.jsonl", "stats.json"}) {
            byte[] one = Files.readAllBytes(tmp.resolve("t1/" + s));
            assertArrayEquals(one, Files.readAllBytes(tmp.resolve("t2/" + s)), s);
            assertArrayEquals(one, Files.readAllBytes(tmp.resolve("t5/" + s)), s);
        }
        assertEquals(st.get(1).questions + st.get(1).answers, st.get(5).questions + st.get(5).answers);
    }

    /** The real dumps (HTML both in and outside the one-pass subset): the same bytes with 1 and 3 converters. */
    @Test
    void realSitesGiveTheSameBytesWithAnyNumberOfConverters() throws Exception {
        List<Path> sites = List.of(dev.stackllama4j.testing.SharedFiles.require("data/stackexchange/beer/Posts.xml"),
                dev.stackllama4j.testing.SharedFiles.require("data/stackexchange/coffee/Posts.xml"));
        for (int threads : new int[] {1, 3}) {
            Prepare.Stats st = Prepare.run(new Prepare.Config(sites, tmp.resolve("real" + threads), 0, 10, Splits.defaults(), 256 << 10, 4,
                    null, List.of(), List.of(), threads));
            assertTrue(st.sortRuns > 1 && st.pairs() > 1000, "sort runs " + st.sortRuns + ", pairs " + st.pairs());
        }
        for (String s : new String[] {"finetune.jsonl", "reward.jsonl", "rl.jsonl", "evaluation.jsonl", "stats.json"})
            assertArrayEquals(Files.readAllBytes(tmp.resolve("real1/" + s)), Files.readAllBytes(tmp.resolve("real3/" + s)), s);
    }

    /**
     * Bounded memory at CI scale: a 48 MB dump through {@code prepare} in a JVM whose whole heap is
     * 12 MB (the ratio of a 1 GB dump under -Xmx256m), sort buffer 1 MB, the pipeline on; an
     * OutOfMemoryError would end the child with a non-zero status.
     */
    @Test
    void fourTimesTheHeapOfXmlRunsInBoundedMemory() throws Exception {
        Path posts = tmp.resolve("big/Posts.xml");
        Files.createDirectories(posts.getParent());
        try (Writer w = Files.newBufferedWriter(posts, StandardCharsets.UTF_8)) {
            SynthSite.write(w, 43_000, 5, SynthSite.Difficulty.STANDARD);
        }
        long bytes = Files.size(posts);
        assertTrue(bytes > 46_000_000, "input " + bytes);
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx12m",
                "-XX:+ExitOnOutOfMemoryError", "-cp", System.getProperty("java.class.path"), "dev.stackllama4j.cli.Main", "prepare",
                "--posts", posts.toString(), "--out", tmp.resolve("big-out").toString(), "--buffer-mb", "1", "--threads", "2")
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), log);
        JsonNode stats = PrepareTest.JSON.readTree(tmp.resolve("big-out/stats.json").toFile());
        assertEquals(bytes, stats.get("input_bytes").asLong());
        assertEquals(43_000, stats.get("questions").asLong());
        assertTrue(stats.get("pairs").asLong() > 40_000, log);
    }

    @Test
    void pairedDateIsTheQuestionsDay() {
        assertEquals("2011/03/04", Prepare.pairedDate("2011-03-04T10:20:30.123"));
        assertEquals("", Prepare.pairedDate(""));
    }

    @Test
    void siteNamesFromTheDumpsFileNames() {
        assertEquals("beer.stackexchange.com", PostsSource.ofFile(Path.of("d/beer.stackexchange.com.7z")).site());
        assertEquals("stackoverflow.com", PostsSource.ofFile(Path.of("d/stackoverflow.com-Posts.7z")).site());
        assertEquals("coffee.stackexchange.com", PostsSource.ofFile(Path.of("d/coffee.stackexchange.com/Posts.xml")).site());
    }

    @Test
    void archiveWithoutPostsXmlAndEmptyFolderFailNamingTheFile() throws Exception {
        Path bad = tmp.resolve("nothing.7z");
        try (SevenZOutputFile z = new SevenZOutputFile(bad.toFile())) {
            SevenZArchiveEntry e = new SevenZArchiveEntry();
            e.setName("Users.xml");
            z.putArchiveEntry(e);
            z.write("<users/>".getBytes(StandardCharsets.UTF_8));
            z.closeArchiveEntry();
        }
        DataFormatException e = assertThrows(DataFormatException.class, () -> prepare(List.of(bad), tmp.resolve("o1")));
        assertTrue(e.getMessage().contains(bad.toString()) && e.getMessage().contains("Posts.xml"), e.getMessage());
        Files.createDirectories(tmp.resolve("empty"));
        e = assertThrows(DataFormatException.class, () -> prepare(List.of(tmp.resolve("empty")), tmp.resolve("o2")));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
        assertTrue(!Files.exists(tmp.resolve("o1/reward.jsonl")) && !Files.exists(tmp.resolve("o2/reward.jsonl")));
    }

    @Test
    void progressCountsTheXmlUpToItsTotal() throws Exception {
        writeSites();
        List<long[]> calls = new ArrayList<>();
        Prepare.Stats st = Prepare.run(new Prepare.Config(List.of(tmp.resolve("sevenz")), tmp.resolve("o"), 0, 10, Splits.defaults(),
                1 << 20, 8, null), System.err, (done, total, rows) -> calls.add(new long[] {done, total, rows}));
        assertEquals(SITES.length, calls.size(), "a call at the end of each site (each is under 1 MB)");
        long[] last = calls.get(calls.size() - 1);
        assertEquals(st.bytesRead, last[0]);
        assertEquals(st.bytesRead, last[1]);
        assertEquals(st.questions + st.answers, last[2]);
        assertTrue(calls.get(0)[0] < last[0] && calls.get(0)[2] < last[2]);
    }
}
