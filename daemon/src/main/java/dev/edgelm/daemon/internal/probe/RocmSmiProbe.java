package dev.edgelm.daemon.internal.probe;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgelm.daemon.HostCapabilities;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/** AMD GPUs through {@code rocm-smi --showmeminfo vram --json} (bytes). */
final class RocmSmiProbe implements GpuProbe {
  static final List<String> COMMAND = List.of("rocm-smi", "--showmeminfo", "vram", "--json");

  @Override
  public List<HostCapabilities.Gpu> probe(Function<List<String>, Optional<String>> commands) {
    return commands.apply(COMMAND).map(RocmSmiProbe::parse).orElse(List.of());
  }

  /** {@code {"card0": {"VRAM Total Memory (B)": "…", "VRAM Total Used Memory (B)": "…"}}}. */
  static List<HostCapabilities.Gpu> parse(String json) {
    List<HostCapabilities.Gpu> out = new ArrayList<>();
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(json);
    } catch (IOException e) {
      return out;
    }
    if (root == null || !root.isObject()) {
      return out;
    }
    Iterator<Map.Entry<String, JsonNode>> cards = root.fields();
    while (cards.hasNext()) {
      Map.Entry<String, JsonNode> card = cards.next();
      long total = number(card.getValue().path("VRAM Total Memory (B)"));
      long used = number(card.getValue().path("VRAM Total Used Memory (B)"));
      if (total > 0) {
        out.add(new HostCapabilities.Gpu("amd", "AMD GPU " + card.getKey(), total, Math.max(0, total - Math.max(0, used)), 0));
      }
    }
    return out;
  }

  private static long number(JsonNode n) {
    try {
      return n.isNumber() ? n.asLong() : Long.parseLong(n.asText("").strip());
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
