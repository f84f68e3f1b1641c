package dev.stackllama4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class LrScheduleTest {
    @Test
    void warmupThenDecayByHand() {
        LrSchedule cos = new LrSchedule(LrSchedule.Kind.COSINE, 1.0, 3, 13);
        assertEquals(0.25, cos.at(0), 1e-12);
        assertEquals(0.75, cos.at(2), 1e-12);
        assertEquals(1.0, cos.at(3), 1e-12);
        assertEquals(0.5, cos.at(8), 1e-12);     // halfway through the 10 decay steps: (1+cos(π/2))/2
        assertEquals(0.0, cos.at(13), 1e-12);
        LrSchedule lin = new LrSchedule(LrSchedule.Kind.LINEAR, 2.0, 0, 10);
        assertEquals(2.0, lin.at(0), 1e-12);
        assertEquals(1.0, lin.at(5), 1e-12);
        assertEquals(0.0, lin.at(12), 1e-12);
        LrSchedule c = new LrSchedule(LrSchedule.Kind.CONSTANT, 3e-4, 1, 5);
        assertEquals(1.5e-4, c.at(0), 1e-12);
        assertEquals(3e-4, c.at(4), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(LrSchedule.Kind.COSINE, 0, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.Kind.parse("triangle"));
    }
}
