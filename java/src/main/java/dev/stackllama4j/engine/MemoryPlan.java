package dev.stackllama4j.engine;

import dev.stackllama4j.bridge.global.sl4j;
import dev.stackllama4j.bridge.sl4j_memory_plan_params;
import dev.stackllama4j.bridge.sl4j_memory_plan_result;
import dev.stackllama4j.bridge.sl4j_model_info;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The planned peak memory of a command, by part, computed by the engine ({@code sl4j_memory_plan},
 * the one place this arithmetic lives) before anything large is allocated.
 */
public final class MemoryPlan {
    private MemoryPlan() {}

    /** What runs: the modes of {@code sl4j_plan_mode}. */
    public enum Mode {
        GENERATE(0), SFT(1), REWARD(2), PPO(3),
        /** Every weight trainable (pretrain, sft --full): F32 copies, gradients and AdamW moments of each; no LoRA. */
        FULL(4);

        final int id;

        Mode(int id) {
            this.id = id;
        }
    }

    /**
     * The settings the plan depends on (see {@code sl4j_memory_plan_params} for each field).
     * Sizes of 0 leave a part out: kvSeqs 0 = no decoding session, inferBatch 0 = no no-grad pass.
     * {@code device}: where the command runs ({@link Device#CPU}: every part on the host; CUDA or
     * AUTO: split into device and host bytes, see {@link Result#device()}).
     */
    public record Params(Mode mode, long weightBytes, long extraBytes, long runtimeBytes, int batch, int seqLen,
                         boolean checkpointing, int loraR, int loraTargets, int inferBatch, int inferSeqLen, int kvSeqs,
                         int kvCtx, KvType kvType, int prefillRows, boolean fullKl, Device device) {
        /** On the CPU. */
        public Params(Mode mode, long weightBytes, long extraBytes, long runtimeBytes, int batch, int seqLen, boolean checkpointing,
                      int loraR, int loraTargets, int inferBatch, int inferSeqLen, int kvSeqs, int kvCtx, KvType kvType, int prefillRows,
                      boolean fullKl) {
            this(mode, weightBytes, extraBytes, runtimeBytes, batch, seqLen, checkpointing, loraR, loraTargets, inferBatch, inferSeqLen,
                    kvSeqs, kvCtx, kvType, prefillRows, fullKl, Device.CPU);
        }

        /** Without PPO's {@code full} KL estimator. */
        public Params(Mode mode, long weightBytes, long extraBytes, long runtimeBytes, int batch, int seqLen, boolean checkpointing,
                      int loraR, int loraTargets, int inferBatch, int inferSeqLen, int kvSeqs, int kvCtx, KvType kvType, int prefillRows) {
            this(mode, weightBytes, extraBytes, runtimeBytes, batch, seqLen, checkpointing, loraR, loraTargets, inferBatch, inferSeqLen,
                    kvSeqs, kvCtx, kvType, prefillRows, false);
        }

        /** The same plan on {@code d}. */
        public Params on(Device d) {
            return new Params(mode, weightBytes, extraBytes, runtimeBytes, batch, seqLen, checkpointing, loraR, loraTargets, inferBatch,
                    inferSeqLen, kvSeqs, kvCtx, kvType, prefillRows, fullKl, d);
        }

        /** A decoding session only (generate). */
        public static Params generate(long weightBytes, long runtimeBytes, int seqs, int ctx, KvType kv, int prefillRows) {
            return new Params(Mode.GENERATE, weightBytes, 0, runtimeBytes, 0, 0, false, 0, 0, 0, 0, seqs, ctx, kv, prefillRows);
        }
    }

    /**
     * Bytes by part, as {@code sl4j_memory_plan_result}: {@code total} is host bytes, {@code device}
     * the device's (0 on the CPU; on CUDA the engine's buffers and weights plus {@code deviceReserve},
     * an estimate for the CUDA context), {@code on} the device planned for.
     */
    public record Result(long weights, long kvCache, long activations, long activationsFull, long activationsCheckpointed,
                         long lora, long gradients, long optimizer, long logitsChunk, long scratch, long runtime, long deviceReserve,
                         long total, long device, Device on) {
        /** The parts in print order (JSON field names). */
        public Map<String, Long> parts() {
            Map<String, Long> m = new LinkedHashMap<>();
            m.put("weights", weights);
            m.put("kv_cache", kvCache);
            m.put("activations", activations);
            m.put("activations_without_checkpointing", activationsFull);
            m.put("activations_with_checkpointing", activationsCheckpointed);
            m.put("lora", lora);
            m.put("gradients", gradients);
            m.put("optimizer", optimizer);
            m.put("logits_chunk", logitsChunk);
            m.put("scratch", scratch);
            m.put("runtime", runtime);
            m.put("device_reserve", deviceReserve);
            m.put("total", total);
            m.put("device", device);
            return m;
        }
    }

    public static Result compute(ModelInfo info, Params p) {
        Native.load();
        try (sl4j_model_info i = new sl4j_model_info(); sl4j_memory_plan_params q = sl4j.sl4j_memory_plan_default_params();
                sl4j_memory_plan_result r = new sl4j_memory_plan_result()) {
            i.n_vocab(info.vocab()).dim(info.dim()).n_layers(info.layers()).n_heads(info.heads()).n_kv_heads(info.kvHeads())
                    .head_dim(info.headDim()).ffn(info.ffn()).n_rot(info.rotDims()).tied_output(info.tiedOutput() ? 1 : 0);
            q.mode(p.mode().id).weight_bytes(p.weightBytes()).extra_bytes(p.extraBytes()).runtime_bytes(p.runtimeBytes())
                    .batch(p.batch()).seq_len(p.seqLen()).checkpointing(p.checkpointing() ? 1 : 0).lora_r(p.loraR())
                    .lora_targets(p.loraTargets()).infer_batch(p.inferBatch()).infer_seq_len(p.inferSeqLen())
                    .kv_seqs(p.kvSeqs()).kv_ctx(p.kvCtx()).kv_type(p.kvType().type.id).prefill_rows(p.prefillRows()).full_kl(p.fullKl() ? 1 : 0)
                    .device(p.device().id);
            Native.check(sl4j.sl4j_memory_plan(i, q, r));
            return new Result(r.weights(), r.kv_cache(), r.activations(), r.activations_full(), r.activations_checkpointed(),
                    r.lora(), r.gradients(), r.optimizer(), r.logits_chunk(), r.scratch(), r.runtime(), r.device_reserve(), r.total(), r.device(),
                    p.device());
        }
    }

    /** MemAvailable of /proc/meminfo in bytes, or -1 where it cannot be read (not Linux). */
    public static long hostAvailable() {
        return meminfo(Path.of("/proc/meminfo"), "MemAvailable:");
    }

    /** This process's resident bytes now (VmRSS), or 0 where it cannot be read: a plan's runtime part. */
    public static long processResident() {
        return Math.max(0, meminfo(Path.of("/proc/self/status"), "VmRSS:"));
    }

    /** A "Key:   123 kB" line of a /proc file in bytes, or -1. */
    static long meminfo(Path file, String key) {
        try {
            for (String line : Files.readAllLines(file))
                if (line.startsWith(key)) return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]) * 1024;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
