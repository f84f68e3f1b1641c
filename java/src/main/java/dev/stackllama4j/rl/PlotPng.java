package dev.stackllama4j.rl;

import dev.stackllama4j.io.AtomicFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * Line charts of a run, one panel per series stacked top to bottom, drawn with java.awt in
 * headless mode into a PNG written atomically. Y ranges span the data with 5% padding on each
 * side; NaN points break the line.
 */
public final class PlotPng {
    static {
        // Before any AWT class touches the display: the plot must render on machines without one.
        System.setProperty("java.awt.headless", "true");
    }

    /** The curve's colour; tests find the curve by it. */
    public static final Color CURVE = new Color(31, 119, 180);
    static final int LEFT = 78, RIGHT = 24, TOP = 30, BOTTOM = 44;
    static final double PAD = 0.05;

    private PlotPng() {}

    /** One panel: a titled curve y(x). */
    public record Series(String title, String xLabel, double[] x, double[] y) {
        public Series {
            if (x.length != y.length) throw new IllegalArgumentException("series '" + title + "': " + x.length + " x for " + y.length + " y");
        }
    }

    /** The run's plot: reward mean, KL and β over steps. */
    public static void writeRun(Path png, double[] steps, double[] rewardMean, double[] kl, double[] beta) throws IOException {
        write(png, List.of(new Series("reward (env/reward_mean)", "step", steps, rewardMean),
                new Series("KL to reference (objective/kl)", "step", steps, kl),
                new Series("β (objective/kl_coef)", "step", steps, beta)), 900, 900);
    }

    public static void write(Path png, List<Series> panels, int width, int height) throws IOException {
        BufferedImage img = render(panels, width, height);
        AtomicFiles.write(png, out -> {
            if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer available for " + png);
        });
    }

    /** Where panel {@code panel} of {@code panels} puts its plot area (inside the axes). */
    public static Rectangle plotArea(int panel, int panels, int width, int height) {
        int ph = height / panels;
        return new Rectangle(LEFT, panel * ph + TOP, width - LEFT - RIGHT, ph - TOP - BOTTOM);
    }

    /** The [lo, hi] a panel's y axis spans for {@code y}: data range padded 5% per side. */
    public static double[] yRange(double[] y) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (double v : y) {
            if (!Double.isFinite(v)) continue;
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        if (lo > hi) return new double[] {0, 1};
        if (lo == hi) {
            double d = lo == 0 ? 1 : Math.abs(lo) * 0.1;
            return new double[] {lo - d, hi + d};
        }
        double pad = (hi - lo) * PAD;
        return new double[] {lo - pad, hi + pad};
    }

    public static BufferedImage render(List<Series> panels, int width, int height) {
        if (panels.isEmpty()) throw new IllegalArgumentException("nothing to plot");
        if (width < 200 || height < 120 * panels.size()) {
            throw new IllegalArgumentException("plot " + width + "×" + height + " is too small for " + panels.size() + " panels");
        }
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            for (int p = 0; p < panels.size(); p++) drawPanel(g, panels.get(p), plotArea(p, panels.size(), width, height));
        } finally {
            g.dispose();
        }
        return img;
    }

    private static void drawPanel(Graphics2D g, Series s, Rectangle r) {
        double[] yr = yRange(s.y());
        double xlo = Double.POSITIVE_INFINITY, xhi = Double.NEGATIVE_INFINITY;
        for (double v : s.x()) {
            if (Double.isFinite(v)) {
                xlo = Math.min(xlo, v);
                xhi = Math.max(xhi, v);
            }
        }
        if (xlo > xhi) { xlo = 0; xhi = 1; }
        if (xlo == xhi) { xlo -= 0.5; xhi += 0.5; }

        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        FontMetrics fm = g.getFontMetrics();
        for (double yv : ticks(yr[0], yr[1])) {
            int py = yPixel(yv, yr, r);
            g.setColor(new Color(225, 225, 225));
            g.drawLine(r.x + 1, py, r.x + r.width - 1, py);
            g.setColor(Color.DARK_GRAY);
            g.drawLine(r.x - 5, py, r.x, py);
            String label = fmt(yv);
            g.drawString(label, r.x - 8 - fm.stringWidth(label), py + fm.getAscent() / 2 - 1);
        }
        for (double xv : ticks(xlo, xhi)) {
            int px = xPixel(xv, xlo, xhi, r);
            g.setColor(Color.DARK_GRAY);
            g.drawLine(px, r.y + r.height, px, r.y + r.height + 5);
            String xl = fmt(xv);
            g.drawString(xl, px - fm.stringWidth(xl) / 2, r.y + r.height + 6 + fm.getAscent());
        }
        g.setColor(Color.BLACK);
        g.drawRect(r.x, r.y, r.width, r.height);
        g.drawString(s.xLabel(), r.x + r.width / 2 - fm.stringWidth(s.xLabel()) / 2, r.y + r.height + 8 + 2 * fm.getAscent());

        String last = lastFinite(s.y());
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(s.title() + (last == null ? "" : "   (last " + last + ")"), r.x, r.y - 9);

        g.setColor(CURVE);
        g.setStroke(new BasicStroke(2f));
        int prevX = 0, prevY = 0;
        boolean havePrev = false;
        for (int i = 0; i < s.y().length; i++) {
            double xv = s.x()[i], yv = s.y()[i];
            if (!Double.isFinite(xv) || !Double.isFinite(yv)) {
                havePrev = false;
                continue;
            }
            int px = xPixel(xv, xlo, xhi, r), py = yPixel(yv, yr, r);
            if (havePrev) g.drawLine(prevX, prevY, px, py);
            else g.fillRect(px - 1, py - 1, 3, 3);
            prevX = px;
            prevY = py;
            havePrev = true;
        }
        g.setStroke(new BasicStroke(1f));
    }

    /** Round tick values (1, 2 or 5 × 10^k apart, about five of them) inside [lo, hi]. */
    static double[] ticks(double lo, double hi) {
        double raw = (hi - lo) / 5;
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double norm = raw / mag;
        double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
        long first = (long) Math.ceil(lo / step), last = (long) Math.floor(hi / step);
        double[] out = new double[(int) Math.max(0, last - first + 1)];
        // k·step, not repeated addition: keeps 0.1-steps free of drift so labels print cleanly
        for (int i = 0; i < out.length; i++) out[i] = (first + i) * step;
        return out;
    }

    static int xPixel(double x, double lo, double hi, Rectangle r) {
        return r.x + (int) Math.round((x - lo) / (hi - lo) * r.width);
    }

    static int yPixel(double y, double[] yr, Rectangle r) {
        return r.y + r.height - (int) Math.round((y - yr[0]) / (yr[1] - yr[0]) * r.height);
    }

    private static String lastFinite(double[] y) {
        for (int i = y.length - 1; i >= 0; i--) {
            if (Double.isFinite(y[i])) return fmt(y[i]);
        }
        return null;
    }

    static String fmt(double v) {
        if (v == 0) return "0";
        double a = Math.abs(v);
        if (a >= 1e4 || a < 1e-3) return String.format(Locale.ROOT, "%.2e", v);
        String s = String.format(Locale.ROOT, "%.4g", v);
        if (s.contains(".")) s = s.replaceAll("0+$", "").replaceAll("\\.$", "");
        return s;
    }
}
