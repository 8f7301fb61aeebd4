package dev.edgelm.compressor.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.edgelm.compressor.OutputException;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;

/** Writes a {@link VariantReport.Report} as {@code report.md}, {@code report.json} and {@code report.png}. */
final class ReportFiles {
  static final String MARKDOWN = "report.md";
  static final String JSON = "report.json";
  static final String PLOT = "report.png";

  private ReportFiles() {}

  static void write(VariantReport.Report r, Path dir) {
    try {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve(MARKDOWN), markdown(r), StandardCharsets.UTF_8);
      Files.writeString(dir.resolve(JSON), json(r), StandardCharsets.UTF_8);
      ImageIO.write(plot(r), "png", dir.resolve(PLOT).toFile());
    } catch (IOException e) {
      throw new OutputException("cannot write the report into " + dir + ": " + e.getMessage(), e);
    }
  }

  private static List<VariantReport.Entry> all(VariantReport.Report r) {
    List<VariantReport.Entry> all = new ArrayList<>();
    all.add(r.base());
    all.addAll(r.variants());
    return all;
  }

  static String markdown(VariantReport.Report r) {
    StringBuilder md = new StringBuilder();
    md.append("# ").append(r.model()).append(": variants against the base\n\n");
    md.append(String.format(Locale.ROOT, "- Text: `%s` (%s), %,d tokens scored; %s%n", r.text().getFileName(), r.textDigest(), r.tokens(), r.protocol()));
    md.append("- Host: ").append(r.host()).append("; date ").append(r.date()).append('\n');
    md.append("- Size: bytes of the package's files on disk (model, weights, tokenizer); ratio to the base package.\n");
    md.append("- Decode: batch-1 greedy decode with one ONNX Runtime thread, median of timed rounds, one process per package;"
        + " peak RSS is that process's VmHWM (JVM included).\n\n");
    md.append("| variant | method | parameters | size | size ratio | perplexity | ppl ratio | top-1 agreement | KL(base‖variant) | decode tok/s | speed-up | peak RSS |\n");
    md.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    VariantReport.Entry base = r.base();
    for (VariantReport.Entry e : all(r)) {
      DecodeSpeed.Measurement s = e.speed();
      md.append(String.format(Locale.ROOT, "| %s | %s | %,d | %s | %.3f | %.4f | %.4f | %.4f | %.5f | %s | %s | %s |%n",
          e.id(), method(e), e.parameters(), mib(e.packageBytes()), (double) e.packageBytes() / base.packageBytes(),
          e.scores().perplexity(), e.perplexityRatio(), e.scores().top1Agreement(), e.scores().klDivergence(),
          s == null ? "–" : String.format(Locale.ROOT, "%.1f", s.decodeTokensPerSecond()),
          s == null || base.speed() == null ? "–" : String.format(Locale.ROOT, "%.2f×", s.decodeTokensPerSecond() / base.speed().decodeTokensPerSecond()),
          s == null || s.peakRssBytes() == 0 ? "–" : mib(s.peakRssBytes())));
    }
    md.append("\n![size against perplexity](").append(PLOT).append(")\n");
    for (VariantReport.Entry e : r.variants()) {
      if (e.params().isEmpty()) {
        continue;
      }
      md.append("\n## ").append(e.id()).append(" (").append(e.method()).append(")\n\n");
      List<Map.Entry<String, String>> perMatrix = new ArrayList<>();
      for (Map.Entry<String, String> kv : e.params().entrySet()) {
        if (kv.getKey().startsWith(VariantReport.PER_MATRIX_PARAM_PREFIX)) {
          perMatrix.add(kv);
        } else {
          md.append("- ").append(kv.getKey()).append(": ").append(kv.getValue()).append('\n');
        }
      }
      if (!perMatrix.isEmpty()) {
        perMatrix.sort((a, b) -> naturalOrder(a.getKey(), b.getKey()));
        md.append("\n| matrix | figures |\n|---|---|\n");
        perMatrix.forEach(kv -> md.append("| ").append(kv.getKey().substring(VariantReport.PER_MATRIX_PARAM_PREFIX.length())).append(" | ")
            .append(kv.getValue()).append(" |\n"));
      }
    }
    return md.toString();
  }


  /** Orders "layers.2.x" before "layers.10.x": runs of digits compare as numbers. */
  static int naturalOrder(String a, String b) {
    String[] x = a.split("(?<=\\D)(?=\\d)|(?<=\\d)(?=\\D)");
    String[] y = b.split("(?<=\\D)(?=\\d)|(?<=\\d)(?=\\D)");
    for (int i = 0; i < Math.min(x.length, y.length); i++) {
      boolean numbers = Character.isDigit(x[i].charAt(0)) && Character.isDigit(y[i].charAt(0));
      int c = numbers ? new java.math.BigInteger(x[i]).compareTo(new java.math.BigInteger(y[i])) : x[i].compareTo(y[i]);
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(x.length, y.length);
  }

  private static String method(VariantReport.Entry e) {
    Map<String, String> p = e.params();
    String keys = p.entrySet().stream()
        .filter(kv -> List.of("algo", "group_size", "accuracy_level", "clip_scope", "act_order").contains(kv.getKey()))
        .map(kv -> kv.getKey() + "=" + kv.getValue()).collect(Collectors.joining(", "));
    return keys.isEmpty() ? e.method() : e.method() + " (" + keys + ")";
  }

  private static String mib(long bytes) {
    return String.format(Locale.ROOT, "%.2f MiB", bytes / 1048576.0);
  }

  static String json(VariantReport.Report r) throws IOException {
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = mapper.createObjectNode();
    root.put("model", r.model());
    root.put("text", r.text().toString());
    root.put("text_digest", r.textDigest());
    root.put("protocol", r.protocol());
    root.put("tokens", r.tokens());
    root.put("host", r.host());
    root.put("date", r.date().toString());
    ArrayNode variants = root.putArray("variants");
    for (VariantReport.Entry e : all(r)) {
      ObjectNode v = variants.addObject();
      v.put("id", e.id());
      v.put("dir", e.dir().toString());
      v.put("base", e == r.base());
      v.put("method", e.method());
      ObjectNode params = v.putObject("params");
      e.params().forEach(params::put);
      v.put("parameters", e.parameters());
      v.put("package_bytes", e.packageBytes());
      v.put("size_ratio", (double) e.packageBytes() / r.base().packageBytes());
      v.put("perplexity", e.scores().perplexity());
      v.put("mean_nll", e.scores().meanNll());
      v.put("perplexity_ratio", e.perplexityRatio());
      v.put("top1_agreement", e.scores().top1Agreement());
      v.put("kl_divergence", e.scores().klDivergence());
      if (e.speed() != null) {
        ObjectNode s = v.putObject("decode");
        s.put("tokens_per_second", e.speed().decodeTokensPerSecond());
        s.put("threads", e.speed().threads());
        s.put("time_to_first_token_ms", e.speed().timeToFirstTokenMs());
        s.put("prompt_tokens", e.speed().promptTokens());
        s.put("decode_tokens", e.speed().decodeTokens());
        s.put("peak_rss_bytes", e.speed().peakRssBytes());
      }
    }
    return mapper.writeValueAsString(root) + "\n";
  }

  /** Package size (MiB, log axis) against perplexity, one labelled point per package. */
  static BufferedImage plot(VariantReport.Report r) {
    System.setProperty("java.awt.headless", "true");
    int w = 900;
    int h = 560;
    int left = 90;
    int right = 40;
    int top = 50;
    int bottom = 70;
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
      g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, w, h);
      List<VariantReport.Entry> all = all(r);
      double minX = Double.MAX_VALUE;
      double maxX = 0;
      double minY = Double.MAX_VALUE;
      double maxY = 0;
      for (VariantReport.Entry e : all) {
        double x = Math.log10(Math.max(1, e.packageBytes()) / 1048576.0);
        minX = Math.min(minX, x);
        maxX = Math.max(maxX, x);
        minY = Math.min(minY, e.scores().perplexity());
        maxY = Math.max(maxY, e.scores().perplexity());
      }
      double padX = Math.max(0.05, (maxX - minX) * 0.12);
      double padY = Math.max(maxY * 0.002, (maxY - minY) * 0.15);
      double x0 = minX - padX;
      double x1 = maxX + padX;
      double y0 = minY - padY;
      double y1 = maxY + padY;
      int pw = w - left - right;
      int ph = h - top - bottom;
      g.setColor(Color.BLACK);
      g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
      g.drawString(r.model() + ": package size against perplexity", left, 30);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      g.setColor(new Color(0xDDDDDD));
      for (int i = 0; i <= 5; i++) {
        int y = top + ph * i / 5;
        g.drawLine(left, y, left + pw, y);
        int x = left + pw * i / 5;
        g.drawLine(x, top, x, top + ph);
      }
      g.setColor(Color.BLACK);
      g.drawRect(left, top, pw, ph);
      FontMetrics fm = g.getFontMetrics();
      for (int i = 0; i <= 5; i++) {
        double vy = y1 - (y1 - y0) * i / 5;
        String ly = String.format(Locale.ROOT, vy >= 100 ? "%.1f" : "%.3f", vy);
        g.drawString(ly, left - 8 - fm.stringWidth(ly), top + ph * i / 5 + 4);
        double vx = Math.pow(10, x0 + (x1 - x0) * i / 5);
        String lx = String.format(Locale.ROOT, vx >= 10 ? "%.1f" : vx >= 1 ? "%.2f" : "%.3f", vx);
        g.drawString(lx, left + pw * i / 5 - fm.stringWidth(lx) / 2, top + ph + 18);
      }
      String xLabel = "package size, MiB (log scale)";
      g.drawString(xLabel, left + pw / 2 - fm.stringWidth(xLabel) / 2, h - 22);
      Graphics2D gy = (Graphics2D) g.create();
      gy.rotate(-Math.PI / 2);
      gy.drawString("perplexity", -(top + ph / 2) - fm.stringWidth("perplexity") / 2, 22);
      gy.dispose();
      g.setStroke(new BasicStroke(1.5f));
      for (VariantReport.Entry e : all) {
        double vx = Math.log10(Math.max(1, e.packageBytes()) / 1048576.0);
        int px = left + (int) Math.round((vx - x0) / (x1 - x0) * pw);
        int py = top + (int) Math.round((y1 - e.scores().perplexity()) / (y1 - y0) * ph);
        g.setColor(e == r.base() ? new Color(0xC0392B) : new Color(0x2471A3));
        g.fillOval(px - 5, py - 5, 10, 10);
        g.setColor(Color.BLACK);
        g.drawString(e.id(), px + 8, py - 6);
      }
    } finally {
      g.dispose();
    }
    return img;
  }
}
