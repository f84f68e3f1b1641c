package dev.stackllama4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExternalSorterTest {
    @TempDir
    Path tmp;

    private static List<SortRecord> sortWith(Path dir, List<SortRecord> in, long buffer, int fanIn, long[] runs) throws Exception {
        List<SortRecord> out = new ArrayList<>();
        try (ExternalSorter s = new ExternalSorter(dir, buffer, fanIn)) {
            for (SortRecord r : in) s.add(r);
            Iterator<SortRecord> it = s.sorted();
            while (it.hasNext()) out.add(it.next());
            runs[0] = s.spills();
        }
        assertFalse(Files.exists(dir), "run files left behind");
        return out;
    }

    @Test
    void spilledMultiPassMergeEqualsInMemorySort() throws Exception {
        SplittableRandom rng = new SplittableRandom(3);
        List<SortRecord> in = new ArrayList<>();
        for (int i = 0; i < 20000; i++) {
            StringBuilder t = new StringBuilder();
            int len = rng.nextInt(40);
            for (int j = 0; j < len; j++) t.append((char) ('a' + rng.nextInt(26)));
            if (i % 97 == 0) t.append("\u00e9\u4e2d\ud83d\ude00"); // non-ASCII survives the runs
            in.add(new SortRecord(rng.nextInt(500), rng.nextInt(2), rng.nextInt(1_000_000), rng.nextLong(), t.toString()));
        }
        List<SortRecord> expect = new ArrayList<>(in);
        expect.sort(SortRecord.ORDER);
        long[] runs = new long[1];
        assertEquals(expect, sortWith(tmp.resolve("a"), in, 1 << 16, 3, runs));
        assertEquals(true, runs[0] > 9, "runs " + runs[0]); // more than fanIn^2: at least two merge passes
        assertEquals(expect, sortWith(tmp.resolve("b"), in, 1L << 30, 3, runs));
        assertEquals(0, runs[0]);
    }
}
