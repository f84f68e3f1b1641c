package dev.stackllama4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.TensorType;
import dev.stackllama4j.io.Npy;
import dev.stackllama4j.testing.SharedFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliTest {
    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = new Main(Main.allCommands()).run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void usageErrorsExitTwoWithAMessage() {
        assertEquals(2, run().code());
        Run r = run("no-such-command");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown command"));
        r = run("init", "--dim", "abc", "--out", tmp.resolve("x.gguf").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--dim expects an integer"), r.err());
        assertEquals(2, run("init").code());
        assertEquals(2, run("inspect", "--bogus-flag").code());
    }

    @Test
    void everyCommandHasHelp() {
        for (Command c : Main.allCommands()) {
            Run r = run(c.name(), "--help");
            assertEquals(0, r.code(), c.name());
            assertTrue(r.out().contains("stackllama4j " + c.name()), c.name() + ": " + r.out());
        }
    }

    @Test
    void failuresExitOneWithoutStackTraceUnlessVerbose() throws Exception {
        Path bad = tmp.resolve("bad.gguf");
        Files.writeString(bad, "GGUF but not really");
        Run r = run("inspect", bad.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("bad.gguf"), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
        r = run("inspect", bad.toString(), "--verbose");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("\tat "), r.err());
    }

    @Test
    void initWritesALoadableLlamaGgufThatInspectDescribes() throws Exception {
        Path f = tmp.resolve("m.gguf");
        Run r = run("init", "--out", f.toString(), "--dim", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2",
                "--ffn", "160", "--vocab", "400", "--rope-base", "50000", "--type", "q8_0", "--seed", "7");
        assertEquals(0, r.code(), r.err());
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals("llama", g.getString("general.architecture"));
            assertEquals(64, g.getLong("llama.embedding_length"));
            assertEquals(2, g.getLong("llama.attention.head_count_kv"));
            assertEquals(50000.0, g.getDouble("llama.rope.freq_base"), 1e-3);
            assertEquals(400, g.getStringArray("tokenizer.ggml.tokens").length);
            assertEquals(TensorType.Q8_0, g.tensor("blk.1.ffn_down.weight").type());
            assertEquals(TensorType.F32, g.tensor("blk.1.ffn_norm.weight").type());
            assertArrayEquals(new long[] {160, 64}, g.tensor("blk.1.ffn_down.weight").dims());
        }
        Run json = run("inspect", f.toString(), "--json");
        assertEquals(0, json.code(), json.err());
        JsonNode root = new ObjectMapper().readTree(json.out());
        assertEquals(3, root.get("version").asInt());
        assertEquals(2 + 9 * 2 + 1, root.get("tensors").size());
        assertEquals(400, root.get("metadata").get("tokenizer.ggml.tokens").get("length").asInt());
        try (LlamaModel m = LlamaModel.load(f)) {
            assertEquals(400, m.info().vocab());
            assertFalse(m.info().tiedOutput());
            int[] ids = m.tokenizer().encode("Answer: 42", true, false);
            assertEquals(ids.length, m.logits(ids).length);
        }
        // same seed, same bytes; another seed, other weights
        Path again = tmp.resolve("again.gguf"), other = tmp.resolve("other.gguf");
        run("init", "--out", again.toString(), "--dim", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ffn",
                "160", "--vocab", "400", "--rope-base", "50000", "--type", "q8_0", "--seed", "7");
        run("init", "--out", other.toString(), "--dim", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ffn",
                "160", "--vocab", "400", "--rope-base", "50000", "--type", "q8_0", "--seed", "8");
        assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(again));
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(f), Files.readAllBytes(other)));
    }

    @Test
    void initRejectsShapesTheTypeCannotHold() {
        Run r = run("init", "--out", tmp.resolve("x.gguf").toString(), "--dim", "48", "--heads", "4", "--type", "q4_0");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("multiples of 32"), r.err());
    }

    @Test
    void logitsWritesNpyMatchingTheModelAndTokenizeRoundTrips() throws Exception {
        Path model = SharedFiles.require("models/stories260K/stories260K.gguf");
        Run tok = run("tokenize", "--model", model.toString(), "--text", "Once upon a time");
        assertEquals("1 403 407 261 378", tok.out().trim());
        Run detok = run("detokenize", "--model", model.toString(), "--tokens", "403,407,261,378");
        assertEquals("Once upon a time", detok.out().trim());
        Path npy = tmp.resolve("l.npy");
        Run r = run("logits", "--model", model.toString(), "--tokens", "1,403,407", "--out", npy.toString());
        assertEquals(0, r.code(), r.err());
        Npy.Array a = Npy.read(npy);
        assertArrayEquals(new long[] {3, 512}, a.shape());
        try (LlamaModel m = LlamaModel.load(model)) {
            float[][] l = m.logits(new int[] {1, 403, 407});
            for (int i = 0; i < 3; i++) for (int v = 0; v < 512; v++) assertEquals(l[i][v], a.get(i, v));
        }
    }

    @Test
    void greedyGenerateReproducesTheStories260KSample() throws Exception {
        Path model = SharedFiles.require("models/stories260K/stories260K.gguf");
        Run r = run("generate", "--model", model.toString(), "--temperature", "0", "--max-tokens", "200");
        assertEquals(0, r.code(), r.err());
        String doc = Files.readString(model.resolveSibling("karpathy_doc_stories260K.md"));
        String expected = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";
        assertTrue(doc.contains(expected));
        assertTrue(r.out().startsWith(expected), r.out());
        // the first 200 characters of the author's sample, wherever it starts in the note
        String sample = doc.substring(doc.indexOf("Once upon a time"));
        assertEquals(sample.substring(0, 200), r.out().substring(0, 200));
    }

    Path tinyModel() {
        Path f = tmp.resolve("tiny.gguf");
        if (!Files.exists(f)) {
            Run r = run("init", "--out", f.toString(), "--dim", "64", "--layers", "1", "--heads", "4", "--kv-heads", "2", "--ffn", "128",
                    "--vocab", "400", "--ctx", "64");
            assertEquals(0, r.code(), r.err());
        }
        return f;
    }

    @Test
    void duplicateFlagsAndStrayWordsAreUsageErrors() throws Exception {
        Run r = run("init", "--out", tmp.resolve("x.gguf").toString(), "--dim", "64", "--dim", "128");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--dim is given more than once"), r.err());
        r = run("init", "stray", "--out", tmp.resolve("x.gguf").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unexpected argument 'stray'"), r.err());
        r = run("inspect", tmp.resolve("a.gguf").toString(), tmp.resolve("b.gguf").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unexpected argument '" + tmp.resolve("b.gguf") + "'"), r.err());
        assertFalse(Files.exists(tmp.resolve("x.gguf")));
        // flags a command declares repeatable stay repeatable
        Path site = tmp.resolve("site/Posts.xml");
        assertEquals(0, run("synth-site", "--out", site.toString(), "--questions", "20").code());
        Run p = run("prepare", "--posts", site.toString(), "--posts", site.toString(), "--out", tmp.resolve("data").toString());
        assertEquals(0, p.code(), p.err());
    }

    @Test
    void mergeRefusesToWriteOverItsInputs() throws Exception {
        Path m = tinyModel();
        Path a = tmp.resolve("a.gguf");
        Files.writeString(a, "not read");
        byte[] before = Files.readAllBytes(m);
        Run r = run("merge", "--model", m.toString(), "--adapter", a.toString(), "--out", m.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("is the --model file"), r.err());
        assertArrayEquals(before, Files.readAllBytes(m));
    }

    @Test
    void generateAndLogitsRefuseToRunPastTheContext() throws Exception {
        Path m = tinyModel();
        Run r = run("generate", "--model", m.toString(), "--max-tokens", "100", "--temperature", "0");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--max-tokens 100 exceed the context of 64"), r.err());
        r = run("generate", "--model", m.toString(), "--max-tokens", "100", "--temperature", "0", "--ignore-eos", "--truncate");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("at most 63 new tokens"), r.err());
        assertTrue(r.err().contains("[63 tokens"), r.err());
        StringBuilder ids = new StringBuilder("1");
        for (int i = 0; i < 70; i++) ids.append(",5");
        r = run("logits", "--model", m.toString(), "--tokens", ids.toString(), "--out", tmp.resolve("l.npy").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("the input has 71 tokens, past the model's context of 64"), r.err());
        assertFalse(Files.exists(tmp.resolve("l.npy")));
    }

    @Test
    void aTrainingCommandOnAFolderInUseFailsAtOnceNamingTheHolder() throws Exception {
        Path m = tinyModel();
        Path train = tmp.resolve("t.jsonl");
        Files.writeString(train, "{\"text\": \"hello world\"}\n");
        Path out = tmp.resolve("run");
        try (dev.stackllama4j.io.FolderLock held = dev.stackllama4j.io.FolderLock.acquire(out, System.err)) {
            Run r = run("sft", "--model", m.toString(), "--train-file", train.toString(), "--output", out.toString());
            assertEquals(1, r.code());
            assertTrue(r.err().contains(out + " is in use by another run (pid " + ProcessHandle.current().pid()), r.err());
        }
        Run r = run("sft", "--model", m.toString(), "--train-file", train.toString(), "--output", out.toString(), "--resume", "--overwrite");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--resume and --overwrite exclude each other"), r.err());
        Path file = tmp.resolve("plain-file");
        Files.writeString(file, "x");
        r = run("sft", "--model", m.toString(), "--train-file", train.toString(), "--output", file.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains(file + ": cannot create the output folder: a file of that name is in the way"), r.err());
    }

    /** File errors name the file and the reason, not the path alone. */
    @Test
    void fileErrorsSayWhy() throws Exception {
        Path plain = tmp.resolve("plain");
        Files.writeString(plain, "x");
        Run r = run("synth-site", "--out", plain.resolve("Posts.xml").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains(plain + ": a file of that name is in the way (not a directory?)")
                || r.err().contains(plain.resolve("Posts.xml") + ": not a directory"), r.err());
    }

    @Test
    void generateChatUsesTheTemplateAndStopStringsCutTheText() throws Exception {
        Path model = SharedFiles.require("models/stories260K/stories260K.gguf");
        Run stop = run("generate", "--model", model.toString(), "--temperature", "0", "--max-tokens", "60", "--stop", "Lily");
        assertEquals(0, stop.code(), stop.err());
        assertEquals("Once upon a time, there was a little girl named \n", stop.out());
        assertTrue(stop.err().contains("stop string"), stop.err());
        Run chat = run("generate", "--model", model.toString(), "--chat", "--system", "You tell stories.", "--prompt",
                "Tell me a story", "--temperature", "0", "--max-tokens", "16");
        assertEquals(0, chat.code(), chat.err());
        try (LlamaModel m = LlamaModel.load(model);
                dev.stackllama4j.inference.LlamaEngine e = dev.stackllama4j.inference.LlamaEngine.create(m)) {
            String expected = e.complete(dev.stackllama4j.inference.CompletionRequest.builder()
                    .messages(java.util.List.of(dev.stackllama4j.inference.ChatMessage.system("You tell stories."),
                            dev.stackllama4j.inference.ChatMessage.user("Tell me a story")))
                    .sampling(dev.stackllama4j.inference.Sampling.greedy()).maxTokens(16).build()).text();
            assertEquals(expected + "\n", chat.out());
        }
        assertEquals(2, run("generate", "--model", model.toString(), "--system", "x").code(), "--system needs --chat");
    }

    /**
     * --device: cpu runs on the CPU; auto says in one line which device it picked; cuda without a usable GPU fails
     * with exit 1 saying why; a training command refuses cuda as a usage error (training runs on the CPU).
     */
    @Test
    void deviceFlagPicksAndRefusesClearly() throws Exception {
        Path model = tinyModel();
        Path npy = tmp.resolve("l.npy");
        Run cpu = run("logits", "--model", model.toString(), "--tokens", "1,2,3", "--out", npy.toString(), "--device", "cpu");
        assertEquals(0, cpu.code(), cpu.err());
        assertFalse(cpu.err().contains("device auto"), cpu.err());
        Run auto = run("logits", "--model", model.toString(), "--tokens", "1,2,3", "--out", npy.toString(), "--device", "auto");
        assertEquals(0, auto.code(), auto.err());
        assertEquals(1, auto.err().lines().filter(l -> l.startsWith("device auto: running on the ")).count(), auto.err());
        if (dev.stackllama4j.engine.Backend.cudaDeviceCount() == 0) {
            // Both name the reason the CUDA plugin gave (no driver, no runtime, no device).
            String reason = dev.stackllama4j.engine.CudaRuntimeTest.noGpuReason();
            assertTrue(auto.err().contains("device auto: running on the CPU: " + reason + "\n"), auto.err());
            Run cuda = run("logits", "--model", model.toString(), "--tokens", "1,2,3", "--out", npy.toString(), "--device", "cuda");
            assertEquals(1, cuda.code(), cuda.err());
            assertTrue(cuda.err().contains("device cuda asked, but " + reason + ": use device cpu or auto"), cuda.err());
        }
        // Training takes --device too: --dry-run plans for the device auto picks (the CPU here when no
        // GPU is usable: no device line); cuda without a GPU fails with the engine's reason.
        Path texts = Files.writeString(tmp.resolve("t.jsonl"), "{\"text\": \"a\"}\n");
        Run sftAuto = run("sft", "--model", model.toString(), "--device", "auto", "--train-file", texts.toString(),
                "--text-field", "text", "--output", tmp.resolve("run").toString(), "--dry-run");
        assertEquals(0, sftAuto.code(), sftAuto.err());
        assertTrue(sftAuto.out().contains("sft memory plan (peak)"), sftAuto.out());
        if (dev.stackllama4j.engine.Backend.cudaDeviceCount() == 0) {
            assertFalse(sftAuto.out().contains("device (cuda) peak"), sftAuto.out());
            for (String command : new String[] {"sft", "train-reward", "dpo"}) {
                Run cuda = command.equals("sft")
                        ? run(command, "--model", model.toString(), "--device", "cuda", "--train-file", texts.toString(),
                                "--text-field", "text", "--output", tmp.resolve("run-" + command).toString())
                        : run(command, "--model", model.toString(), "--device", "cuda", "--train-file", texts.toString(),
                                "--output", tmp.resolve("run-" + command).toString());
                assertEquals(1, cuda.code(), command + ": " + cuda.err());
                assertTrue(cuda.err().contains("device cuda asked, but "), command + ": " + cuda.err());
            }
        }
        assertEquals(2, run("logits", "--model", model.toString(), "--tokens", "1", "--device", "tpu").code());
    }

    /**
     * sft --device cuda --dry-run plans without a GPU (the model is only mapped): the host and
     * device peaks are printed, --json carries the device bytes, and --device-memory-limit below
     * the device peak refuses the run with exit 1 naming both figures.
     */
    @Test
    void cudaDryRunPlansTheDeviceWithoutAGpu() throws Exception {
        Path model = tinyModel();
        Path texts = Files.writeString(tmp.resolve("t.jsonl"), "{\"text\": \"a\"}\n");
        String[] sft = {"sft", "--model", model.toString(), "--device", "cuda", "--train-file", texts.toString(), "--text-field", "text",
                "--output", tmp.resolve("run").toString(), "--dry-run"};
        Run dry = run(sft);
        assertEquals(0, dry.code(), dry.err());
        assertTrue(dry.out().contains("sft memory plan (peak) on cuda:"), dry.out());
        String deviceLine = dry.out().lines().filter(l -> l.trim().startsWith("device (cuda) peak")).findFirst().orElse("");
        assertTrue(deviceLine.matches("\\s*device \\(cuda\\) peak\\s+[0-9.]+ (MiB|GiB)"), dry.out());
        assertTrue(dry.out().contains("host peak"), dry.out());
        assertFalse(Files.exists(tmp.resolve("run")), "a dry run writes no run folder");

        Run json = run(java.util.stream.Stream.concat(java.util.Arrays.stream(sft), java.util.stream.Stream.of("--json"))
                .toArray(String[]::new));
        assertEquals(0, json.code(), json.err());
        var tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.out());
        assertEquals("cuda", tree.get("device").asText());
        long device = tree.get("device_bytes").asLong();
        var parts = tree.get("plan_bytes");
        assertEquals(device, parts.get("device").asLong());
        // sft on cuda: every part but the runtime on the device, with the CUDA reserve (1 GiB estimate);
        // the host keeps the runtime and the mapped file
        assertEquals(1L << 30, parts.get("device_reserve").asLong());
        long onDevice = 0;
        for (String part : new String[] {"weights", "kv_cache", "activations", "lora", "gradients", "optimizer", "logits_chunk", "scratch",
                "device_reserve"})
            onDevice += parts.get(part).asLong();
        assertEquals(onDevice, device, json.out());
        assertEquals(parts.get("runtime").asLong() + parts.get("weights").asLong(), parts.get("total").asLong(), json.out());

        Run small = run(java.util.stream.Stream.concat(java.util.Arrays.stream(sft), java.util.stream.Stream.of("--device-memory-limit", "0.5"))
                .toArray(String[]::new));
        assertEquals(1, small.code(), small.out() + small.err());
        assertTrue(small.err().contains("sft: the plan needs " + PlanFlags.gib(device) + " on the device (cuda) but --device-memory-limit is 512.0 MiB"),
                small.err());
        Run enough = run(java.util.stream.Stream.concat(java.util.Arrays.stream(sft), java.util.stream.Stream.of("--device-memory-limit", "24"))
                .toArray(String[]::new));
        assertEquals(0, enough.code(), enough.err());
        assertTrue(enough.out().contains("device limit"), enough.out());
        assertEquals(2, run(java.util.stream.Stream.concat(java.util.Arrays.stream(sft), java.util.stream.Stream.of("--device-memory-limit", "0"))
                .toArray(String[]::new)).code());
    }
}
