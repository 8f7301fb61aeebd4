package dev.edgelm.compressor.quant;

import dev.edgelm.compressor.onnx.Attr;
import dev.edgelm.compressor.onnx.DataType;
import dev.edgelm.compressor.onnx.GraphBuilder;
import dev.edgelm.compressor.onnx.Payload;

/**
 * The ONNX nodes of the quantized weight forms, in one place so a linear layer, a tied head and an
 * embedding lookup over the same {@link QuantizedMatrix} agree on initializer names and layouts.
 *
 * <p>int4 (MatMulNBits): {@code <p>.qweight} uint8 [N, blocks, blockSize/2], two codes per byte,
 * low nibble first; {@code <p>.scales} float [N, blocks]; {@code <p>.zero_points} uint8
 * [N, ceil(blocks/2)], two per byte, low nibble first. The same three serve a row lookup: row n
 * of each is output channel n, i.e. embedding row n when W is a tied head Eᵀ.
 *
 * <p>int8 (DynamicQuantizeMatMul): {@code <p>.qweight} int8 [K, N], symmetric, and
 * {@code <p>.scales} float [N], one per output channel; a lookup gathers columns of it.
 *
 * <p>Lookups use default-domain operators only (Gather, Cast, integer Div/Mul/Sub for the nibbles,
 * Concat, Reshape, Slice), so they run wherever the graph runs; they touch only the looked-up
 * rows.
 */
final class QuantizedOps {
  private QuantizedOps() {}

  record Names(String weight, String scales, String zeroPoints) {}

  /** Defines (once) the initializers of {@code q} under {@code prefix}. */
  static Names initializers(GraphBuilder g, String prefix, QuantizedMatrix q) {
    Names names = new Names(prefix + ".qweight", prefix + ".scales", q.grid.bits() == 4 ? prefix + ".zero_points" : null);
    if (g.isDefined(names.weight())) {
      return names;
    }
    if (q.grid.bits() == 4) {
      int half = q.grid.blockSize() / 2;
      g.initializer(names.weight(), DataType.UINT8, new long[] {q.out, q.blocks, half}, Payload.ofBytes(q.packedNibbles()));
      g.initializer(names.scales(), DataType.FLOAT, new long[] {q.out, q.blocks}, Payload.ofFloats(q.scales()));
      g.initializer(names.zeroPoints(), DataType.UINT8, new long[] {q.out, (q.blocks + 1) / 2}, Payload.ofBytes(q.packedZeroPoints()));
    } else {
      g.initializer(names.weight(), DataType.INT8, new long[] {q.in, q.out}, Payload.ofBytes(q.inputMajorCodes()));
      g.initializer(names.scales(), DataType.FLOAT, new long[] {q.out}, Payload.ofFloats(q.scales()));
    }
    return names;
  }

  /** {@code x · W} for x [..., K]. */
  static String matMul(GraphBuilder g, String x, String name, String prefix, QuantizedMatrix q, int accuracyLevel) {
    Names w = initializers(g, prefix, q);
    if (q.grid.bits() == 4) {
      return g.node(GraphBuilder.MICROSOFT, "MatMulNBits").in(x, w.weight(), w.scales(), w.zeroPoints())
          .attr(Attr.i("K", q.in)).attr(Attr.i("N", q.out)).attr(Attr.i("bits", 4))
          .attr(Attr.i("block_size", q.grid.blockSize())).attr(Attr.i("accuracy_level", accuracyLevel))
          .out(name + "/matmul_nbits");
    }
    return g.node(GraphBuilder.MICROSOFT, "DynamicQuantizeMatMul").in(x, w.weight(), w.scales())
        .out(name + "/dynamic_quantize_matmul");
  }

  /** Rows {@code ids} [...] of Wᵀ (output channels of W), dequantized: [..., K]. */
  static String lookup(GraphBuilder g, String ids, String name, String prefix, QuantizedMatrix q) {
    Names w = initializers(g, prefix, q);
    String flat = g.node("Reshape").in(ids, g.int64s(-1)).out(name + "/ids_flat");
    String rows = q.grid.bits() == 4 ? lookup4(g, flat, name, w, q) : lookup8(g, flat, name, w);
    String shape = g.node("Concat").in(g.node("Shape").in(ids).out(name + "/ids_shape"), g.int64s(q.in))
        .attr(Attr.i("axis", 0)).out(name + "/out_shape");
    return g.node("Reshape").in(rows, shape).out(name + "/rows");
  }

  private static String lookup8(GraphBuilder g, String flat, String name, Names w) {
    String cols = g.node("Gather").in(w.weight(), flat).attr(Attr.i("axis", 1)).out(name + "/codes_t");
    String codes = g.node("Transpose").in(cols).attr(Attr.ints("perm", 1, 0)).out(name + "/codes");
    String values = g.node("Cast").in(codes).attr(Attr.i("to", DataType.FLOAT.code())).out(name + "/codes_f");
    String scales = g.node("Gather").in(w.scales(), flat).attr(Attr.i("axis", 0)).out(name + "/scales");
    String column = g.node("Unsqueeze").in(scales, g.int64s(-1)).out(name + "/scales_col");
    return g.node("Mul").in(values, column).out(name + "/dequantized");
  }

  private static String lookup4(GraphBuilder g, String flat, String name, Names w, QuantizedMatrix q) {
    int bs = q.grid.blockSize();
    String packed = g.node("Gather").in(w.weight(), flat).attr(Attr.i("axis", 0)).out(name + "/packed");
    String nibbles = unpackNibbles(g, packed, name + "/codes");
    String codes = g.node("Reshape").in(nibbles, g.int64s(0, q.blocks, bs)).out(name + "/codes_blocked");
    String zpPacked = g.node("Gather").in(w.zeroPoints(), flat).attr(Attr.i("axis", 0)).out(name + "/zp_packed");
    String zp = g.node("Reshape").in(unpackNibbles(g, zpPacked, name + "/zp"), g.int64s(0, -1)).out(name + "/zp_flat");
    if ((q.blocks + 1) / 2 * 2 != q.blocks) {
      zp = g.node("Slice").in(zp, g.int64s(0), g.int64s(q.blocks), g.int64s(1)).out(name + "/zp_blocks");
    }
    String zpCol = g.node("Unsqueeze").in(zp, g.int64s(-1)).out(name + "/zp_col");
    String centred = g.node("Sub").in(codes, zpCol).out(name + "/centred");
    String scales = g.node("Gather").in(w.scales(), flat).attr(Attr.i("axis", 0)).out(name + "/scales");
    String scaleCol = g.node("Unsqueeze").in(scales, g.int64s(-1)).out(name + "/scales_col");
    String values = g.node("Mul").in(g.node("Cast").in(centred).attr(Attr.i("to", DataType.FLOAT.code())).out(name + "/centred_f"),
        scaleCol).out(name + "/dequantized_blocked");
    String rows = g.node("Reshape").in(values, g.int64s(0, (long) q.blocks * bs)).out(name + "/dequantized_padded");
    if (q.paddedIn() != q.in) {
      rows = g.node("Slice").in(rows, g.int64s(0), g.int64s(q.in), g.int64s(1)).out(name + "/dequantized");
    }
    return rows;
  }

  /** uint8 [..., m] → int32 [..., m, 2]: (low nibble, high nibble) of each byte. */
  private static String unpackNibbles(GraphBuilder g, String packed, String name) {
    String wide = g.node("Cast").in(packed).attr(Attr.i("to", DataType.INT32.code())).out(name + "/i32");
    String sixteen = g.node("Cast").in(g.int64Scalar(16)).attr(Attr.i("to", DataType.INT32.code())).out(name + "/sixteen");
    String high = g.node("Div").in(wide, sixteen).out(name + "/high");
    String low = g.node("Sub").in(wide, g.node("Mul").in(high, sixteen).out(name + "/high16")).out(name + "/low");
    String axis = g.int64s(-1);
    return g.node("Concat").in(
        g.node("Unsqueeze").in(low, axis).out(name + "/low_u"),
        g.node("Unsqueeze").in(high, axis).out(name + "/high_u")).attr(Attr.i("axis", -1)).out(name + "/pairs");
  }
}
