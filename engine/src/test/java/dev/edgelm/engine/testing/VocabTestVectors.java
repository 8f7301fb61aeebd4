package dev.edgelm.engine.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * llama.cpp's tokenizer test vectors ({@code ../shared/tokenizers/llamacpp-vocab-tests}).
 *
 * <p>{@code NAME.inp} holds the inputs, each followed by {@code "\n__ggml_vocab_test__\n"} (so the
 * file ends with the separator and an input may be empty or consist of newlines); {@code
 * NAME.out} holds one line per input with the expected ids separated by spaces (a leading space,
 * and an empty line for an empty input). Reading fails loudly if the two files disagree, so a
 * test can never pass by reading fewer vectors.
 */
public final class VocabTestVectors {
  public static final String SEPARATOR = "\n__ggml_vocab_test__\n";

  /** One input and the ids llama.cpp's reference tokenizer produced for it. */
  public record Vector(int index, String text, int[] ids) {
    @Override
    public String toString() {
      String shown = text.replace("\n", "\\n").replace("\t", "\\t");
      return "#" + index + " \"" + (shown.length() > 40 ? shown.substring(0, 40) + "…" : shown) + "\"";
    }
  }

  private VocabTestVectors() {}

  /** The vectors of {@code llamacpp-vocab-tests/<name>.inp|.out}, skipping the test when ../shared is absent. */
  public static List<Vector> load(String name) {
    Path inp = SharedAssets.require("tokenizers/llamacpp-vocab-tests/" + name + ".inp");
    Path out = SharedAssets.require("tokenizers/llamacpp-vocab-tests/" + name + ".out");
    try {
      return parse(Files.readString(inp, StandardCharsets.UTF_8), Files.readString(out, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static List<Vector> parse(String inputs, String outputs) {
    List<String> texts = new ArrayList<>();
    int start = 0;
    for (int sep = inputs.indexOf(SEPARATOR); sep >= 0; sep = inputs.indexOf(SEPARATOR, start)) {
      texts.add(inputs.substring(start, sep));
      start = sep + SEPARATOR.length();
    }
    if (start != inputs.length()) {
      throw new IllegalStateException("text after the last separator: " + inputs.substring(start));
    }
    List<String> lines = Arrays.asList(outputs.split("\n", -1));
    if (!lines.get(lines.size() - 1).isEmpty()) {
      throw new IllegalStateException(".out does not end with a newline");
    }
    lines = lines.subList(0, lines.size() - 1);
    if (lines.size() != texts.size()) {
      throw new IllegalStateException(texts.size() + " inputs but " + lines.size() + " expected outputs");
    }
    List<Vector> vectors = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      String line = lines.get(i).strip();
      int[] ids = line.isEmpty() ? new int[0] : Arrays.stream(line.split(" +")).mapToInt(Integer::parseInt).toArray();
      vectors.add(new Vector(i, texts.get(i), ids));
    }
    return vectors;
  }
}
