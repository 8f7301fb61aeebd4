package dev.edgelm.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.edgelm.proto.Units;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Raw configuration values merged from their sources (defaults, file, environment, flags), each
 * remembering where it came from, with typed accessors that fail with a {@link ConfigException}
 * naming the key and its origin.
 *
 * <p>Not thread-safe; used once at start.
 */
final class ConfigValues {
  private static final Pattern MODEL_KEY = Pattern.compile("models\\.(.+)\\.([a-z_]+)");

  private record Value(String text, String origin) {}

  private final Map<String, Value> values = new LinkedHashMap<>();

  public ConfigValues() {
    for (ConfigKeys.Key k : ConfigKeys.keys()) {
      values.put(k.name(), new Value(k.defaultValue(), "default"));
    }
  }

  /** Reads a YAML (or JSON) file: nested sections and dotted keys both work; lists become comma-separated values. */
  public ConfigValues readFile(Path file) {
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(Files.readString(file));
    } catch (IOException e) {
      throw new ConfigException(null, "cannot read config file " + file + ": " + oneLine(e.getMessage()));
    }
    if (root == null || root.isMissingNode() || root.isNull()) {
      return this;
    }
    if (!root.isObject()) {
      throw new ConfigException(null, "config file " + file + " must hold a mapping of keys to values");
    }
    Map<String, String> flat = new LinkedHashMap<>();
    flatten("", root, flat, file);
    for (Map.Entry<String, String> e : flat.entrySet()) {
      set(e.getKey(), e.getValue(), "file " + file);
    }
    return this;
  }

  private static void flatten(String prefix, JsonNode node, Map<String, String> out, Path file) {
    if (node.isObject()) {
      Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
      while (fields.hasNext()) {
        Map.Entry<String, JsonNode> f = fields.next();
        flatten(prefix.isEmpty() ? f.getKey() : prefix + "." + f.getKey(), f.getValue(), out, file);
      }
    } else if (node.isArray()) {
      List<String> items = new ArrayList<>();
      for (JsonNode item : node) {
        if (item.isContainerNode()) {
          throw new ConfigException(prefix, "in file " + file + ": list items must be plain values");
        }
        items.add(item.asText());
      }
      out.put(prefix, String.join(",", items));
    } else {
      out.put(prefix, node.isNull() ? "" : node.asText());
    }
  }

  /** Applies {@code EDGELMD_*} variables; an unknown one is an error (a typo would otherwise be ignored). */
  public ConfigValues readEnvironment(Map<String, String> env) {
    Map<String, ConfigKeys.Key> byVar = new TreeMap<>();
    for (ConfigKeys.Key k : ConfigKeys.keys()) {
      byVar.put(k.envVar(), k);
    }
    for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
      String var = e.getKey();
      if (!var.startsWith(ConfigKeys.ENV_PREFIX) || ConfigKeys.ENV_NOT_KEYS.contains(var)) {
        continue;
      }
      ConfigKeys.Key k = byVar.get(var);
      if (k == null) {
        throw new ConfigException(null, "environment variable " + var + " is not a configuration variable (see --describe-config)");
      }
      values.put(k.name(), new Value(e.getValue(), "environment " + var));
    }
    return this;
  }

  /** Applies flag overrides ({@code --set KEY=VALUE} and the shortcuts). */
  public ConfigValues readFlags(Map<String, String> flags) {
    for (Map.Entry<String, String> e : flags.entrySet()) {
      set(e.getKey(), e.getValue(), "flag");
    }
    return this;
  }

  private void set(String key, String text, String origin) {
    Matcher m = MODEL_KEY.matcher(key);
    if (ConfigKeys.key(key).isPresent()) {
      values.put(key, new Value(text, origin));
    } else if (m.matches() && ConfigKeys.isModelProperty(m.group(2))) {
      if (!DaemonConfig.Model.NAME.matcher(m.group(1)).matches()) {
        throw new ConfigException(key, "(" + origin + ") '" + m.group(1) + "' is not a model name (letters, digits, '.', '_', '-')");
      }
      values.put(key, new Value(text, origin));
    } else {
      List<String> near = ConfigKeys.suggestions(key);
      String hint = m.matches() ? "; model entries take " + String.join(", ", ConfigKeys.modelProperties().stream().map(ConfigKeys.ModelProperty::name).toList())
          : near.isEmpty() ? "" : "; did you mean " + String.join(" or ", near) + "?";
      throw new ConfigException(key, "(" + origin + ") unknown key" + hint + " (see --describe-config)");
    }
  }

  /** Names of the models that have at least one key, in first-seen order. */
  public List<String> modelNames() {
    Set<String> names = new LinkedHashSet<>();
    for (String k : values.keySet()) {
      Matcher m = MODEL_KEY.matcher(k);
      if (m.matches()) {
        names.add(m.group(1));
      }
    }
    return List.copyOf(names);
  }

  public boolean isSet(String key) {
    Value v = values.get(key);
    return v != null && !v.text().isBlank();
  }

  public String string(String key) {
    Value v = values.get(key);
    return v == null ? "" : v.text().strip();
  }

  /** Where the value of {@code key} came from ("default", "file F", "environment V", "flag"). */
  public String origin(String key) {
    Value v = values.get(key);
    return v == null ? "default" : v.origin();
  }

  public ConfigException invalid(String key, String message) {
    String shown = ConfigKeys.isSecret(key) ? "(hidden)" : "'" + string(key) + "'";
    return new ConfigException(key, message + ", got " + shown + " (" + origin(key) + ")");
  }

  public int integer(String key, int min, int max) {
    return parse(key, s -> {
      int v = Integer.parseInt(s);
      if (v < min || v > max) {
        throw new IllegalArgumentException();
      }
      return v;
    }, "must be an integer in [" + min + ", " + max + "]");
  }

  public int integerOr(String key, int fallback, int min, int max) {
    return isSet(key) ? integer(key, min, max) : fallback;
  }

  public double decimal(String key, double min, double max) {
    return parse(key, s -> {
      double v = Double.parseDouble(s);
      if (!(v >= min && v <= max)) {
        throw new IllegalArgumentException();
      }
      return v;
    }, "must be a number in [" + min + ", " + max + "]");
  }

  public boolean bool(String key) {
    return parse(key, s -> switch (s.toLowerCase(Locale.ROOT)) {
      case "true", "yes", "on", "1" -> true;
      case "false", "no", "off", "0" -> false;
      default -> throw new IllegalArgumentException();
    }, "must be true or false");
  }

  public boolean boolOr(String key, boolean fallback) {
    return isSet(key) ? bool(key) : fallback;
  }

  public Duration duration(String key) {
    return parse(key, Units::parseDuration, "must be a duration such as 250ms, 30s, 5m or 1h");
  }

  /** Bytes, with binary suffixes, or a percentage of {@code physicalBytes}. */
  public long bytes(String key, long physicalBytes) {
    return parse(key, s -> {
      if (s.endsWith("%")) {
        double pct = Double.parseDouble(s.substring(0, s.length() - 1).strip());
        if (!(pct > 0 && pct <= 100)) {
          throw new IllegalArgumentException();
        }
        return (long) (physicalBytes * pct / 100);
      }
      return Units.parseSize(s);
    }, "must be a size such as 536870912, 512MiB or 4GiB, or a percentage of physical memory such as 50%");
  }

  public Path path(String key) {
    return isSet(key) ? Path.of(string(key)) : null;
  }

  /** A file that must exist and be readable. */
  public Path readableFile(String key) {
    Path p = path(key);
    if (p != null && !(Files.isRegularFile(p) && Files.isReadable(p))) {
      throw invalid(key, "must name a readable file");
    }
    return p;
  }

  public List<String> list(String key) {
    List<String> out = new ArrayList<>();
    for (String part : string(key).split(",")) {
      if (!part.isBlank()) {
        out.add(part.strip());
      }
    }
    return out;
  }

  public String choice(String key, List<String> allowed) {
    String v = string(key).toLowerCase(Locale.ROOT);
    if (!allowed.contains(v)) {
      throw invalid(key, "must be one of " + String.join(", ", allowed));
    }
    return v;
  }

  private <T> T parse(String key, Function<String, T> parser, String expected) {
    try {
      return parser.apply(string(key));
    } catch (RuntimeException e) {
      throw invalid(key, expected);
    }
  }

  /** Every value with its origin, secrets hidden (for {@code --print-config}). */
  public String render() {
    StringBuilder s = new StringBuilder();
    for (Map.Entry<String, Value> e : new TreeMap<>(values).entrySet()) {
      String text = ConfigKeys.isSecret(e.getKey()) && !e.getValue().text().isEmpty() ? "(hidden)" : e.getValue().text();
      s.append(e.getKey()).append(" = ").append(text).append("    # ").append(e.getValue().origin()).append('\n');
    }
    return s.toString();
  }

  private static String oneLine(String s) {
    return s == null ? "(no message)" : s.strip().replaceAll("\\s*\\R\\s*", " ");
  }
}
