package dev.edgelm.compressor.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.edgelm.compressor.OutputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Writes a {@link VariantReport.Report} as {@code report.md}, {@code report.json} and the charts of
 * {@link ReportCharts} ({@code quality.png}, {@code speed.png}), which the Markdown links.
 */
final class ReportFiles {
  static final String MARKDOWN = "report.md";
  static final String JSON = "report.json";

  private ReportFiles() {}

  static void write(VariantReport.Report r, Path dir) {
    try {
      Files.createDirectories(dir);
      boolean speedChartIsOurs = earlierReportDrewSpeed(dir); // read before report.json is replaced
      Files.writeString(dir.resolve(MARKDOWN), markdown(r), StandardCharsets.UTF_8);
      Files.writeString(dir.resolve(JSON), json(r), StandardCharsets.UTF_8);
      ReportCharts.write(r, dir, speedChartIsOurs);
    } catch (IOException e) {
      throw new OutputException("cannot write the report into " + dir + ": " + e.getMessage(), e);
    }
  }

  /**
   * Whether {@code dir} holds an earlier edgelm report that drew {@code speed.png} (its report.json lists a decode-speed
   * frontier): only then is a speed chart there ours to remove.
   */
  private static boolean earlierReportDrewSpeed(Path dir) {
    Path json = dir.resolve(JSON);
    if (!Files.isRegularFile(json)) {
      return false;
    }
    try {
      return new ObjectMapper().readTree(json.toFile()).path("pareto_frontiers").has("decode_tokens_per_second");
    } catch (IOException | RuntimeException e) {
      return false; // not a report of ours
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
    md.append("\n![perplexity ratio and KL against package size](").append(ReportCharts.QUALITY).append(")\n\n");
    md.append(frontierLine(r, ReportCharts.PERPLEXITY_RATIO));
    md.append(frontierLine(r, ReportCharts.KL));
    if (ReportCharts.measured(r, ReportCharts.DECODE_SPEED).isEmpty()) {
      md.append("\nDecode speed was not measured (`--no-speed`).\n");
    } else {
      md.append("\n![decode speed against package size](").append(ReportCharts.SPEED).append(")\n\n");
      md.append(frontierLine(r, ReportCharts.DECODE_SPEED));
    }
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


  /** "- Pareto frontier, size against FIGURE: a, b, c" (smallest first). */
  private static String frontierLine(VariantReport.Report r, ReportCharts.Figure f) {
    return "- Pareto frontier, size against " + f.label() + ": "
        + frontierIds(r, f).stream().collect(Collectors.joining(", ")) + "\n";
  }

  private static List<String> frontierIds(VariantReport.Report r, ReportCharts.Figure f) {
    return f.frontier(ReportCharts.measured(r, f)).stream().map(VariantReport.Entry::id).toList();
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
    ObjectNode pareto = root.putObject("pareto_frontiers");
    frontierIds(r, ReportCharts.PERPLEXITY_RATIO).forEach(pareto.putArray("perplexity_ratio")::add);
    frontierIds(r, ReportCharts.KL).forEach(pareto.putArray("kl_divergence")::add);
    frontierIds(r, ReportCharts.DECODE_SPEED).forEach(pareto.putArray("decode_tokens_per_second")::add);
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
}
