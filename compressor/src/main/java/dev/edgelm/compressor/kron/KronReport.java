package dev.edgelm.compressor.kron;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;

/**
 * What a Kronecker compression did, per factored matrix: its shape, parameters, the weight-space
 * error of the plain Van Loan–Pitsianis fit and after permutation search, and, when calibration
 * activations were used, the output error {@code ‖X(W − Ŵ)‖ / ‖XW‖} before and after the
 * activation-aware refit.
 *
 * @param refit whether the activation-aware refit ran
 * @param calibrationPasses how many times activations were captured
 */
public record KronReport(KronPlan plan, List<Layer> layers, boolean refit, int calibrationPasses, KronCost base,
    KronCost variant) {
  /**
   * One factored matrix.
   *
   * @param weightErrorWithout {@code ‖W − Ŵ‖/‖W‖} of the fit without permutations
   * @param weightErrorWith the same after permutation search (equal when no permutation helped)
   * @param weightErrorFinal the same for the factors written (after the refit, if any)
   * @param outputErrorWeightOnly output error of the weight-space factors on calibration
   *     activations, or NaN without calibration
   * @param outputErrorRefit output error after the refit, or NaN without calibration
   */
  public record Layer(String label, KronShape shape, long denseParameters, boolean rowsPermuted, boolean columnsPermuted,
      int searchRounds, double weightErrorWithout, double weightErrorWith, double weightErrorFinal,
      double outputErrorWeightOnly, double outputErrorRefit) {}

  public KronReport {
    layers = List.copyOf(layers);
  }

  /** Mean over layers of a relative error. */
  public double meanWeightErrorWithout() {
    return layers.stream().mapToDouble(Layer::weightErrorWithout).average().orElse(0);
  }

  public double meanWeightErrorWith() {
    return layers.stream().mapToDouble(Layer::weightErrorWith).average().orElse(0);
  }

  /** A Markdown summary with one row per factored matrix. */
  public String toMarkdown() {
    StringBuilder b = new StringBuilder();
    b.append("## Kronecker factorisation (").append(plan.preset().id()).append(")\n\n");
    b.append(String.format(Locale.ROOT, "Parameters: %,d → %,d (%.4f of the base); %d matrices factored.%n%n",
        plan.baseParameterCount(), plan.parameterCount(), plan.ratio(), layers.size()));
    b.append(String.format(Locale.ROOT, "Cost per token (formula): weights %,d → %,d bytes (%.3f); multiply-adds %,d → %,d (%.3f).%n%n",
        base.weightBytes(), variant.weightBytes(), (double) variant.weightBytes() / base.weightBytes(),
        base.multiplyAdds(), variant.multiplyAdds(), (double) variant.multiplyAdds() / base.multiplyAdds()));
    for (String note : plan.notes()) {
      b.append("- ").append(note).append('\n');
    }
    if (!plan.notes().isEmpty()) {
      b.append('\n');
    }
    b.append("| matrix | shape | params (dense → factored) | ‖W−Ŵ‖/‖W‖ no perm | with perm | perms | written");
    b.append(refit ? " | ‖X(W−Ŵ)‖/‖XW‖ weight-only | refit |\n|---|---|---|---:|---:|---|---:|---:|---:|\n"
        : " |\n|---|---|---|---:|---:|---|---:|\n");
    for (Layer l : layers) {
      String perms = (l.rowsPermuted() ? "rows" : "") + (l.rowsPermuted() && l.columnsPermuted() ? "+" : "")
          + (l.columnsPermuted() ? "cols" : "");
      b.append(String.format(Locale.ROOT, "| %s | %s | %,d → %,d | %.4f | %.4f | %s | %.4f", l.label(), l.shape(),
          l.denseParameters(), l.shape().parameterCount(), l.weightErrorWithout(), l.weightErrorWith(),
          perms.isEmpty() ? "—" : perms, l.weightErrorFinal()));
      if (refit) {
        b.append(String.format(Locale.ROOT, " | %s | %s", fmt(l.outputErrorWeightOnly()), fmt(l.outputErrorRefit())));
      }
      b.append(" |\n");
    }
    b.append(String.format(Locale.ROOT, "%nMean ‖W−Ŵ‖/‖W‖: %.4f without permutations, %.4f with.%n",
        meanWeightErrorWithout(), meanWeightErrorWith()));
    if (refit) {
      b.append(String.format(Locale.ROOT, "Activation-aware refit: %d calibration passes.%n", calibrationPasses));
    }
    return b.toString();
  }

  private static String fmt(double v) {
    return Double.isNaN(v) ? "—" : String.format(Locale.ROOT, "%.4f", v);
  }

  /** The same as JSON. */
  public String toJson() {
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = mapper.createObjectNode();
    root.put("preset", plan.preset().id());
    root.put("base_parameters", plan.baseParameterCount());
    root.put("parameters", plan.parameterCount());
    root.put("ratio", plan.ratio());
    root.put("refit", refit);
    root.put("calibration_passes", calibrationPasses);
    root.set("cost_base", cost(mapper, base));
    root.set("cost_variant", cost(mapper, variant));
    ArrayNode notes = root.putArray("notes");
    plan.notes().forEach(notes::add);
    ArrayNode arr = root.putArray("layers");
    for (Layer l : layers) {
      ObjectNode o = arr.addObject();
      o.put("matrix", l.label());
      o.put("shape", l.shape().toString());
      o.put("m1", l.shape().m1());
      o.put("n1", l.shape().n1());
      o.put("m2", l.shape().m2());
      o.put("n2", l.shape().n2());
      o.put("rank", l.shape().rank());
      o.put("dense_parameters", l.denseParameters());
      o.put("parameters", l.shape().parameterCount());
      o.put("rows_permuted", l.rowsPermuted());
      o.put("columns_permuted", l.columnsPermuted());
      o.put("search_rounds", l.searchRounds());
      o.put("weight_error_without_permutations", l.weightErrorWithout());
      o.put("weight_error_with_permutations", l.weightErrorWith());
      o.put("weight_error_written", l.weightErrorFinal());
      if (!Double.isNaN(l.outputErrorWeightOnly())) {
        o.put("output_error_weight_only", l.outputErrorWeightOnly());
        o.put("output_error_refit", l.outputErrorRefit());
      }
    }
    try {
      return mapper.writeValueAsString(root) + "\n";
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static ObjectNode cost(ObjectMapper mapper, KronCost c) {
    ObjectNode o = mapper.createObjectNode();
    o.put("parameters", c.parameters());
    o.put("weight_bytes", c.weightBytes());
    o.put("multiply_adds_per_token", c.multiplyAdds());
    return o;
  }
}
