package io.rolexkv.bench.compare;

import io.rolexkv.bench.ycsb.YcsbReport;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.ToDoubleFunction;

/**
 * The comparison as a PNG: bar charts one above the other ({@link #PANELS}), grouped by workload with a bar per
 * system: throughput (operations per second), round trips per operation and bytes read per operation (both over every
 * operation type of the run, weighted by count). The costs are there because they explain the throughput and, unlike
 * it, do not drift with the machine. Each bar carries its value; a run without a report shows "n/a" where its bar
 * would be.
 *
 * <p>Drawn with Java2D in headless mode, so it needs no display and no library beyond the JDK (text needs the
 * fonts every JDK install on Linux finds through fontconfig).
 */
public final class ComparisonChart {
    static final int WIDTH = 1200;
    static final int HEADER = 90;
    static final int PANEL_HEIGHT = 400;
    private static final int LEFT = 90;
    private static final int RIGHT = 30;
    private static final int PANEL_TITLE = 34;
    private static final int AXIS_LABELS = 40;
    private static final Color AXIS = new Color(0x33, 0x33, 0x33);
    private static final Color GRID = new Color(0xdd, 0xdd, 0xdd);
    /** Colors by position in the system list, chosen to stay apart for color-blind readers. */
    static final List<Color> PALETTE = List.of(new Color(0x1f, 0x77, 0xb4), new Color(0xff, 0x7f, 0x0e),
            new Color(0x2c, 0xa0, 0x2c), new Color(0x7f, 0x7f, 0x7f), new Color(0x94, 0x67, 0xbd));

    /** One bar chart of the image: a figure of each report. */
    record Panel(String title, ToDoubleFunction<YcsbReport> value, boolean fractional) {
    }

    /** The panels, top to bottom: what users compare first, then the two costs that explain it. */
    static final List<Panel> PANELS = List.of(
            new Panel("Throughput (operations per second)", YcsbReport::throughput, false),
            new Panel("Round trips per operation", YcsbReport::roundTripsPerOp, true),
            new Panel("Bytes read from the memory node per operation", YcsbReport::bytesReadPerOp, false));
    static final int HEIGHT = HEADER + PANELS.size() * PANEL_HEIGHT;

    private ComparisonChart() {
    }

    /** The first pixel row of panel {@code index}. */
    static int panelTop(int index) {
        return HEADER + index * PANEL_HEIGHT;
    }

    /** Renders the chart and writes it to {@code file} as PNG. */
    public static void write(ComparisonResults results, Path file) {
        BufferedImage image = render(results);
        try {
            if (!ImageIO.write(image, "png", file.toFile())) {
                throw new IllegalStateException("this JDK has no PNG writer");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the chart to " + file, e);
        }
    }

    /** The chart as an image of {@value #WIDTH} x {@value #HEIGHT} pixels. */
    public static BufferedImage render(ComparisonResults results) {
        System.setProperty("java.awt.headless", "true");
        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            drawHeader(g, results);
            for (int i = 0; i < PANELS.size(); i++) {
                drawPanel(g, results, PANELS.get(i), panelTop(i), PANEL_HEIGHT);
            }
        } finally {
            g.dispose();
        }
        return image;
    }

    private static void drawHeader(Graphics2D g, ComparisonResults results) {
        g.setColor(AXIS);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 22));
        g.drawString("YCSB " + String.join(", ", results.workloads().stream().map(w -> w.toUpperCase(Locale.ROOT)).toList())
                + ": " + String.join(" vs ", results.systems()), LEFT, 34);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 15));
        results.anyReport().ifPresent(report -> g.drawString(ComparisonMarkdown.describe(report), LEFT, 60));
        // Legend, right-aligned on the title line, in the subtitle's font.
        FontMetrics metrics = g.getFontMetrics();
        int x = WIDTH - RIGHT;
        for (int i = results.systems().size() - 1; i >= 0; i--) {
            String system = results.systems().get(i);
            x -= metrics.stringWidth(system);
            g.setColor(AXIS);
            g.drawString(system, x, 30);
            x -= 22;
            g.setColor(colorOf(i));
            g.fillRect(x, 17, 16, 16);
            x -= 18;
        }
    }

    private static void drawPanel(Graphics2D g, ComparisonResults results, Panel panel, int top, int height) {
        String title = panel.title();
        ToDoubleFunction<YcsbReport> value = panel.value();
        boolean fractional = panel.fractional();
        int plotTop = top + PANEL_TITLE + 16;
        int plotBottom = top + height - AXIS_LABELS;
        int plotLeft = LEFT;
        int plotRight = WIDTH - RIGHT;
        g.setColor(AXIS);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 17));
        g.drawString(title, plotLeft, top + PANEL_TITLE);

        double max = 0;
        for (String workload : results.workloads()) {
            for (String system : results.systems()) {
                Optional<YcsbReport> report = results.report(workload, system);
                if (report.isPresent()) {
                    max = Math.max(max, value.applyAsDouble(report.get()));
                }
            }
        }
        Axis axis = Axis.covering(max);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        FontMetrics metrics = g.getFontMetrics();
        for (int tick = 0; tick <= axis.ticks(); tick++) {
            double tickValue = tick * axis.step();
            int y = plotBottom - (int) Math.round((plotBottom - plotTop) * tickValue / axis.top());
            g.setColor(GRID);
            g.drawLine(plotLeft, y, plotRight, y);
            g.setColor(AXIS);
            String label = format(tickValue, fractional);
            g.drawString(label, plotLeft - 8 - metrics.stringWidth(label), y + metrics.getAscent() / 2 - 1);
        }
        g.setStroke(new BasicStroke(1.5f));
        g.drawLine(plotLeft, plotBottom, plotRight, plotBottom);
        g.setStroke(new BasicStroke(1f));

        int groups = results.workloads().size();
        int systems = results.systems().size();
        double groupWidth = (double) (plotRight - plotLeft) / groups;
        double barWidth = groupWidth * 0.8 / systems;
        for (int w = 0; w < groups; w++) {
            String workload = results.workloads().get(w);
            double groupLeft = plotLeft + w * groupWidth + groupWidth * 0.1;
            g.setColor(AXIS);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
            String label = workload.toUpperCase(Locale.ROOT);
            int labelWidth = g.getFontMetrics().stringWidth(label);
            g.drawString(label, (int) (plotLeft + w * groupWidth + groupWidth / 2 - labelWidth / 2.0), plotBottom + 24);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            FontMetrics small = g.getFontMetrics();
            for (int s = 0; s < systems; s++) {
                int x = (int) Math.round(groupLeft + s * barWidth);
                int width = Math.max(1, (int) Math.round(barWidth) - 2);
                Optional<YcsbReport> report = results.report(workload, results.systems().get(s));
                String text;
                int textY;
                if (report.isPresent()) {
                    double v = value.applyAsDouble(report.get());
                    int barHeight = (int) Math.round((plotBottom - plotTop) * v / axis.top());
                    g.setColor(colorOf(s));
                    g.fillRect(x, plotBottom - barHeight, width, barHeight);
                    text = format(v, fractional);
                    textY = plotBottom - barHeight - 4;
                } else {
                    text = "n/a";
                    textY = plotBottom - 4;
                }
                g.setColor(AXIS);
                g.drawString(text, x + width / 2 - small.stringWidth(text) / 2, textY);
            }
        }
    }

    static Color colorOf(int position) {
        return PALETTE.get(position % PALETTE.size());
    }

    /** {@code 12.3K}, {@code 1.20M} for counts; two decimals for fractional figures. */
    static String format(double value, boolean fractional) {
        if (fractional) {
            return String.format(Locale.ROOT, "%.2f", value);
        }
        if (value >= 1_000_000) {
            return String.format(Locale.ROOT, "%.2fM", value / 1_000_000);
        }
        if (value >= 10_000) {
            return String.format(Locale.ROOT, "%.1fK", value / 1_000);
        }
        return String.format(Locale.ROOT, "%,.0f", value);
    }

    /**
     * A value axis from zero: a "nice" step (1, 2 or 5 times a power of ten) giving four to eight ticks, and the top at
     * the first step at or above the largest value (with headroom for the labels on the bars).
     */
    record Axis(double step, int ticks) {
        double top() {
            return step * ticks;
        }

        static Axis covering(double max) {
            if (!(max > 0)) {
                return new Axis(1, 1);
            }
            double target = max * 1.12;
            double raw = target / 8; // a step between raw and 2.5 raw: four to eight ticks
            double power = Math.pow(10, Math.floor(Math.log10(raw)));
            double step;
            if (raw / power <= 1) {
                step = power;
            } else if (raw / power <= 2) {
                step = 2 * power;
            } else if (raw / power <= 5) {
                step = 5 * power;
            } else {
                step = 10 * power;
            }
            return new Axis(step, (int) Math.ceil(target / step));
        }
    }
}
