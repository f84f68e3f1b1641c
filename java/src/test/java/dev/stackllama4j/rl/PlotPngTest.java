package dev.stackllama4j.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlotPngTest {
    @TempDir
    Path dir;

    @Test
    void writesAReadablePngWithTheCurvesWhereExpected() throws IOException {
        int steps = 21;
        double[] x = new double[steps], reward = new double[steps], kl = new double[steps], beta = new double[steps];
        for (int i = 0; i < steps; i++) {
            x[i] = i;
            reward[i] = i < 10 ? 0 : 1;          // a step: low on the left half, high on the right
            kl[i] = i;                            // a diagonal
            beta[i] = 0.2;                        // flat
        }
        Path png = dir.resolve("plot.png");
        PlotPng.writeRun(png, x, reward, kl, beta);

        byte[] head = Files.readAllBytes(png);
        assertEquals((byte) 0x89, head[0]);
        assertEquals('P', head[1]);
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, "ImageIO could not decode the PNG");
        assertEquals(900, img.getWidth());
        assertEquals(900, img.getHeight());
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(1, files.count(), "temporary file left beside the plot");
        }

        // Panel 0, reward in [0, 1] padded 5% per side: y = 0 sits 0.05/1.1 of the height above the bottom.
        Rectangle r0 = PlotPng.plotArea(0, 3, 900, 900);
        int yLow = r0.y + r0.height - (int) Math.round(0.05 / 1.1 * r0.height);
        int yHigh = r0.y + r0.height - (int) Math.round(1.05 / 1.1 * r0.height);
        int leftCol = r0.x + r0.width / 4, rightCol = r0.x + 3 * r0.width / 4;
        assertTrue(curveNear(img, leftCol, yLow, 2), "reward curve missing at y=0 on the left");
        assertFalse(curveNear(img, leftCol, yHigh, 5), "reward curve at y=1 on the left");
        assertTrue(curveNear(img, rightCol, yHigh, 2), "reward curve missing at y=1 on the right");
        assertFalse(curveNear(img, rightCol, yLow, 5), "reward curve at y=0 on the right");

        // Panel 1, the diagonal: at 3/4 of the way along x, 3/4 of the data range, i.e. (0.05·20 + 15)/22 of the height.
        Rectangle r1 = PlotPng.plotArea(1, 3, 900, 900);
        int col = r1.x + (int) Math.round(0.75 * r1.width);
        int row = r1.y + r1.height - (int) Math.round((1 + 15) / 22.0 * r1.height);
        assertTrue(curveNear(img, col, row, 3), "KL diagonal not at the expected pixel");

        // Panel 2, flat β = 0.2: the range is 0.2 ± 10%, so the line runs through the middle.
        Rectangle r2 = PlotPng.plotArea(2, 3, 900, 900);
        assertTrue(curveNear(img, r2.x + r2.width / 2, r2.y + r2.height / 2, 2), "flat β line not centred");

        // Titles and tick labels are drawn (dark pixels above and left of each plot area).
        assertTrue(darkPixels(img, new Rectangle(r0.x, r0.y - 25, 300, 22)) > 20, "no title text");
        assertTrue(darkPixels(img, new Rectangle(0, r0.y, r0.x - 6, r0.height)) > 20, "no y tick labels");
    }

    @Test
    void nanBreaksTheLineAndConstantSeriesGetARange() {
        double[] yr = PlotPng.yRange(new double[] {Double.NaN, 5, 5});
        assertEquals(4.5, yr[0], 1e-12);
        assertEquals(5.5, yr[1], 1e-12);
        double[] zero = PlotPng.yRange(new double[] {0, 0});
        assertEquals(-1, zero[0]);
        assertEquals(1, zero[1]);
        BufferedImage img = PlotPng.render(java.util.List.of(new PlotPng.Series("t", "step", new double[] {0, 1, 2}, new double[] {0, Double.NaN, 1})), 400, 200);
        assertEquals(400, img.getWidth());
    }

    @Test
    void ticksAreRoundValuesInsideTheRange() {
        org.junit.jupiter.api.Assertions.assertArrayEquals(new double[] {-0.4, -0.2, 0, 0.2, 0.4, 0.6}, PlotPng.ticks(-0.5612, 0.7858), 1e-12);
        org.junit.jupiter.api.Assertions.assertArrayEquals(new double[] {0, 10, 20, 30, 40, 50}, PlotPng.ticks(0, 59), 0);
        assertEquals("0.6", PlotPng.fmt(PlotPng.ticks(-0.5612, 0.7858)[5]));
        assertEquals("1.50e-05", PlotPng.fmt(1.5e-5));
    }

    private static boolean curveNear(BufferedImage img, int x, int y, int tol) {
        int want = PlotPng.CURVE.getRGB() & 0xFFFFFF;
        for (int dy = -tol; dy <= tol; dy++) {
            int yy = y + dy;
            if (yy >= 0 && yy < img.getHeight() && (img.getRGB(x, yy) & 0xFFFFFF) == want) return true;
        }
        return false;
    }

    private static int darkPixels(BufferedImage img, Rectangle r) {
        int n = 0;
        for (int y = Math.max(0, r.y); y < Math.min(img.getHeight(), r.y + r.height); y++) {
            for (int x = Math.max(0, r.x); x < Math.min(img.getWidth(), r.x + r.width); x++) {
                int rgb = img.getRGB(x, y);
                if (((rgb >> 16) & 0xFF) < 100 && ((rgb >> 8) & 0xFF) < 100 && (rgb & 0xFF) < 100) n++;
            }
        }
        return n;
    }
}
