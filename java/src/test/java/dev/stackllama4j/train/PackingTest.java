package dev.stackllama4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PackingTest {
    // BOS 1, EOS 2; examples [10 11 12], [20 21], [30 31 32 33], seq length 4:
    // stream 1 10 11 12 2 | 1 20 21 2 | 1 30 31 32 33 2  (15 tokens) -> chunks of 4, 3 left over
    @Test
    void packsLikeStackLlamaOnAHandMadeExample() {
        Packing p = new Packing(4, 1, 2);
        List<Packing.Chunk> chunks = new ArrayList<>();
        chunks.addAll(p.add(new int[] {10, 11, 12}));
        chunks.addAll(p.add(new int[] {20, 21}));
        chunks.addAll(p.add(new int[] {30, 31, 32, 33}));
        assertEquals(3, chunks.size());
        assertEquals(3, p.pending());
        assertArrayEquals(new int[] {1, 10, 11, 12}, chunks.get(0).tokens());
        assertArrayEquals(new int[] {2, 1, 20, 21}, chunks.get(1).tokens());
        assertArrayEquals(new int[] {2, 1, 30, 31}, chunks.get(2).tokens());
        // labels = inputs, shifted inside the chunk; the last position has no target
        assertArrayEquals(new int[] {10, 11, 12, -100}, chunks.get(0).targets());
        assertArrayEquals(new int[] {1, 20, 21, -100}, chunks.get(1).targets());
        // document starts: a chunk's tail of the previous document starts at 0, each BOS starts one
        assertArrayEquals(new long[] {0, 0, 0, 0}, chunks.get(0).docStart());
        assertArrayEquals(new long[] {0, 1, 1, 1}, chunks.get(1).docStart());
        assertArrayEquals(new long[] {0, 1, 1, 1}, chunks.get(2).docStart());
    }

    @Test
    void everyTokenOfTheStreamAppearsOnceInOrder() {
        Packing p = new Packing(7, 1, 2);
        List<Integer> stream = new ArrayList<>(), packed = new ArrayList<>();
        for (int e = 0; e < 50; e++) {
            int[] ex = new int[e % 9];
            for (int i = 0; i < ex.length; i++) ex[i] = 100 + e * 10 + i;
            stream.add(1);
            for (int t : ex) stream.add(t);
            stream.add(2);
            for (Packing.Chunk c : p.add(ex)) for (int t : c.tokens()) packed.add(t);
        }
        assertEquals(stream.subList(0, packed.size()), packed);
        assertTrue(stream.size() - packed.size() < 7);
    }
}
