package dev.edgelm.compressor;

import java.util.Map;

/**
 * The options given to one step of a chain, as text (command-line flags without their dashes,
 * recipe keys), with typed getters that fail with a {@link UsageException} naming the option as the
 * user wrote it.
 */
public final class StepOptions {
  private final Map<String, String> values;
  private final Map<String, String> spelled;
  private final int threads;
  private final boolean calibrated;

  /**
   * @param values option name → value ({@code "true"} for a flag)
   * @param spelled option name → how the user wrote it (e.g. {@code --int4.group-size}), for messages
   * @param threads worker threads for the step
   * @param calibrated whether the job has calibration text
   */
  StepOptions(Map<String, String> values, Map<String, String> spelled, int threads, boolean calibrated) {
    this.values = Map.copyOf(values);
    this.spelled = Map.copyOf(spelled);
    this.threads = threads;
    this.calibrated = calibrated;
  }

  public boolean has(String name) {
    return values.containsKey(name);
  }

  /** The option as the user wrote it, e.g. {@code --group-size}. */
  public String flag(String name) {
    return spelled.getOrDefault(name, "--" + name);
  }

  public String string(String name, String otherwise) {
    return values.getOrDefault(name, otherwise);
  }

  public int integer(String name, int otherwise) {
    String v = values.get(name);
    if (v == null) {
      return otherwise;
    }
    try {
      return Integer.parseInt(v.strip());
    } catch (NumberFormatException e) {
      throw new UsageException(flag(name) + " must be an integer, got '" + v + "'");
    }
  }

  public double decimal(String name, double otherwise) {
    String v = values.get(name);
    if (v == null) {
      return otherwise;
    }
    try {
      return Double.parseDouble(v.strip());
    } catch (NumberFormatException e) {
      throw new UsageException(flag(name) + " must be a number, got '" + v + "'");
    }
  }

  public boolean bool(String name) {
    String v = values.get(name);
    if (v == null) {
      return false;
    }
    if (v.equalsIgnoreCase("true")) {
      return true;
    }
    if (v.equalsIgnoreCase("false")) {
      return false;
    }
    throw new UsageException(flag(name) + " must be true or false, got '" + v + "'");
  }

  public int threads() {
    return threads;
  }

  public boolean calibrated() {
    return calibrated;
  }
}
