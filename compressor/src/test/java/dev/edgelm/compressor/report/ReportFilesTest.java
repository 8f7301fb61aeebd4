package dev.edgelm.compressor.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReportFilesTest {
  @Test
  void naturalOrder_comparesRunsOfDigitsAsNumbers() {
    List<String> keys = new ArrayList<>(List.of("layer.layers.10.mlp.up", "layer.tok_embed", "layer.layers.2.attn.qkv.q",
        "layer.layers.2.attn.qkv.k", "layer.layers.1.mlp.down"));
    keys.sort(ReportFiles::naturalOrder);
    assertEquals(List.of("layer.layers.1.mlp.down", "layer.layers.2.attn.qkv.k", "layer.layers.2.attn.qkv.q",
        "layer.layers.10.mlp.up", "layer.tok_embed"), keys);
  }
}
