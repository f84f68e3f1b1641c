package dev.stackllama4j.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy's .npy format (version 1.0) for little-endian float32 arrays, so our outputs can be
 * compared with any other implementation: {@code np.load("logits.npy")}.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

    /** A float32 array with its shape (C order). */
    public record Array(long[] shape, float[] data) {
        public int rows() {
            return (int) shape[0];
        }

        public int cols() {
            return shape.length > 1 ? (int) shape[1] : 1;
        }

        public float get(int r, int c) {
            return data[r * cols() + c];
        }
    }

    private Npy() {}

    /** Writes rows × cols floats atomically (temporary file, then rename). */
    public static void write(Path path, float[][] rows) throws IOException {
        int cols = rows.length == 0 ? 0 : rows[0].length;
        float[] flat = new float[rows.length * cols];
        for (int r = 0; r < rows.length; r++) {
            if (rows[r].length != cols) throw new IllegalArgumentException("ragged rows: row " + r + " has " + rows[r].length);
            System.arraycopy(rows[r], 0, flat, r * cols, cols);
        }
        write(path, new long[] {rows.length, cols}, flat);
    }

    public static void write(Path path, long[] shape, float[] data) throws IOException {
        StringBuilder dims = new StringBuilder();
        for (long d : shape) dims.append(d).append(", ");
        String shapeText = shape.length == 1 ? "(" + shape[0] + ",)" : "(" + dims.substring(0, dims.length() - 2) + ")";
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shapeText + ", }";
        int headerLen = MAGIC.length + 2 + 2 + dict.length() + 1;
        int pad = (64 - headerLen % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteBuffer body = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        body.asFloatBuffer().put(data);
        AtomicFiles.write(path, out -> {
            out.write(MAGIC);
            out.write(new byte[] {1, 0});
            int n = header.length();
            out.write(new byte[] {(byte) (n & 0xff), (byte) (n >> 8)});
            out.write(header.getBytes(StandardCharsets.US_ASCII));
            out.write(body.array());
        });
    }

    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");

    public static Array read(Path path) throws IOException {
        byte[] all = Files.readAllBytes(path);
        if (all.length < 10) throw new IOException(path + ": too short for a .npy file");
        for (int i = 0; i < MAGIC.length; i++)
            if (all[i] != MAGIC[i]) throw new IOException(path + ": not a .npy file (bad magic)");
        int major = all[6];
        int headerLen;
        int start;
        if (major == 1) {
            headerLen = (all[8] & 0xff) | (all[9] & 0xff) << 8;
            start = 10;
        } else {
            headerLen = ByteBuffer.wrap(all, 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
            start = 12;
        }
        if (start + headerLen > all.length) throw new IOException(path + ": header runs past the end of the file");
        String header = new String(all, start, headerLen, StandardCharsets.US_ASCII);
        Matcher d = DESCR.matcher(header), s = SHAPE.matcher(header), f = FORTRAN.matcher(header);
        if (!d.find() || !s.find() || !f.find()) throw new IOException(path + ": malformed header " + header.trim());
        if (!d.group(1).equals("<f4")) throw new IOException(path + ": dtype " + d.group(1) + ", expected <f4 (float32)");
        if (f.group(1).equals("True")) throw new IOException(path + ": Fortran order is not supported");
        String[] parts = s.group(1).split(",");
        long[] shape = java.util.Arrays.stream(parts).map(String::trim).filter(x -> !x.isEmpty()).mapToLong(Long::parseLong).toArray();
        long n = 1;
        for (long x : shape) n *= x;
        int dataStart = start + headerLen;
        if (all.length - dataStart != n * 4)
            throw new IOException(path + ": " + (all.length - dataStart) + " data bytes, expected " + n * 4 + " for shape " + s.group(1));
        float[] data = new float[(int) n];
        ByteBuffer.wrap(all, dataStart, (int) n * 4).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
        return new Array(shape, data);
    }
}
