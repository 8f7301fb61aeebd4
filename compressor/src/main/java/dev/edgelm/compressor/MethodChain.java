package dev.edgelm.compressor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Parses a chain such as {@code kron,int4} and its options into {@link Method}s: the one place
 * front ends (the {@code compress} command, release recipes) turn text into methods.
 *
 * <p>Options are given by name ({@code group-size}) and go to the one step of the chain that takes
 * them. Where two steps of the chain take the same name, the name is ambiguous and must be
 * prefixed with the step: {@code int4.group-size}. A prefixed option goes to that step only.
 * Options no step of the chain takes are refused, naming the methods that do take them.
 */
public final class MethodChain {
  private MethodChain() {}

  /**
   * @param chain comma-separated method names, e.g. {@code kron,int4}
   * @param options option name (optionally {@code step.}-prefixed) → value ({@code "true"} for flags)
   * @param flagPrefix how options are spelled in messages: {@code "--"} on the command line, {@code ""} in a recipe
   * @param threads worker threads for every step
   * @param calibrated whether the job has calibration text
   * @throws UsageException naming the unknown method, the step that cannot follow, or the option that does not apply
   */
  public static List<Method> parse(String chain, Map<String, String> options, String flagPrefix, int threads, boolean calibrated) {
    List<String> names = new ArrayList<>();
    for (String n : chain.split(",", -1)) {
      String name = n.strip().toLowerCase(Locale.ROOT);
      if (kindOf(name) == null) {
        throw new UsageException("unknown method '" + n.strip() + "' in " + flagPrefix + "method " + chain + "; methods are "
            + String.join(", ", knownNames()) + " (chain them in order, e.g. kron,int4)");
      }
      names.add(name);
    }
    Map<Integer, Map<String, String>> values = new TreeMap<>();
    Map<Integer, Map<String, String>> spelled = new TreeMap<>();
    for (int i = 0; i < names.size(); i++) {
      values.put(i, new LinkedHashMap<>());
      spelled.put(i, new LinkedHashMap<>());
    }
    for (Map.Entry<String, String> o : options.entrySet()) {
      String key = o.getKey();
      String written = flagPrefix + key;
      int dot = key.indexOf('.');
      if (dot > 0) {
        String step = key.substring(0, dot);
        String option = key.substring(dot + 1);
        List<Integer> at = indicesOf(names, step);
        if (at.isEmpty()) {
          throw new UsageException(written + " names step '" + step + "', which " + flagPrefix + "method " + chain + " does not have");
        }
        if (!kindOf(step).takes(option)) {
          throw new UsageException(written + ": " + step + " has no option '" + option + "'" + takers(option, flagPrefix));
        }
        for (int i : at) {
          values.get(i).put(option, o.getValue());
          spelled.get(i).put(option, written);
        }
        continue;
      }
      List<Integer> takers = new ArrayList<>();
      for (int i = 0; i < names.size(); i++) {
        if (kindOf(names.get(i)).takes(key)) {
          takers.add(i);
        }
      }
      if (takers.isEmpty()) {
        throw new UsageException(written + " does not apply to " + flagPrefix + "method " + chain + takers(key, flagPrefix));
      }
      if (takers.size() > 1) {
        throw new UsageException(written + " is taken by more than one step of " + chain + "; prefix it with the step, e.g. "
            + flagPrefix + names.get(takers.get(0)) + "." + key);
      }
      values.get(takers.get(0)).put(key, o.getValue());
      spelled.get(takers.get(0)).put(key, written);
    }
    List<Method> methods = new ArrayList<>();
    for (int i = 0; i < names.size(); i++) {
      Method m = kindOf(names.get(i)).parser().parse(names.get(i),
          new StepOptions(values.get(i), spelled.get(i), threads, calibrated));
      String why = m.cannotFollow(methods);
      if (why != null) {
        throw new UsageException(flagPrefix + "method " + chain + ": " + why);
      }
      methods.add(m);
    }
    return methods;
  }

  /** The chain's name as the descriptor and the CLI spell it: {@code kron,int4}. */
  public static String name(List<Method> chain) {
    return chain.stream().map(Method::name).collect(Collectors.joining(","));
  }

  /** Every method name a chain may use. */
  public static List<String> knownNames() {
    return Method.KINDS.stream().flatMap(k -> k.names().stream()).toList();
  }

  /** Every option name some method takes. */
  public static List<String> knownOptions() {
    return Method.KINDS.stream().flatMap(k -> k.options().stream()).map(Method.OptionSpec::name).distinct().toList();
  }

  static Method.Kind kindOf(String name) {
    for (Method.Kind k : Method.KINDS) {
      if (k.names().contains(name)) {
        return k;
      }
    }
    return null;
  }

  private static List<Integer> indicesOf(List<String> names, String step) {
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < names.size(); i++) {
      if (names.get(i).equals(step)) {
        out.add(i);
      }
    }
    return out;
  }

  private static String takers(String option, String flagPrefix) {
    List<String> by = Method.KINDS.stream().filter(k -> k.takes(option)).map(k -> String.join("/", k.names())).toList();
    return by.isEmpty() ? "" : "; it applies to " + flagPrefix + "method " + String.join(" or ", by);
  }
}
