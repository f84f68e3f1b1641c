package dev.stackllama4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.model.ModelShape;
import dev.stackllama4j.model.RandomModel;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.ppo.Prompts;
import dev.stackllama4j.reward.RewardData;
import dev.stackllama4j.train.SftData;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One validation policy for every JSONL reader (sft texts, pairs for train-reward and prepare, RL prompts). */
class JsonlPolicyTest {
    @TempDir
    Path tmp;

    interface Reader {
        void read(Path f) throws Exception;
    }

    /** The readers of the training commands and of prepare --paired-jsonl, by name. */
    List<Object[]> readers() {
        List<Object[]> r = new ArrayList<>();
        r.add(new Object[] {"sft", (Reader) f -> SftData.readTexts(f, null)});
        r.add(new Object[] {"pairs (train-reward, prepare --paired-jsonl)", (Reader) f -> PairedJsonl.read(f, row -> {})});
        return r;
    }

    Path file(String name, String content) throws Exception {
        Path f = tmp.resolve(name);
        Files.writeString(f, content, StandardCharsets.UTF_8);
        return f;
    }

    static final String PAIR = "{\"qid\": 1, \"question\": \"q?\", \"response_j\": \"good\", \"response_k\": \"bad\"}";

    void assertRefused(Path f, String expected) {
        for (Object[] r : readers()) {
            Exception e = assertThrows(Exception.class, () -> ((Reader) r[1]).read(f), (String) r[0]);
            assertTrue(e instanceof DataFormatException, r[0] + ": " + e);
            assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains(expected), r[0] + ": " + e.getMessage());
        }
    }

    @Test
    void deepNestingAndOverlongLinesAreRefusedWithFileAndLine() throws Exception {
        String deep = "{\"a\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}";
        assertRefused(file("deep.jsonl", PAIR + "\n" + deep + "\n"), ": line 2: nested deeper than 64 levels");
        Path big = tmp.resolve("big.jsonl");
        try (OutputStream o = Files.newOutputStream(big)) {
            o.write((PAIR + "\n{\"qid\": 2, \"question\": \"").getBytes(StandardCharsets.UTF_8));
            byte[] chunk = "x".repeat(1 << 20).getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < 17; i++) o.write(chunk);
            o.write("\"}\n".getBytes(StandardCharsets.UTF_8));
        }
        assertRefused(big, ": line 2: longer than 16 MiB");
    }

    @Test
    void textFieldsMustBeStringsInEveryReader() throws Exception {
        assertRefused(file("num.jsonl", "{\"qid\": 1, \"question\": 123, \"response_j\": \"a\", \"response_k\": \"b\"}\n"),
                ": line 1: field 'question' should be a string, is NUMBER");
        assertRefused(file("arr.jsonl", "{\"qid\": 1, \"question\": \"q\", \"response_j\": [\"a\"], \"response_k\": \"b\"}\n"),
                ": line 1: field 'response_j' should be a string, is ARRAY");
    }

    @Test
    void invalidUtf8IsRefusedAndAByteOrderMarkAccepted() throws Exception {
        Path bad = tmp.resolve("bad.jsonl");
        byte[] row = PAIR.getBytes(StandardCharsets.UTF_8);
        byte[] broken = PAIR.replace("good", "go\u00ffd").getBytes(StandardCharsets.ISO_8859_1);
        try (OutputStream o = Files.newOutputStream(bad)) {
            o.write(row);
            o.write('\n');
            o.write(broken);
            o.write('\n');
        }
        assertRefused(bad, ": line 2: not valid UTF-8");
        Path bom = file("bom.jsonl", "\uFEFF" + PAIR + "\r\n" + PAIR + "\n");
        assertEquals(2, SftData.readTexts(bom, null).size());
        int[] n = {0};
        PairedJsonl.read(bom, r -> n[0]++);
        assertEquals(2, n[0]);
    }

    @Test
    void promptsAndRewardPairsReportWhatWasDroppedAndWhy() throws Exception {
        Path m = tmp.resolve("m.gguf");
        RandomModel.write(new ModelShape(64, 1, 4, 2, 128, 400, 64, 10000, 1e-5, false), TensorType.F32, 1, m);
        try (LlamaModel model = LlamaModel.load(m)) {
            Path prompts = file("rl.jsonl", "{\"qid\": 1, \"question\": \"" + "a long question ".repeat(40) + "\"}\n");
            int[] dropped = {0};
            DataFormatException e = assertThrows(DataFormatException.class,
                    () -> Prompts.read(prompts, model.tokenizer(), 20, dropped, "the model's context 64 minus --max-new-tokens 44"));
            assertTrue(e.getMessage().contains("no usable prompts: all 1 are longer than 20 tokens (the model's context 64 minus "
                    + "--max-new-tokens 44; the longest has"), e.getMessage());
            assertEquals(1, dropped[0]);
            RewardData.Loaded l = RewardData.load(file("pairs.jsonl", PAIR + "\n"), model.tokenizer(), 2);
            assertEquals(1, l.dropped());
        }
    }
}
