package dev.stackllama4j.data;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.PriorityQueue;

/**
 * Sorts more records than fit in memory: records collect in a buffer of at most
 * {@code bufferBytes} (estimated), each full buffer is sorted and spilled as a run file, and the
 * runs are merged k ways (at most {@code fanIn} open at once, in several passes if need be). Heap use
 * is the buffer plus {@code fanIn} stream buffers, whatever the input size.
 */
public final class ExternalSorter implements Closeable {
    private static final int IO_BUFFER = 1 << 16;

    private final Path dir;
    private final long bufferBytes;
    private final int fanIn;
    private final List<SortRecord> buffer = new ArrayList<>();
    private final List<Path> runs = new ArrayList<>();
    private long buffered;
    private int runCounter;
    private long spills;
    private boolean finished;
    private Merger open;

    /** {@code dir} is created and owned by the sorter: close() deletes it with every run in it. */
    public ExternalSorter(Path dir, long bufferBytes, int fanIn) throws IOException {
        if (bufferBytes < 1024) throw new IllegalArgumentException("sort buffer must be at least 1 KiB, got " + bufferBytes);
        if (fanIn < 2) throw new IllegalArgumentException("merge fan-in must be at least 2, got " + fanIn);
        this.dir = Files.createDirectories(dir);
        this.bufferBytes = bufferBytes;
        this.fanIn = fanIn;
    }

    public void add(SortRecord r) throws IOException {
        if (finished) throw new IllegalStateException("add after sorted()");
        buffer.add(r);
        buffered += r.heapBytes();
        if (buffered >= bufferBytes) spill();
    }

    /** Number of run files written so far (0 when everything fitted in the buffer). */
    public long spills() {
        return spills;
    }

    private void spill() throws IOException {
        if (buffer.isEmpty()) return;
        buffer.sort(SortRecord.ORDER);
        Path run = dir.resolve("run-" + (runCounter++) + ".bin");
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(run), IO_BUFFER))) {
            for (SortRecord r : buffer) r.write(out);
        }
        runs.add(run);
        spills++;
        buffer.clear();
        buffered = 0;
    }

    /** All records added, in {@link SortRecord#ORDER}. Call once, after the last add. */
    public Iterator<SortRecord> sorted() throws IOException {
        if (finished) throw new IllegalStateException("sorted() called twice");
        finished = true;
        if (runs.isEmpty()) {
            buffer.sort(SortRecord.ORDER);
            return List.copyOf(buffer).iterator();
        }
        spill();
        List<Path> level = new ArrayList<>(runs);
        while (level.size() > fanIn) {
            List<Path> next = new ArrayList<>();
            for (int i = 0; i < level.size(); i += fanIn) {
                List<Path> group = level.subList(i, Math.min(level.size(), i + fanIn));
                Path merged = dir.resolve("run-" + (runCounter++) + ".bin");
                try (Merger m = new Merger(group);
                        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(merged), IO_BUFFER))) {
                    while (m.hasNext()) m.next().write(out);
                }
                for (Path p : group) Files.deleteIfExists(p);
                next.add(merged);
            }
            level = next;
        }
        open = new Merger(level);
        return open;
    }

    @Override
    public void close() throws IOException {
        buffer.clear();
        if (open != null) open.close();
        try (var s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) Files.deleteIfExists(p);
        } catch (java.nio.file.NoSuchFileException ignored) {
            return;
        }
        Files.deleteIfExists(dir);
    }

    /** k-way merge of sorted runs through a priority queue of each run's head record. */
    private static final class Merger implements Iterator<SortRecord>, Closeable {
        private record Head(SortRecord rec, DataInputStream in, int run) {}

        private final PriorityQueue<Head> heads = new PriorityQueue<>((a, b) -> {
            int c = SortRecord.ORDER.compare(a.rec, b.rec);
            return c != 0 ? c : Integer.compare(a.run, b.run); // equal keys: earlier run first, stable
        });
        private final List<DataInputStream> streams = new ArrayList<>();

        Merger(List<Path> runs) throws IOException {
            try {
                for (int i = 0; i < runs.size(); i++) {
                    DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(runs.get(i)), IO_BUFFER));
                    streams.add(in);
                    SortRecord r = SortRecord.read(in);
                    if (r != null) heads.add(new Head(r, in, i));
                }
            } catch (IOException e) {
                close();
                throw e;
            }
        }

        @Override
        public boolean hasNext() {
            return !heads.isEmpty();
        }

        @Override
        public SortRecord next() {
            Head h = heads.poll();
            if (h == null) throw new NoSuchElementException();
            try {
                SortRecord r = SortRecord.read(h.in);
                if (r != null) heads.add(new Head(r, h.in, h.run));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return h.rec;
        }

        @Override
        public void close() {
            for (DataInputStream s : streams) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // read-only temp runs; nothing to lose
                }
            }
        }
    }
}
