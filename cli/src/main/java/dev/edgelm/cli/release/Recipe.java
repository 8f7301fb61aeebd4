package dev.edgelm.cli.release;

import dev.edgelm.compressor.UsageException;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * A release recipe ({@code release.yaml}): the base, the calibration and evaluation texts, and the
 * variants, each an id and a chain of methods with options. Paths are relative to the recipe's
 * directory. Every problem is one {@link UsageException} naming the file, line and key.
 *
 * <pre>
 * base: ../shared/models/stories260K/stories260K.bin   # a checkpoint, or a package made by 'edgelm import'
 * tokenizer: ../shared/models/stories260K/tok512.bin   # optional, for a checkpoint
 * work: build                                          # optional; default .edgelm-release beside the recipe
 * calibration: {text: ../shared/corpora/tinyshakespeare.txt, sequences: 16, length: 128}
 * evaluation: {text: ../shared/corpora/tinystories-valid.head32k.txt, doc-separator: "&lt;|endoftext|&gt;", speed: false}
 * variants:
 *   - id: fp32                                         # no chain: the base itself
 *   - {id: int4-gptq, chain: int4, options: {algo: gptq}}
 *   - {id: kron-int4, chain: "kron,int4", options: {rank: 2, int4.group-size: 32}}
 * </pre>
 */
public record Recipe(Path file, Path base, Path tokenizer, Path work, Calibration calibration, Evaluation evaluation,
    List<Variant> variants) {
  private static final Set<String> TOP = Set.of("base", "tokenizer", "work", "calibration", "evaluation", "variants");
  private static final Set<String> CALIBRATION = Set.of("text", "sequences", "length");
  private static final Set<String> EVALUATION = Set.of("text", "doc-separator", "window", "stride", "speed", "decode-rounds");
  private static final Set<String> VARIANT = Set.of("id", "chain", "options");
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  /** Calibration text for the steps that use it, cut as {@code --calib-sequences}/{@code --calib-length} cut it; text null: none. */
  public record Calibration(Path text, Integer sequences, Integer length) {}

  /** The text {@code report} scores every variant on. */
  public record Evaluation(Path text, String docSeparator, int window, int stride, boolean speed, int decodeRounds) {}

  /**
   * One variant.
   *
   * @param chain comma-separated methods, or empty for the base itself
   * @param options method options by name ({@code group-size}, {@code int4.group-size}), values as text
   * @param line where the variant starts in the recipe (1-based)
   */
  public record Variant(String id, String chain, Map<String, String> options, int line) {
    public boolean isBase() {
      return chain.isEmpty();
    }
  }

  /** Reads and checks a recipe: keys known, ids unique and valid, named files present. */
  public static Recipe load(Path file) {
    Node root;
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      root = new Yaml(new LoaderOptions()).compose(r);
    } catch (NoSuchFileException e) {
      throw new UsageException("--recipe " + file + ": no such file");
    } catch (IOException e) {
      throw new UsageException("--recipe " + file + ": cannot read it: " + e.getMessage());
    } catch (YAMLException e) {
      throw new UsageException(file + ": not valid YAML: " + e.getMessage().replaceAll("\\s+", " "));
    }
    Parser p = new Parser(file);
    Map<String, NodeTuple> top = p.mapping(root, TOP, "the recipe");
    Path dir = file.toAbsolutePath().getParent();
    Path base = p.existing(dir, top, "base", true);
    Path tokenizer = p.existing(dir, top, "tokenizer", false);
    Path work = top.containsKey("work") ? dir.resolve(p.scalar(top.get("work").getValueNode(), "work")) : dir.resolve(".edgelm-release");
    Calibration calibration = new Calibration(null, null, null);
    if (top.containsKey("calibration")) {
      Map<String, NodeTuple> c = p.mapping(top.get("calibration").getValueNode(), CALIBRATION, "calibration");
      calibration = new Calibration(p.existing(dir, c, "text", true), p.integer(c, "sequences"), p.integer(c, "length"));
    }
    if (!top.containsKey("evaluation")) {
      throw new UsageException(file + ": evaluation is missing; name the text every variant is scored on: evaluation: {text: FILE}");
    }
    Map<String, NodeTuple> e = p.mapping(top.get("evaluation").getValueNode(), EVALUATION, "evaluation");
    Integer window = p.integer(e, "window");
    Integer stride = p.integer(e, "stride");
    Integer rounds = p.integer(e, "decode-rounds");
    Evaluation evaluation = new Evaluation(p.existing(dir, e, "text", true),
        e.containsKey("doc-separator") ? p.scalar(e.get("doc-separator").getValueNode(), "evaluation.doc-separator") : null,
        window == null ? 0 : window, stride == null ? 0 : stride,
        !e.containsKey("speed") || Boolean.parseBoolean(p.scalar(e.get("speed").getValueNode(), "evaluation.speed")),
        rounds == null ? 3 : rounds);
    if (!top.containsKey("variants")) {
      throw new UsageException(file + ": variants is missing; list them: variants: [{id: fp32}, {id: int8, chain: int8}]");
    }
    Node vs = top.get("variants").getValueNode();
    if (!(vs instanceof SequenceNode seq) || seq.getValue().isEmpty()) {
      throw new UsageException(p.at(vs) + "variants must be a non-empty list of {id, chain, options}");
    }
    List<Variant> variants = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    for (Node v : seq.getValue()) {
      Map<String, NodeTuple> m = p.mapping(v, VARIANT, "a variant");
      if (!m.containsKey("id")) {
        throw new UsageException(p.at(v) + "a variant has no id");
      }
      String id = p.scalar(m.get("id").getValueNode(), "id");
      if (!ID.matcher(id).matches()) {
        throw new UsageException(p.at(m.get("id").getValueNode()) + "variant id '" + id + "' is not valid (letters, digits, . _ -)");
      }
      if (!ids.add(id)) {
        throw new UsageException(p.at(m.get("id").getValueNode()) + "duplicate variant id '" + id + "'");
      }
      String chain = m.containsKey("chain") ? p.scalar(m.get("chain").getValueNode(), "chain").strip() : "";
      if (chain.equalsIgnoreCase("fp32") || chain.equalsIgnoreCase("base")) {
        chain = "";
      }
      Map<String, String> options = new LinkedHashMap<>();
      if (m.containsKey("options")) {
        Node on = m.get("options").getValueNode();
        for (Map.Entry<String, NodeTuple> o : p.mapping(on, null, "options of " + id).entrySet()) {
          options.put(o.getKey(), p.scalar(o.getValue().getValueNode(), "options." + o.getKey()));
        }
        if (chain.isEmpty() && !options.isEmpty()) {
          throw new UsageException(p.at(on) + "variant '" + id + "' has options but no chain");
        }
      }
      variants.add(new Variant(id, chain, options, v.getStartMark().getLine() + 1));
    }
    return new Recipe(file, base, tokenizer, work, calibration, evaluation, List.copyOf(variants));
  }

  /** {@code release.yaml:12: } for messages about a variant. */
  public String at(Variant v) {
    return file.getFileName() + ":" + v.line() + ": ";
  }

  private static final class Parser {
    private final Path file;

    Parser(Path file) {
      this.file = file;
    }

    String at(Node n) {
      return file.getFileName() + ":" + (n.getStartMark().getLine() + 1) + ": ";
    }

    /** A mapping's entries by key; keys outside {@code known} (when given) or repeated are refused. */
    Map<String, NodeTuple> mapping(Node n, Set<String> known, String what) {
      if (!(n instanceof MappingNode m)) {
        throw new UsageException(at(n) + what + " must be a mapping of keys to values");
      }
      Map<String, NodeTuple> out = new LinkedHashMap<>();
      for (NodeTuple t : m.getValue()) {
        String key = scalar(t.getKeyNode(), "a key");
        if (known != null && !known.contains(key)) {
          throw new UsageException(at(t.getKeyNode()) + "unknown key '" + key + "' in " + what + "; known keys: "
              + String.join(", ", new java.util.TreeSet<>(known)));
        }
        if (out.put(key, t) != null) {
          throw new UsageException(at(t.getKeyNode()) + "key '" + key + "' appears twice in " + what);
        }
      }
      return out;
    }

    String scalar(Node n, String what) {
      if (!(n instanceof ScalarNode s)) {
        throw new UsageException(at(n) + what + " must be a single value");
      }
      return s.getValue();
    }

    Integer integer(Map<String, NodeTuple> m, String key) {
      if (!m.containsKey(key)) {
        return null;
      }
      Node n = m.get(key).getValueNode();
      try {
        return Integer.parseInt(scalar(n, key).strip());
      } catch (NumberFormatException e) {
        throw new UsageException(at(n) + key + " must be an integer, got '" + scalar(n, key) + "'");
      }
    }

    Path existing(Path dir, Map<String, NodeTuple> m, String key, boolean required) {
      if (!m.containsKey(key)) {
        if (required) {
          throw new UsageException(file.getFileName() + ": " + key + " is missing");
        }
        return null;
      }
      Node n = m.get(key).getValueNode();
      Path p = dir.resolve(scalar(n, key)).normalize();
      if (!Files.exists(p)) {
        throw new UsageException(at(n) + key + ": no such file or directory " + p);
      }
      return p;
    }
  }
}
