package dev.stackllama4j.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SamplingTest {
    @Test
    void lengthSamplerBoundsAndBothEnds() {
        LengthSampler s = new LengthSampler(32, 128, 0);
        boolean[] seen = new boolean[129];
        for (int i = 0; i < 20000; i++) {
            int n = s.next();
            assertTrue(n >= 32 && n <= 128, "drawn " + n);
            seen[n] = true;
        }
        for (int n = 32; n <= 128; n++) assertTrue(seen[n], "never drew " + n);
        assertEquals(7, new LengthSampler(7, 7, 3).next());
    }

    @Test
    void lengthSamplerIsSeeded() {
        int[] a = draws(new LengthSampler(32, 128, 42));
        assertArrayEquals(a, draws(new LengthSampler(32, 128, 42)));
        assertFalse(Arrays.equals(a, draws(new LengthSampler(32, 128, 43))));
        assertArrayEquals(a, draws(LengthSampler.of(PpoConfig.builder().seed(42).build())));
        assertThrows(IllegalArgumentException.class, () -> new LengthSampler(10, 9, 0));
        assertThrows(IllegalArgumentException.class, () -> new LengthSampler(0, 9, 0));
    }

    private static int[] draws(LengthSampler s) {
        int[] out = new int[50];
        for (int i = 0; i < out.length; i++) out[i] = s.next();
        return out;
    }

    @Test
    void eosTruncation() {
        assertArrayEquals(new int[] {5, 6, 2}, EosMask.truncate(new int[] {5, 6, 2, 7, 2}, 2));
        assertArrayEquals(new int[] {5, 6, 7}, EosMask.truncate(new int[] {5, 6, 7}, 2));
        assertArrayEquals(new int[] {2}, EosMask.truncate(new int[] {2, 9, 9}, 2));
        assertArrayEquals(new int[] {}, EosMask.truncate(new int[] {}, 2));
        assertEquals(3, EosMask.keptLength(new int[] {5, 6, 2, 7}, 2));
        assertArrayEquals(new double[] {-0.1, -0.2, -0.3}, EosMask.truncate(new double[] {-0.1, -0.2, -0.3, -9}, new int[] {5, 6, 2, 7}, 2));
        assertThrows(IllegalArgumentException.class, () -> EosMask.truncate(new double[2], new int[3], 2));
    }

    @Test
    void minibatchesPartitionAShuffle() {
        int[][] mb = Minibatches.shuffled(12, 4, new Random(1));
        assertEquals(3, mb.length);
        int[] all = Arrays.stream(mb).flatMapToInt(Arrays::stream).sorted().toArray();
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, all);
        assertTrue(Arrays.deepEquals(mb, Minibatches.shuffled(12, 4, new Random(1))));
        assertFalse(Arrays.deepEquals(mb, Minibatches.shuffled(12, 4, new Random(2))));
        assertThrows(IllegalArgumentException.class, () -> Minibatches.shuffled(10, 4, new Random(1)));
    }
}
