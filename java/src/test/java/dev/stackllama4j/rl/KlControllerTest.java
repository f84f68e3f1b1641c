package dev.stackllama4j.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class KlControllerTest {
    @Test
    void adaptiveUpdateByHand() {
        AdaptiveKlController c = new AdaptiveKlController(0.2, 6, 10000);
        // KL 9: 9/6 - 1 = 0.5, clipped to 0.2; β·(1 + 0.2·256/10000) = 0.2·1.00512
        c.update(9, 256);
        assertEquals(0.201024, c.value(), 1e-15);
        // KL 5.4: 0.9 - 1 = -0.1 (inside the clip); ·(1 - 0.1·100/10000) = ·0.999
        c.update(5.4, 100);
        assertEquals(0.201024 * 0.999, c.value(), 1e-15);
        // KL 0: -1 clipped to -0.2; ·(1 - 0.2·1000/10000) = ·0.98
        c.update(0, 1000);
        assertEquals(0.201024 * 0.999 * 0.98, c.value(), 1e-15);
        // on target: unchanged; NaN: unchanged
        double before = c.value();
        c.update(6, 1000);
        c.update(Double.NaN, 1000);
        assertEquals(before, c.value(), 0);
    }

    @Test
    void fixedNeverMoves() {
        FixedKlController f = new FixedKlController(0.05);
        f.update(100, 10000);
        assertEquals(0.05, f.value());
    }

    @Test
    void fromConfig() {
        assertInstanceOf(AdaptiveKlController.class, KlController.of(PpoConfig.defaults()));
        KlController f = KlController.of(PpoConfig.builder().adaptiveKl(false).initKlCoef(0.3).build());
        assertInstanceOf(FixedKlController.class, f);
        assertEquals(0.3, f.value());
        assertEquals(0.2, KlController.of(PpoConfig.defaults()).value());
        assertThrows(IllegalArgumentException.class, () -> new AdaptiveKlController(0.2, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> new FixedKlController(-1));
    }
}
