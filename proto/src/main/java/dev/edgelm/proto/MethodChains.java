package dev.edgelm.proto;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.edgelm.proto.v1.KroneckerParams;
import dev.edgelm.proto.v1.Method;
import dev.edgelm.proto.v1.MethodChain;
import dev.edgelm.proto.v1.QuantizationParams;
import dev.edgelm.proto.v1.Step;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A variant's compression chain, read once into typed {@link Step}s, whatever format wrote it.
 *
 * <p>Descriptors written since chains were recorded carry {@code chain}; older ones only
 * {@code method} (a name and text parameters), and hub indexes written by older versions only the
 * method name and its parameters joined as {@code k=v,k=v} prose. {@link #fromLegacy} turns the old
 * spelling into the same typed steps, so readers (the hub client, the daemon's selector, reports)
 * have one representation. The index annotation is the chain's proto3 JSON, parameters only
 * ({@link #toAnnotation}).
 *
 * <p>Stateless and thread-safe.
 */
public final class MethodChains {
  /** In the old prose only {@code ,key=} starts a new pair: values may hold commas themselves. */
  private static final Pattern LEGACY_KEY = Pattern.compile("(?:^|,)([A-Za-z0-9_.]+)=");

  private MethodChains() {}

  /** The descriptor's chain, or the one its {@code method} describes when it has none (older packages). */
  public static List<Step> of(VariantDescriptor d) {
    if (d.getChainCount() > 0) {
      return d.getChainList();
    }
    return fromLegacy(d.getMethod().getName(), d.getMethod().getParamsMap());
  }

  /** The chain of an old-format {@code method}; see {@link #fromLegacy(String, Map)}. */
  public static List<Step> fromLegacy(Method m) {
    return fromLegacy(m.getName(), m.getParamsMap());
  }

  /**
   * The typed chain an old-format method name and parameters describe: none for {@code fp32} (or
   * no name), one step otherwise — two or more for a name such as {@code kron,int4}, whose
   * parameters are then prefixed {@code <step>.}. Unknown names give a step without parameters;
   * parameters that do not parse are left out (they were free text).
   */
  public static List<Step> fromLegacy(String name, Map<String, String> params) {
    if (name == null || name.isBlank() || name.equalsIgnoreCase("fp32")) {
      return List.of();
    }
    String[] names = name.split(",");
    if (names.length == 1) {
      return List.of(step(name.strip(), params));
    }
    List<Step> out = new ArrayList<>();
    for (String n : names) {
      String step = n.strip();
      Map<String, String> own = new LinkedHashMap<>();
      params.forEach((k, v) -> {
        if (k.startsWith(step + ".")) {
          own.put(k.substring(step.length() + 1), v);
        }
      });
      out.add(step(step, own));
    }
    return List.copyOf(out);
  }

  private static Step step(String name, Map<String, String> p) {
    Step.Builder s = Step.newBuilder().setName(name);
    if (name.equals("int8") || name.equals("int4")) {
      QuantizationParams.Builder q = QuantizationParams.newBuilder().setBits(name.equals("int4") ? 4 : 8)
          .setAlgo(p.getOrDefault("algo", "rtn").strip())
          .setGroupSize(integer(p.get("group_size")))
          .setAccuracyLevel(integer(p.get("accuracy_level")))
          .setClipScope(p.getOrDefault("clip_scope", "").strip())
          .setActOrder(Boolean.parseBoolean(p.getOrDefault("act_order", "false").strip()))
          .setDamping(decimal(p.get("damping")))
          .setCalibrationSampleRows(integer(p.get("calibration_sample_rows")));
      s.setQuantization(q);
    } else if (name.equals("kron")) {
      s.setKronecker(KroneckerParams.newBuilder()
          .setPreset(p.getOrDefault("preset", "").strip())
          .setMlpRank(integer(p.get("mlp_rank")))
          .setTargetRatio(decimal(p.get("target_ratio")))
          .setPermutationIterations(integer(p.get("permutation_iterations")))
          .setParameterRatio(decimal(p.get("parameter_ratio"))));
    }
    return s.build();
  }

  /** Parses the old index annotation's {@code k=v,k=v} prose. */
  public static Map<String, String> legacyParams(String text) {
    Map<String, String> out = new LinkedHashMap<>();
    if (text == null) {
      return out;
    }
    Matcher m = LEGACY_KEY.matcher(text);
    String key = null;
    int valueStart = 0;
    while (m.find()) {
      if (key != null) {
        out.put(key, text.substring(valueStart, m.start()));
      }
      key = m.group(1);
      valueStart = m.end();
    }
    if (key != null) {
      out.put(key, text.substring(valueStart));
    }
    return out;
  }

  /** The chain as the index annotation carries it: compact proto3 JSON of the steps' names and parameters. */
  public static String toAnnotation(List<Step> chain) {
    MethodChain.Builder b = MethodChain.newBuilder();
    for (Step s : chain) {
      b.addSteps(s.toBuilder().clearErrors().clearCalibration());
    }
    try {
      return JsonFormat.printer().omittingInsignificantWhitespace().print(b);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Parses {@link #toAnnotation}'s JSON.
   *
   * @throws IllegalArgumentException when it is not a chain
   */
  public static List<Step> parseAnnotation(String json) {
    MethodChain.Builder b = MethodChain.newBuilder();
    try {
      JsonFormat.parser().ignoringUnknownFields().merge(json, b);
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      throw new IllegalArgumentException("not a method chain: " + e.getMessage(), e);
    }
    return b.getStepsList();
  }

  /** MatMulNBits' accuracy level of the chain's int4 step, or 0 when it has none. */
  public static int int4AccuracyLevel(List<Step> chain) {
    for (Step s : chain) {
      if (s.hasQuantization() && s.getQuantization().getBits() == 4) {
        return s.getQuantization().getAccuracyLevel();
      }
    }
    return 0;
  }

  private static int integer(String v) {
    try {
      return v == null ? 0 : Integer.parseInt(v.strip());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static double decimal(String v) {
    try {
      return v == null ? 0 : Double.parseDouble(v.strip());
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
