package dev.stackllama4j.data;

import dev.stackllama4j.testing.SharedFiles;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReadersTest {
    @TempDir
    Path tmp;

    @Test
    void lvwerraSchemaRow() throws Exception {
        Path f = tmp.resolve("paired.jsonl");
        Files.writeString(f, "{\"qid\": 12, \"question\": \"Q?\", \"date\": \"2010/01/01\", \"metadata\": [\"https://x\"],"
                + " \"response_j\": \"good\", \"response_k\": \"bad\"}\n\n"
                + "{\"qid\": 13, \"question\": \"R?\", \"response_j\": \"a\", \"response_k\": \"b\", \"score_j\": 3, \"score_k\": -1}\n");
        List<PairedJsonl.Row> rows = new ArrayList<>();
        assertEquals(2, PairedJsonl.read(f, rows::add));
        assertEquals("12", rows.get(0).qid());
        assertNull(rows.get(0).scoreJ());
        assertEquals("Question: Q?\n\nAnswer: good", rows.get(0).chosenText());
        assertEquals("Question: Q?\n\nAnswer: bad", rows.get(0).rejectedText());
        assertEquals(3, rows.get(1).scoreJ());
        assertEquals(-1, rows.get(1).scoreK());
    }

    @Test
    void missingFieldNamesFileLineField() throws Exception {
        Path f = tmp.resolve("bad.jsonl");
        Files.writeString(f, "{\"qid\": 1, \"question\": \"Q\", \"response_j\": \"a\", \"response_k\": \"b\"}\n{\"qid\": 2, \"question\": \"Q\", \"response_j\": \"a\"}\n");
        DataFormatException e = assertThrows(DataFormatException.class, () -> PairedJsonl.read(f, r -> {}));
        assertEquals(f + ": line 2: missing field 'response_k'", e.getMessage());
        Files.writeString(f, "{\"qid\": 1, \"question\": \"Q\"\n");
        e = assertThrows(DataFormatException.class, () -> PairedJsonl.read(f, r -> {}));
        assertTrue(e.getMessage().startsWith(f + ": line 1: not a JSON object"), e.getMessage());
    }

    @Test
    void readsPrepareOutputBack() throws Exception {
        Path posts = SharedFiles.require("data/stackexchange/coffee/Posts.xml");
        Prepare.Stats st = Prepare.run(Prepare.Config.of(List.of(posts), tmp.resolve("o"), 0));
        long n = PairedJsonl.read(tmp.resolve("o/finetune.jsonl"), r -> assertTrue(r.scoreJ() > r.scoreK()));
        assertEquals(st.pairsPerSplit.get("finetune").longValue(), n);
    }

    @Test
    void hhSplitSharedPrompt() {
        HhRlhf.Row r = HhRlhf.split("\n\nHuman: hi\n\nAssistant: hello\n\nHuman: q\n\nAssistant: yes",
                "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: q\n\nAssistant: no");
        assertEquals("\n\nHuman: hi\n\nAssistant: hello\n\nHuman: q\n\nAssistant:", r.prompt());
        assertEquals(" yes", r.chosenResponse());
        assertEquals(" no", r.rejectedResponse());
    }

    @Test
    void hhGzipRoundTrip() throws Exception {
        Path f = tmp.resolve("x.jsonl.gz");
        try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(f))) {
            o.write("{\"chosen\": \"\\n\\nHuman: a\\n\\nAssistant: b\", \"rejected\": \"\\n\\nHuman: a\\n\\nAssistant: c\"}\n".getBytes());
        }
        List<HhRlhf.Row> rows = new ArrayList<>();
        assertEquals(1, HhRlhf.read(f, rows::add));
        assertEquals(" b", rows.get(0).chosenResponse());
    }

    @Test
    void realHarmlessBaseTestSplit() throws Exception {
        // counts and structure only: the content is red-teaming material and is never printed
        Path f = SharedFiles.require("data/hh-rlhf/harmless-base_test.jsonl.gz");
        long[] withPrompt = {0};
        long rows = HhRlhf.read(f, r -> {
            if (r.prompt() == null) return;
            withPrompt[0]++;
            if (!r.prompt().startsWith("\n\nHuman:") || !(r.prompt() + r.chosenResponse()).equals(r.chosen())
                    || !(r.prompt() + r.rejectedResponse()).equals(r.rejected())) {
                throw new AssertionError("a row does not split into prompt + response");
            }
        });
        assertEquals(2312, rows);
        assertTrue(withPrompt[0] >= 2300, "rows with a shared prompt: " + withPrompt[0]);
    }

    @Test
    void prepareResplitsPairedJsonlAndHh() throws Exception {
        Path posts = SharedFiles.require("data/stackexchange/coffee/Posts.xml");
        Path first = tmp.resolve("first");
        Prepare.Stats a = Prepare.run(new Prepare.Config(List.of(posts), first, 0, 10, Splits.parse("reward=1"), 1 << 20, 8, null));
        // everything into reward, then re-split those pairs by qid: each question stays whole
        Path second = tmp.resolve("second");
        Prepare.Stats b = Prepare.run(new Prepare.Config(List.of(), second, 0, 10, Splits.defaults(), 1 << 20, 8, null,
                List.of(first.resolve("reward.jsonl")), List.of()));
        assertEquals(a.pairs(), b.jsonlRows);
        assertEquals(a.questionsWithPairs, b.questionsWithPairs);
        long rlPairs = b.pairsSampled - b.pairs();
        assertEquals(a.pairs(), b.pairs() + rlPairs);
        assertEquals(b.questionsPerSplit.get("rl").longValue(), b.rlPrompts);
        java.util.Map<Long, String> owner = new java.util.HashMap<>();
        for (String s : Splits.NAMES) {
            for (var r : PrepareTest.lines(second.resolve(s + ".jsonl"))) {
                String prev = owner.put(r.get("qid").asLong(), s);
                if (prev != null && !prev.equals(s)) throw new AssertionError("qid " + r.get("qid") + " in " + prev + " and " + s);
            }
        }

        Path hh = SharedFiles.require("data/hh-rlhf/harmless-base_test.jsonl.gz");
        Prepare.Stats h = Prepare.run(new Prepare.Config(List.of(), tmp.resolve("hh"), 0, 10, Splits.defaults(), 1 << 20, 8, null,
                List.of(), List.of(hh)));
        assertEquals(2312, h.jsonlRows);
        assertEquals(2312, h.pairsSampled + h.skipped.get(Prepare.HH_NO_SHARED_PROMPT));
        assertEquals(h.pairsSampled, h.pairs() + h.rlPrompts);
    }
}
