package dev.stackllama4j.engine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The identity of a base model (a "trunk"), which adapters and reward models record so that they
 * are not run on a model they were not trained on. It is the SHA-256 of every tensor's name, type
 * and dims, in file order, and of a sample of its data: the first and last {@value #SAMPLE} bytes
 * (all of a smaller tensor). Metadata alone cannot tell a base from a fine-tuned or merged copy
 * (same names, types and shapes), the sampled bytes do; reading them costs a few kilobytes per
 * tensor, not the model. A quantized copy of a model is another trunk.
 */
public final class TrunkId {
    /** The GGUF key adapters, reward models and checkpoints record the trunk under. */
    public static final String KEY = "stackllama4j.trunk.sha256";
    /** Bytes sampled from each end of a tensor's data. */
    static final int SAMPLE = 4096;

    /** What a mismatch does. */
    public enum Check {
        /** Fail with an error naming both files, the key and both identities. */
        REFUSE,
        /** Print a warning on stderr and go on. */
        WARN
    }

    private TrunkId() {}

    /** The identity of the GGUF model at {@code model}, as 64 hex digits. */
    public static String of(Path model) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        md.update("stackllama4j trunk v1\n".getBytes(StandardCharsets.UTF_8));
        try (GgufFile f = GgufFile.open(model); FileChannel ch = FileChannel.open(model, StandardOpenOption.READ)) {
            for (GgufTensorInfo t : f.tensors()) {
                StringBuilder b = new StringBuilder(t.name()).append('\t').append(t.type().name());
                for (long d : t.dims()) b.append('\t').append(d);
                md.update(b.append('\n').toString().getBytes(StandardCharsets.UTF_8));
                long start = f.dataOffset() + t.offset(), n = t.nBytes();
                if (n <= 2L * SAMPLE) {
                    sample(ch, start, (int) n, md);
                } else {
                    sample(ch, start, SAMPLE, md);
                    sample(ch, start + n - SAMPLE, SAMPLE, md);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(model + ": cannot read tensor data for the trunk identity", e);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static void sample(FileChannel ch, long pos, int n, MessageDigest md) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(n);
        while (buf.hasRemaining()) {
            if (ch.read(buf, pos + buf.position()) < 0) throw new IOException("file ends inside a tensor at byte " + (pos + buf.position()));
        }
        md.update(buf.flip());
    }

    /**
     * Checks that {@code file} (an adapter, reward model or checkpoint, open as {@code f}) was
     * trained on {@code model}. A file that records no identity gets a warning (it predates the key
     * and cannot be checked); a different identity is refused or warned about as {@code check} says.
     */
    public static void check(GgufFile f, LlamaModel model, Check check) {
        String what = f.getString("general.type", "").equals("adapter") ? "adapter" : "file";
        if (!f.has(KEY)) {
            System.err.println("warning: " + f.path() + " records no trunk identity (" + KEY + "; written by an older version): cannot check "
                    + "that this " + what + " was trained on " + model.path());
            return;
        }
        String recorded = f.getString(KEY), actual = model.trunkId();
        if (recorded.equals(actual)) return;
        String msg = f.path() + ": " + KEY + " is " + recorded + " (the base model it was trained on) but " + model.path() + " is " + actual
                + ": the " + what + " was trained on a different trunk (another model, a fine-tuned or merged copy, or another "
                + "quantization), so its outputs would not mean what they meant in training";
        if (check == Check.REFUSE)
            throw new IllegalArgumentException(msg + ". Load it onto the model it was trained on (ppo: --reward-model for a reward model "
                    + "trained on another trunk than the policy's), or pass --allow-trunk-mismatch to run anyway");
        System.err.println("WARNING: " + msg + "; going on anyway");
    }
}
