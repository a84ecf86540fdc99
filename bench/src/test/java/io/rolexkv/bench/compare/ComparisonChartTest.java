package io.rolexkv.bench.compare;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;

import static io.rolexkv.bench.compare.ComparisonFixtures.ran;
import static io.rolexkv.bench.compare.ComparisonFixtures.report;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ComparisonChartTest {

    /** Pixels of exactly {@code color} in the rows {@code [fromY, toY)}. */
    private static long pixels(BufferedImage image, Color color, int fromY, int toY) {
        long count = 0;
        for (int y = fromY; y < toY; y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if ((image.getRGB(x, y) & 0xffffff) == (color.getRGB() & 0xffffff)) {
                    count++;
                }
            }
        }
        return count;
    }

    @Test
    void barAreasAreProportionalToTheFiguresInBothPanels(@TempDir Path folder) throws Exception {
        // rolex: 20,000 ops/s and 1.4 round trips/op; btree: 10,000 ops/s and 2.8 round trips/op.
        ComparisonResults results = new ComparisonResults(List.of("a"), List.of("rolex", "btree"), List.of(
                ran(report("rolex", "a", 20_000, 1, 2)),
                ran(report("btree", "a", 10_000, 2, 4))));
        Path file = folder.resolve("chart.png");
        ComparisonChart.write(results, file);
        BufferedImage image = ImageIO.read(file.toFile());
        assertEquals(ComparisonChart.WIDTH, image.getWidth());
        assertEquals(ComparisonChart.HEIGHT, image.getHeight());

        Color rolex = ComparisonChart.colorOf(0);
        Color btree = ComparisonChart.colorOf(1);
        // The legend squares sit above the first panel; count only inside the panels.
        double[] ratios = new double[ComparisonChart.PANELS.size()];
        for (int i = 0; i < ratios.length; i++) {
            int top = ComparisonChart.panelTop(i);
            int bottom = top + ComparisonChart.PANEL_HEIGHT;
            ratios[i] = (double) pixels(image, rolex, top, bottom) / pixels(image, btree, top, bottom);
        }
        assertEquals(2.0, ratios[0], 0.05);  // throughput 20,000 against 10,000
        assertEquals(0.5, ratios[1], 0.02);  // round trips 1.4 against 2.8
        assertEquals(1.0, ratios[2], 0.02);  // the same bytes read per operation
    }

    @Test
    void aRunWithoutAReportLeavesNoBar() {
        ComparisonResults results = new ComparisonResults(List.of("a", "b"), List.of("rolex", "rpc"), List.of(
                ran(report("rolex", "a", 5_000, 1, 2)),
                ComparisonResults.Cell.failed("a", "rpc", "timed out", Path.of("x.log")),
                ran(report("rolex", "b", 6_000, 1, 2)),
                ran(report("rpc", "b", 7_000, 1, 1))));
        BufferedImage image = ComparisonChart.render(results);
        Color rpc = ComparisonChart.colorOf(1);
        int middle = ComparisonChart.panelTop(1);
        // Only workload b has an rpc bar: every rpc pixel of the first panel lies in the right half.
        long left = 0;
        long right = 0;
        for (int y = ComparisonChart.panelTop(0); y < middle; y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if ((image.getRGB(x, y) & 0xffffff) == (rpc.getRGB() & 0xffffff)) {
                    if (x < image.getWidth() / 2) {
                        left++;
                    } else {
                        right++;
                    }
                }
            }
        }
        assertEquals(0, left);
        assertTrue(right > 1000, "rpc pixels on the right=" + right);
    }

    @Test
    void axisStepsAreNiceAndCoverTheLargestValue() {
        ComparisonChart.Axis axis = ComparisonChart.Axis.covering(23_456);
        assertEquals(5_000, axis.step());
        assertTrue(axis.top() >= 23_456 * 1.12, "top=" + axis.top());
        assertEquals(0.5, ComparisonChart.Axis.covering(2.0).step());
        assertEquals("12.3K", ComparisonChart.format(12_345, false));
        assertEquals("1.20M", ComparisonChart.format(1_200_000, false));
        assertEquals("2.00", ComparisonChart.format(2, true));
    }
}
