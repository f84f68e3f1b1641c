package dev.stackllama4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackllama4j.engine.ModelInfo;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.inference.Bench;
import dev.stackllama4j.train.LoraConfig;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;

/** The bench command's JSON contract (keys of issues 3 and 4); never its timings. */
class BenchCommandTest {
    @Test
    void jsonHasEveryFigureOfTheIssuesWithPositiveValues() throws Exception {
        CliTest.Run r = CliTest.run("bench", "--dim", "32", "--layers", "1", "--heads", "2", "--kv-heads", "1", "--vocab", "400",
                "--ctx", "64", "--prompt-tokens", "8", "--gen-tokens", "4", "--repeats", "1", "--train-batch", "2",
                "--train-seq", "16", "--matmul-size", "64", "--threads", "1", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        for (String k : new String[] {"prefill_tok_s", "decode_tok_s", "decode_batch8_tok_s", "train_tok_s", "decode_bound_tok_s",
                "train_bound_tok_s", "matmul_f32_gflop_s", "read_bandwidth_gb_s", "train_flops_per_token", "decode_vs_bound",
                "copy_bandwidth_gb_s", "decode_vs_copy_bound"}) {
            assertTrue(j.has(k), "missing " + k + " in " + r.out());
            assertTrue(j.get(k).isNumber() && j.get(k).asDouble() > 0, k + " = " + j.get(k));
        }
        // decode is paired with the read floor run by run: each ratio is that run's tok/s over its floor
        JsonNode tok = j.get("decode_runs_tok_s"), floor = j.get("read_bandwidth_runs_gb_s"), ratio = j.get("decode_vs_bound_runs");
        assertEquals(5, tok.size(), "at least five paired decode runs");
        assertEquals(5, floor.size());
        assertEquals(5, ratio.size());
        double bytes = j.get("weight_bytes_per_token").asDouble(), best = 0;
        for (int i = 0; i < 5; i++) {
            double want = tok.get(i).asDouble() / (floor.get(i).asDouble() * 1e9 / bytes);
            assertEquals(want, ratio.get(i).asDouble(), 1e-3 + 1e-3 * want, "run " + i);
            best = Math.max(best, tok.get(i).asDouble());
        }
        assertEquals(best, j.get("decode_tok_s").asDouble(), 1e-9);
        assertEquals(2, j.get("train_batch").asInt());
        assertEquals(16, j.get("train_seq").asInt());
        assertEquals(Bench.trainFlopsPerToken(tiny(), 16, LoraConfig.defaults()), j.get("train_flops_per_token").asDouble(), 1.0);
        // the AMX decision is reported, and no kernel is named amx where it says AMX is not in use
        String amx = j.get("amx").asText();
        assertTrue(amx.startsWith("amx: "), amx);
        assertEquals(amx, dev.stackllama4j.engine.Backend.amxStatus());
        if (amx.startsWith("amx: unavailable") || amx.startsWith("amx: refused") || amx.startsWith("amx: off"))
            assertTrue(!j.get("prefill_kernels").asText().contains("/amx"), j.get("prefill_kernels").asText());
    }

    @Test
    void trainBatchZeroSkipsTheTrainingFigure() throws Exception {
        CliTest.Run r = CliTest.run("bench", "--dim", "32", "--layers", "1", "--heads", "2", "--vocab", "400", "--ctx", "32",
                "--prompt-tokens", "4", "--gen-tokens", "2", "--repeats", "1", "--train-batch", "0", "--threads", "1", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertTrue(j.get("decode_tok_s").asDouble() > 0);
        assertTrue(!j.has("train_tok_s"), r.out());
        assertEquals(2, CliTest.run("bench", "--train-batch", "-1").code());
    }

    /** The formula's terms counted by hand for a tiny shape, one term at a time. */
    @Test
    void trainFlopsCountEveryMatmulOnce() {
        ModelInfo m = tiny();
        long d = 32, q = 32, kv = 16, f = 96, v = 400, seq = 16, r = 4;
        double p = d * q + 2 * d * kv + q * d + 3 * d * f + d * v; // one layer + output head
        double c = (seq + 1) / 2.0;
        double fwd = 2 * p + 4 * q * c;
        double bwd = 2 * p - 2 * d * (q + 2 * kv) + 8 * q * c;
        double lora = 6 * r * (d + q) - 2 * r * d + 6 * r * (d + kv) - 2 * r * d;
        LoraConfig cfg = new LoraConfig((int) r, 8f, 0f, EnumSet.of(LoraConfig.Target.Q, LoraConfig.Target.V), 1);
        assertEquals(fwd + bwd + lora, Bench.trainFlopsPerToken(m, (int) seq, cfg), 1e-6);
        // more than forward + input gradients (4·P), less than dense training with weight gradients (6·P)
        double got = Bench.trainFlopsPerToken(m, (int) seq, cfg);
        assertTrue(got > 4 * p && got < 6 * p, "flops " + got);
    }

    private static ModelInfo tiny() {
        // the shape of the first test: dim 32, 1 layer, 2 heads of 16, 1 kv head, ffn 96 (8·32/3 rounded up to 32), vocab 400
        return new ModelInfo(400, 32, 1, 2, 1, 16, 96, 16, 64, 10000, 1e-5, false, TensorType.F32);
    }
}
