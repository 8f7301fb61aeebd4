package dev.edgelm.engine.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads {@code ../shared/reference/*.json}: prompts with expected ids, top-5 logits and greedy continuations. */
public final class ReferenceOutputs {
  /** One prompt: its ids, the top-5 (id, logit) per prompt position, and the greedy continuation. */
  public record Case(String prompt, int[] promptIds, int[][] top5Ids, float[][] top5Logits, int[] greedyIds, String greedyText) {}

  private final JsonNode root;

  private ReferenceOutputs(JsonNode root) {
    this.root = root;
  }

  public static ReferenceOutputs read(Path file) {
    try {
      return new ReferenceOutputs(new ObjectMapper().readTree(file.toFile()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public List<Case> cases() {
    List<Case> cases = new ArrayList<>();
    for (JsonNode c : root.get("cases")) {
      JsonNode top = c.get("top5_logits_per_prompt_position");
      int[][] ids = new int[top.size()][];
      float[][] logits = new float[top.size()][];
      for (int p = 0; p < top.size(); p++) {
        ids[p] = new int[top.get(p).size()];
        logits[p] = new float[top.get(p).size()];
        for (int k = 0; k < top.get(p).size(); k++) {
          ids[p][k] = top.get(p).get(k).get(0).asInt();
          logits[p][k] = (float) top.get(p).get(k).get(1).asDouble();
        }
      }
      cases.add(new Case(c.get("prompt").asText(), ints(c.get("prompt_ids")), ids, logits, ints(c.get("greedy_ids")),
          c.get("greedy_text").asText()));
    }
    return cases;
  }

  /** The "perplexity" object (text, protocol, expected numbers). */
  public JsonNode perplexity() {
    return root.get("perplexity");
  }

  private static int[] ints(JsonNode array) {
    int[] out = new int[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asInt();
    }
    return out;
  }
}
