package dev.stackllama4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackllama4j.testing.SharedFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The memory plan of the commands: --dry-run prints it (JSON with --json) and exits 0; over the limit, exit 1 naming the fix. */
class PlanFlagsTest {
    @TempDir
    Path tmp;

    static final String MODEL = "src/test/resources/fixtures/models/gqa_f32.gguf";

    private String[] sft(String... extra) throws Exception {
        Path train = tmp.resolve("train.jsonl");
        Files.writeString(train, "{\"text\": \"hello\"}\n");
        String[] base = {"sft", "--model", model(), "--train-file", train.toString(), "--text-field", "text", "--output",
            tmp.resolve("out").toString(), "--seq-length", "64", "--batch-size", "2"};
        String[] all = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return all;
    }

    private static String model() {
        Path p = Path.of(MODEL);
        return (Files.exists(p) ? p : Path.of("java").resolve(MODEL)).toString();
    }

    @Test
    void sftDryRunPrintsThePlanAsJsonAndStartsNothing() throws Exception {
        CliTest.Run r = CliTest.run(sft("--dry-run", "--json"));
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("sft", j.get("command").asText());
        JsonNode p = j.get("plan_bytes");
        long sum = 0;
        for (String part : new String[] {"weights", "kv_cache", "activations", "lora", "gradients", "optimizer", "logits_chunk",
            "scratch", "runtime"})
            sum += p.get(part).asLong();
        assertEquals(p.get("total").asLong(), sum);
        assertEquals(Files.size(Path.of(model())), p.get("weights").asLong());
        assertEquals(p.get("activations_without_checkpointing").asLong(), p.get("activations").asLong());
        assertTrue(p.get("activations_with_checkpointing").asLong() < p.get("activations").asLong());
        assertTrue(p.get("lora").asLong() > 0 && p.get("optimizer").asLong() == 2 * p.get("lora").asLong());
        assertEquals(0, p.get("device").asLong());
        assertFalse(Files.exists(tmp.resolve("out")), "a dry run writes nothing");

        CliTest.Run ck = CliTest.run(sft("--dry-run", "--json", "--activation-checkpointing"));
        JsonNode q = new ObjectMapper().readTree(ck.out()).get("plan_bytes");
        assertEquals(q.get("activations_with_checkpointing").asLong(), q.get("activations").asLong());
        assertEquals(p.get("activations_with_checkpointing").asLong(), q.get("activations").asLong());

        CliTest.Run text = CliTest.run(sft("--dry-run"));
        assertEquals(0, text.code());
        assertTrue(text.out().contains("sft memory plan (peak)") && text.out().contains("optimizer state"), text.out());
    }

    /**
     * pretrain and sft --full plan every weight as an F32 copy with its gradient and two AdamW
     * moments (16 bytes per parameter, counted here from the model's shape by hand), no LoRA
     * buffers; pretrain --dry-run names itself and writes nothing.
     */
    @Test
    void pretrainAndSftFullPlanEveryWeightInF32() throws Exception {
        String[] sftArgs = sft("--dry-run", "--json");
        String[] pre = sftArgs.clone();
        pre[0] = "pretrain";
        CliTest.Run r = CliTest.run(pre);
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("pretrain", j.get("command").asText());
        JsonNode p = j.get("plan_bytes");
        dev.stackllama4j.engine.ModelInfo i;
        try (dev.stackllama4j.engine.LlamaModel m = dev.stackllama4j.engine.LlamaModel.load(Path.of(model()))) {
            i = m.info();
        }
        long kv = i.kvHeads() * i.headDim();
        long layer = 2 * i.dim() + 2 * i.dim() * i.dim() + 2 * kv * i.dim() + 3 * i.ffn() * i.dim();
        long params = i.vocab() * i.dim() * (i.tiedOutput() ? 1 : 2) + i.layers() * layer + i.dim();
        assertEquals(4 * params, p.get("lora").asLong());
        assertEquals(4 * params, p.get("gradients").asLong());
        assertEquals(8 * params, p.get("optimizer").asLong());
        assertFalse(Files.exists(tmp.resolve("out")), "a dry run writes nothing");

        String[] full = java.util.Arrays.copyOf(sftArgs, sftArgs.length + 1);
        full[sftArgs.length] = "--full";
        JsonNode f = new ObjectMapper().readTree(CliTest.run(full).out()).get("plan_bytes");
        for (String part : new String[] {"weights", "activations", "lora", "gradients", "optimizer", "logits_chunk", "scratch"})
            assertEquals(p.get(part).asLong(), f.get(part).asLong(), part);
        JsonNode lora = new ObjectMapper().readTree(CliTest.run(sftArgs).out()).get("plan_bytes");
        assertTrue(lora.get("lora").asLong() < p.get("lora").asLong() / 4, "a LoRA plan holds far fewer trainable values");

        String[] tight = java.util.Arrays.copyOf(pre, pre.length + 2);
        tight[pre.length] = "--memory-limit";
        tight[pre.length + 1] = "0.001";
        CliTest.Run refused = CliTest.run(tight);
        assertEquals(1, refused.code());
        assertTrue(refused.err().contains("16 bytes per model parameter") && refused.err().contains("LoRA adapter"), refused.err());
    }

    @Test
    void aPlanOverTheLimitIsRefusedWithTheFlagThatFixesIt() throws Exception {
        CliTest.Run r = CliTest.run(sft("--memory-limit", "0.001"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--memory-limit") && r.err().contains("add --activation-checkpointing"), r.err());
        assertFalse(Files.exists(tmp.resolve("out")), "a refused run writes nothing");
        CliTest.Run ck = CliTest.run(sft("--memory-limit", "0.001", "--activation-checkpointing", "--dry-run"));
        assertEquals(1, ck.code(), "a dry run of a plan that does not fit fails too");
        assertTrue(ck.err().contains("smaller --batch-size or --seq-length"), ck.err());
        assertEquals(2, CliTest.run(sft("--memory-limit", "-1")).code());
    }

    @Test
    void generatePlansItsKvCacheByType() throws Exception {
        Path model = SharedFiles.require("models/stories260K/stories260K.gguf");
        long[] kv = new long[2];
        String[] types = {"f16", "f32"};
        for (int i = 0; i < 2; i++) {
            CliTest.Run r = CliTest.run("generate", "--model", model.toString(), "--prompt", "Once", "--max-tokens", "100",
                    "--kv-type", types[i], "--dry-run", "--json");
            assertEquals(0, r.code(), r.err());
            kv[i] = new ObjectMapper().readTree(r.out()).get("plan_bytes").get("kv_cache").asLong();
        }
        assertTrue(kv[0] > 0);
        assertEquals(2 * kv[0], kv[1]);
        assertEquals(2, CliTest.run("generate", "--model", model.toString(), "--kv-type", "q8", "--dry-run").code());
    }
}
