package dev.stackllama4j.data;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Comparator;

/**
 * What the external sort carries: a post keyed so that a question and its answers come out
 * together, question first ({@code kind} 0), answers after it by id ({@code kind} 1).
 * {@code value} is the question's AcceptedAnswerId or the answer's net score; {@code text} the
 * converted question text or answer text; {@code date} the question's CreationDate ("" for answers).
 */
public record SortRecord(long group, int kind, long id, long value, String text, String date) {
    public static final int QUESTION = 0;
    public static final int ANSWER = 1;

    public static final Comparator<SortRecord> ORDER = Comparator.comparingLong(SortRecord::group)
            .thenComparingInt(SortRecord::kind)
            .thenComparingLong(SortRecord::id);

    public SortRecord(long group, int kind, long id, long value, String text) {
        this(group, kind, id, value, text, "");
    }

    /** Heap bytes this record holds, over-estimated (UTF-16 worst case plus object headers). */
    public long heapBytes() {
        return 96 + 2L * text.length() + (date.isEmpty() ? 0 : 40 + 2L * date.length());
    }

    void write(DataOutputStream out) throws IOException {
        out.writeLong(group);
        out.writeByte(kind);
        out.writeLong(id);
        out.writeLong(value);
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
        out.writeUTF(date);
    }

    /** The next record, or null at a clean end of the run. */
    static SortRecord read(DataInputStream in) throws IOException {
        long group;
        try {
            group = in.readLong();
        } catch (EOFException e) {
            return null;
        }
        int kind = in.readByte();
        long id = in.readLong();
        long value = in.readLong();
        int n = in.readInt();
        if (n < 0) throw new IOException("corrupt sort run: negative text length " + n);
        byte[] b = new byte[n];
        in.readFully(b);
        return new SortRecord(group, kind, id, value, new String(b, StandardCharsets.UTF_8), in.readUTF());
    }
}
