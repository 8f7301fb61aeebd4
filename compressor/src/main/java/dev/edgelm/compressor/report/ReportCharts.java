package dev.edgelm.compressor.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.geom.Ellipse2D;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.labels.ItemLabelAnchor;
import org.jfree.chart.labels.ItemLabelPosition;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The report's charts, drawn with JFreeChart into PNG files (headless): quality against package size
 * ({@value #QUALITY}: perplexity ratio and KL(base‖variant), one panel each over one log-scale size
 * axis) and decode speed against package size ({@value #SPEED}, only when speed was measured). Each
 * panel marks its Pareto frontier ({@link ParetoFrontier}) as a line through the packages no other
 * package beats on both size and that figure.
 */
final class ReportCharts {
  static final String QUALITY = "quality.png";
  static final String SPEED = "speed.png";

  static final int WIDTH = 960;
  static final int QUALITY_HEIGHT = 720;
  static final int SPEED_HEIGHT = 480;

  /** One figure of the report on the y axis: its label, how to read it off an entry, and whether more is better. */
  record Figure(String label, ToDoubleFunction<VariantReport.Entry> value, boolean higherIsBetter) {
    List<VariantReport.Entry> frontier(List<VariantReport.Entry> entries) {
      return ParetoFrontier.minimizing(entries, e -> e.packageBytes(),
          higherIsBetter ? e -> -value.applyAsDouble(e) : value);
    }
  }

  static final Figure PERPLEXITY_RATIO = new Figure("perplexity ratio", VariantReport.Entry::perplexityRatio, false);
  static final Figure KL = new Figure("KL(base‖variant)", e -> e.scores().klDivergence(), false);
  static final Figure DECODE_SPEED = new Figure("decode tokens/s (1 thread)",
      e -> e.speed() == null ? Double.NaN : e.speed().decodeTokensPerSecond(), true);

  private ReportCharts() {}

  /** Entries with a finite value of {@code f}: the base first, then the variants. */
  static List<VariantReport.Entry> measured(VariantReport.Report r, Figure f) {
    List<VariantReport.Entry> all = new ArrayList<>();
    all.add(r.base());
    all.addAll(r.variants());
    all.removeIf(e -> !Double.isFinite(f.value().applyAsDouble(e)));
    return all;
  }

  /**
   * Writes the charts into {@code dir}; when speed was not measured, removes the speed chart an earlier report left
   * ({@code staleSpeedIsOurs}: that report's files say it drew one), and nothing else.
   */
  static void write(VariantReport.Report r, Path dir, boolean staleSpeedIsOurs) throws IOException {
    System.setProperty("java.awt.headless", "true");
    ChartUtils.saveChartAsPNG(dir.resolve(QUALITY).toFile(),
        chart(r, r.model() + ": quality against package size", List.of(PERPLEXITY_RATIO, KL)), WIDTH, QUALITY_HEIGHT);
    if (measured(r, DECODE_SPEED).isEmpty()) {
      if (staleSpeedIsOurs) {
        Files.deleteIfExists(dir.resolve(SPEED));
      }
    } else {
      ChartUtils.saveChartAsPNG(dir.resolve(SPEED).toFile(),
          chart(r, r.model() + ": decode speed against package size", List.of(DECODE_SPEED)), WIDTH, SPEED_HEIGHT);
    }
  }

  static JFreeChart chart(VariantReport.Report r, String title, List<Figure> figures) {
    LogAxis size = new LogAxis("package size, MiB (log scale)");
    size.setBase(10);
    size.setNumberFormatOverride(new DecimalFormat("0.###"));
    size.setSmallestValue(1e-6);
    size.setLowerMargin(0.08);
    size.setUpperMargin(0.08);
    CombinedDomainXYPlot plot = new CombinedDomainXYPlot(size);
    plot.setGap(12);
    for (Figure f : figures) {
      plot.add(panel(r, f), 1);
    }
    // Every panel has the same three series: one legend, not one per panel.
    plot.setFixedLegendItems(plot.getSubplots().get(0).getLegendItems());
    JFreeChart chart = new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 16), plot, true);
    chart.setBackgroundPaint(Color.WHITE);
    chart.setAntiAlias(true);
    chart.setTextAntiAlias(true);
    return chart;
  }

  private static XYPlot panel(VariantReport.Report r, Figure f) {
    List<VariantReport.Entry> entries = measured(r, f);
    XYSeries frontier = new XYSeries("Pareto frontier", false, true);
    XYSeries base = new XYSeries("base", false, true);
    XYSeries variants = new XYSeries("variants", false, true);
    List<String> baseIds = new ArrayList<>();
    List<String> variantIds = new ArrayList<>();
    for (VariantReport.Entry e : f.frontier(entries)) {
      frontier.add(mib(e), f.value().applyAsDouble(e));
    }
    for (VariantReport.Entry e : entries) {
      boolean isBase = e == r.base();
      (isBase ? base : variants).add(mib(e), f.value().applyAsDouble(e));
      (isBase ? baseIds : variantIds).add(e.id());
    }
    XYSeriesCollection data = new XYSeriesCollection();
    data.addSeries(frontier);
    data.addSeries(base);
    data.addSeries(variants);

    XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(false, true);
    renderer.setSeriesLinesVisible(0, true);
    renderer.setSeriesShapesVisible(0, false);
    renderer.setSeriesStroke(0, new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 1f, new float[] {6f, 4f}, 0f));
    renderer.setSeriesPaint(0, new Color(0x27AE60));
    renderer.setSeriesPaint(1, new Color(0xC0392B));
    renderer.setSeriesPaint(2, new Color(0x2471A3));
    renderer.setAutoPopulateSeriesShape(false);
    renderer.setDefaultShape(new Ellipse2D.Double(-4.5, -4.5, 9, 9));
    renderer.setDefaultItemLabelGenerator((dataset, series, item) -> switch (series) {
      case 1 -> baseIds.get(item);
      case 2 -> variantIds.get(item);
      default -> null;
    });
    renderer.setDefaultItemLabelsVisible(true);
    renderer.setSeriesItemLabelsVisible(0, false);
    renderer.setDefaultItemLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    renderer.setDefaultPositiveItemLabelPosition(new ItemLabelPosition(ItemLabelAnchor.OUTSIDE12, TextAnchor.BOTTOM_CENTER));

    NumberAxis y = new NumberAxis(f.label());
    y.setAutoRangeIncludesZero(false);
    y.setAutoRangeMinimumSize(f == DECODE_SPEED ? 1 : 1e-3);
    if (f == DECODE_SPEED) {
      y.setNumberFormatOverride(new DecimalFormat("#,##0"));
    }
    y.setUpperMargin(0.15);
    y.setLowerMargin(0.08);
    XYPlot panel = new XYPlot(data, null, y, renderer);
    panel.setBackgroundPaint(Color.WHITE);
    panel.setDomainGridlinePaint(new Color(0xDDDDDD));
    panel.setRangeGridlinePaint(new Color(0xDDDDDD));
    return panel;
  }

  private static double mib(VariantReport.Entry e) {
    return Math.max(1, e.packageBytes()) / 1048576.0;
  }
}
