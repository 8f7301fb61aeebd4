package dev.edgelm.compressor.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.compressor.ir.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class GraphBuilderTest {
  @Test
  void pruneTo_keepsOnlyWhatTheKeptOutputsNeed() {
    GraphBuilder g = new GraphBuilder("t");
    String x = g.input("x", DataType.FLOAT, 2, 3);
    String unused = g.input("unused", DataType.FLOAT, 2, 3);
    String w = g.initializer("w", Tensor.zeros(3, 3));
    String big = g.initializer("big", Tensor.zeros(3, 100));
    String y = g.node("MatMul").in(x, w).out("y");
    String cheap = g.node("Relu").in(y).out("cheap");
    String logits = g.node("MatMul").in(g.node("Add").in(y, unused).out("sum"), big).out("logits");
    g.output(cheap, DataType.FLOAT, 2, 3);
    g.output(logits, DataType.FLOAT, 2, 100);

    g.pruneTo(List.of(cheap));

    assertEquals(List.of("MatMul", "Relu"), g.nodes().stream().map(n -> n.getOpType()).toList());
    assertEquals(List.of("w"), g.initializers().stream().map(GraphBuilder.Initializer::name).toList());
    assertEquals(List.of("x"), g.inputs().stream().map(i -> i.getName()).toList());
    assertEquals(List.of("cheap"), g.outputs().stream().map(o -> o.getName()).toList());
    assertEquals(List.of("ai.onnx:MatMul", "ai.onnx:Relu"), g.opsUsed());
    assertFalse(g.isDefined("logits"));
    assertTrue(g.isDefined("y"));
    assertThrows(IllegalArgumentException.class, () -> g.pruneTo(List.of("y")), "not a graph output");
  }
}
