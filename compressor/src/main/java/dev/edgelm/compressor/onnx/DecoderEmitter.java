package dev.edgelm.compressor.onnx;

import dev.edgelm.compressor.ir.Block;
import dev.edgelm.compressor.ir.Family;
import dev.edgelm.compressor.ir.HeadAdapter;
import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.ModelConfig;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.ir.Norm;
import dev.edgelm.compressor.ir.Tensor;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Emits a {@link ModelIr} as an ONNX decoder graph with the Hugging Face Optimum KV-cache
 * convention, so the engine runs edgelm packages and Optimum exports alike:
 *
 * <pre>
 * inputs   input_ids [batch, seq] int64, attention_mask [batch, past+seq] int64,
 *          position_ids [batch, seq] int64, past_key_values.{i}.key|value [batch, kv_heads, past, head_dim],
 *          logits_to_keep [1] int64 (edgelm's addition: the head runs on the last k positions, 0 = all)
 * outputs  logits [batch, k or seq, vocab], present.{i}.key|value [batch, kv_heads, past+seq, head_dim]
 * </pre>
 *
 * <p>{@code logits_to_keep} is one input of one graph rather than a second, last-position-only
 * graph in the package: the Slice costs nothing measurable, the package stays one graph (one
 * session to create, no second copy of the graph file), and Optimum exports, which lack the input,
 * still run (the engine feeds it only when the graph has it). The descriptor records it as
 * {@code graph.logits = "selectable"}.
 *
 * <p>Only default-domain opset-17 operators are used for the skeleton (attention, norms,
 * activations, rotary positions), so the graph is portable; weight forms may add contrib operators
 * of their own (they emit themselves, see {@link dev.edgelm.compressor.ir.LinearWeight}).
 *
 * <p>The attention mask combines causality (a query at absolute position p sees keys at positions
 * ≤ p, where the new tokens start at {@code past = total - seq}) with {@code attention_mask}
 * (padding). Masked scores are replaced, not offset, by the lowest float, so fully padded rows stay
 * finite.
 */
public final class DecoderEmitter {
  /** The emitted graph, and for each linear layer the name of the value it reads (for calibration). */
  public record Emitted(GraphBuilder graph, Map<String, String> linearInputs) {}

  /** How attention and its KV cache are written. */
  public enum Attention {
    /**
     * Default-domain operators only; the cache grows by Concat, so each step's present tensors are
     * new buffers holding the whole past (runs on any ONNX Runtime, and matches Optimum exports).
     */
    PORTABLE,
    /**
     * One {@code com.microsoft:GroupQueryAttention} per layer over a fixed-capacity cache
     * ({@code past_key_values.{i}.*} [batch, kv_heads, capacity, head_dim]): the engine passes one
     * preallocated buffer as past and present and ORT writes each step's keys and values into it in
     * place. Inputs {@code seqlens_k} [batch] int32 (tokens in the cache after this call, minus one)
     * and {@code total_sequence_length} (scalar int32) replace {@code attention_mask}; rotary
     * positions (Llama) are applied inside the operator from cos/sin tables of the context length.
     */
    GQA_SHARED_KV;

    /**
     * Whether the graph decodes KV rows of different lengths in one call (descriptor
     * {@code graph.ragged_batch}): GroupQueryAttention reads each row's own {@code seqlens_k} (and
     * rotary position from it), {@code position_ids} are per row, and every other operator here and
     * in the weight forms keeps the batch dimension apart (shapes come from {@code Shape} or a leading
     * {@code -1}, never a literal batch of 1). The portable graph's one {@code attention_mask} per
     * call would need left padding and a per-row past, which it does not have.
     */
    public boolean raggedBatch() {
      return this == GQA_SHARED_KV;
    }

    /**
     * GroupQueryAttention where ONNX Runtime's CPU kernel takes the shape (1.28 refuses a head size
     * that is not a multiple of 16, e.g. stories260K's 8), else the portable graph.
     */
    public static Attention preferredFor(ModelConfig config) {
      return config.headDim() % 16 == 0 ? GQA_SHARED_KV : PORTABLE;
    }
  }

  public static final String BATCH = "batch_size";
  public static final String SEQUENCE = "sequence_length";
  public static final String TOTAL = "total_sequence_length";
  public static final String PAST = "past_sequence_length";
  public static final String KV_CAPACITY = "kv_capacity";
  public static final String SEQLENS_K = "seqlens_k";
  public static final String TOTAL_SEQUENCE_LENGTH = "total_sequence_length";
  public static final String LOGITS_ROWS = "logits_sequence_length";
  /**
   * Input [1] int64: logits are computed for the last k positions of the call, all of them when k
   * is 0 (or at least the sequence length). Generation asks for 1, scoring for every row it reads.
   */
  public static final String LOGITS_TO_KEEP = "logits_to_keep";

  private final ModelIr ir;
  private final ModelConfig c;
  private final Attention attention;
  private String seqlensK;
  private String totalLength;
  private final GraphBuilder g = new GraphBuilder("edgelm_decoder");
  private final Map<String, String> linearInputs = new LinkedHashMap<>();
  private String allowed;
  private String ropeCos;
  private String ropeSin;

  private DecoderEmitter(ModelIr ir, Attention attention) {
    this.ir = ir;
    this.c = ir.config();
    this.attention = attention;
  }

  /** The portable graph (calibration captures run on it). */
  public static Emitted emit(ModelIr ir) {
    return emit(ir, Attention.PORTABLE);
  }

  public static Emitted emit(ModelIr ir, Attention attention) {
    return new DecoderEmitter(ir, attention).build();
  }

  private Emitted build() {
    boolean gqa = attention == Attention.GQA_SHARED_KV;
    String ids = g.input("input_ids", DataType.INT64, BATCH, SEQUENCE);
    String mask = gqa ? null : g.input("attention_mask", DataType.INT64, BATCH, TOTAL);
    String positions = g.input("position_ids", DataType.INT64, BATCH, SEQUENCE);
    String keep = g.input(LOGITS_TO_KEEP, DataType.INT64, 1);
    if (gqa) {
      seqlensK = g.input(SEQLENS_K, DataType.INT32, BATCH);
      totalLength = g.input(TOTAL_SEQUENCE_LENGTH, DataType.INT32);
    }
    Object pastLength = gqa ? KV_CAPACITY : PAST;
    for (int i = 0; i < c.numLayers(); i++) {
      int kv = kvHeads(i);
      g.input(pastKey(i), DataType.FLOAT, BATCH, kv, pastLength, c.headDim());
      g.input(pastValue(i), DataType.FLOAT, BATCH, kv, pastLength, c.headDim());
    }

    String h = ir.tokenEmbedding().emitLookup(g, ids, "tok_embed");
    if (c.family() == Family.GPT2) {
      String pos = g.initializer("pos_embed.weight", ir.positionEmbedding());
      String p = g.node("Gather").in(pos, positions).out("pos_embed/gather");
      h = g.node("Add").in(h, p).out("embed/sum");
    } else if (gqa) {
      emitRotaryCaches();
    } else {
      emitRotaryTables(positions);
    }
    if (!gqa) {
      emitMask(ids, mask);
    }

    for (int i = 0; i < c.numLayers(); i++) {
      h = emitBlock(i, ir.blocks().get(i), h);
    }
    String normed = emitNorm(ir.finalNorm(), h, "final_norm");
    // The head runs only on the last logits_to_keep positions (0 = all): Slice from -k to the end.
    // Calibration still sees every position's input to the head (it captures normed, or the
    // adapter's output where a tied head has one).
    String start = g.node("Neg").in(keep).out("logits_select/start");
    java.util.function.UnaryOperator<String> select = v -> g.node("Slice")
        .in(v, start, g.int64s(Long.MAX_VALUE), g.int64s(1)).out("logits_select/" + v.replace('/', '_'));
    HeadAdapter adapter = ir.headAdapter();
    HeadAdapter.Emitted adapted = adapter == null ? null : adapter.emit(g, normed, select);
    linearInputs.put(ModelIr.HEAD, adapted == null ? normed : adapted.all());
    String logits = ir.headLinear().emit(g, adapted == null ? select.apply(normed) : adapted.selected(), ModelIr.HEAD);
    if (adapted != null) {
      logits = adapter.finish(g, adapted, logits);
    }
    g.node("Identity").in(logits).out("logits");
    g.output("logits", DataType.FLOAT, BATCH, LOGITS_ROWS, c.vocabSize());
    for (int i = 0; i < c.numLayers(); i++) {
      int kv = kvHeads(i);
      g.output(presentKey(i), DataType.FLOAT, BATCH, kv, gqa ? KV_CAPACITY : TOTAL, c.headDim());
      g.output(presentValue(i), DataType.FLOAT, BATCH, kv, gqa ? KV_CAPACITY : TOTAL, c.headDim());
    }
    return new Emitted(g, Collections.unmodifiableMap(linearInputs));
  }

  /** Query heads of {@code layer} (a head-pruned layer has fewer than the configuration). */
  private int heads(int layer) {
    return ir.blocks().get(layer).numHeads(c.headDim());
  }

  /** KV heads of {@code layer}: the second dimension of its cache. */
  private int kvHeads(int layer) {
    return ir.blocks().get(layer).numKvHeads(c.headDim());
  }

  public static String pastKey(int layer) {
    return "past_key_values." + layer + ".key";
  }

  public static String pastValue(int layer) {
    return "past_key_values." + layer + ".value";
  }

  public static String presentKey(int layer) {
    return "present." + layer + ".key";
  }

  public static String presentValue(int layer) {
    return "present." + layer + ".value";
  }

  /** {@code allowed} [batch, 1, seq, total] bool: causal and not padding. */
  private void emitMask(String ids, String mask) {
    String one = g.int64Scalar(1);
    String seq = g.node("Gather").in(g.node("Shape").in(ids).out("mask/ids_shape"), one).out("mask/seq");
    String total = g.node("Gather").in(g.node("Shape").in(mask).out("mask/mask_shape"), one).out("mask/total");
    String past = g.node("Sub").in(total, seq).out("mask/past");
    String keyPos = g.node("Range").in(g.int64Scalar(0), total, one).out("mask/key_pos");
    String queryPos = g.node("Range").in(past, total, one).out("mask/query_pos");
    String keyRow = g.node("Unsqueeze").in(keyPos, g.int64s(0)).out("mask/key_row");
    String queryCol = g.node("Unsqueeze").in(queryPos, g.int64s(1)).out("mask/query_col");
    String causal = g.node("LessOrEqual").in(keyRow, queryCol).out("mask/causal");
    String padding = g.node("Cast").in(mask).attr(Attr.i("to", DataType.BOOL.code())).out("mask/padding_bool");
    String padding4 = g.node("Unsqueeze").in(padding, g.int64s(1, 2)).out("mask/padding");
    allowed = g.node("And").in(causal, padding4).out("mask/allowed");
  }

  /**
   * cos/sin [batch, 1, seq, head_dim/2] for the rotate-half rotary convention, computed from
   * {@code position_ids} (angle = position · inverse frequency, in fp32 as the reference
   * implementations do) rather than stored as context × head_dim/2 tables.
   */
  private void emitRotaryTables(String positions) {
    int half = c.headDim() / 2;
    float[] invFreq = new float[half];
    for (int i = 0; i < half; i++) {
      invFreq[i] = (float) (1.0 / Math.pow(c.ropeTheta(), (2.0 * i) / c.headDim()));
    }
    String inverse = g.initializer("rope.inv_freq", Tensor.of(invFreq, half));
    String pos = g.node("Cast").in(positions).attr(Attr.i("to", DataType.FLOAT.code())).out("rope/positions");
    String column = g.node("Unsqueeze").in(pos, g.int64s(-1)).out("rope/position_column");
    String angles = g.node("Mul").in(column, inverse).out("rope/angles");
    String axis1 = g.int64s(1);
    ropeCos = g.node("Unsqueeze").in(g.node("Cos").in(angles).out("rope/cos_rows"), axis1).out("rope/cos");
    ropeSin = g.node("Unsqueeze").in(g.node("Sin").in(angles).out("rope/sin_rows"), axis1).out("rope/sin");
  }

  /**
   * cos/sin [context, head_dim/2] for GroupQueryAttention's rotary (rotate-half, positions from the
   * cache length): angle = position · inverse frequency in fp32, as {@link #emitRotaryTables} computes it.
   */
  private void emitRotaryCaches() {
    int half = c.headDim() / 2;
    int n = c.contextLength();
    float[] cos = new float[n * half];
    float[] sin = new float[n * half];
    for (int i = 0; i < half; i++) {
      float inv = (float) (1.0 / Math.pow(c.ropeTheta(), (2.0 * i) / c.headDim()));
      for (int p = 0; p < n; p++) {
        float angle = (float) p * inv;
        cos[p * half + i] = (float) Math.cos(angle);
        sin[p * half + i] = (float) Math.sin(angle);
      }
    }
    ropeCos = g.initializer("rope.cos_cache", Tensor.of(cos, n, half));
    ropeSin = g.initializer("rope.sin_cache", Tensor.of(sin, n, half));
  }

  /** Attention through GroupQueryAttention; the node writes present.{layer}.* into the buffer passed as past. */
  private String emitGqaAttention(int layer, Block b, String x) {
    String p = ModelIr.layerName(layer, "attn");
    String scope = layer + ".attn";
    String qkv = linear(b.qkv(), x, p + ".qkv");
    String q = scope + "/q";
    String k = scope + "/k";
    String v = scope + "/v";
    int kvWidth = kvHeads(layer) * c.headDim();
    g.node("Split").in(qkv, g.int64s(heads(layer) * c.headDim(), kvWidth, kvWidth))
        .attr(Attr.i("axis", -1)).outs(q, k, v);
    boolean rotary = c.family() == Family.LLAMA;
    GraphBuilder.NodeBuilder node = g.node(GraphBuilder.MICROSOFT, "GroupQueryAttention");
    if (rotary) {
      node.in(q, k, v, pastKey(layer), pastValue(layer), seqlensK, totalLength, ropeCos, ropeSin);
    } else {
      node.in(q, k, v, pastKey(layer), pastValue(layer), seqlensK, totalLength);
    }
    node.attr(Attr.i("num_heads", heads(layer))).attr(Attr.i("kv_num_heads", kvHeads(layer)))
        .attr(Attr.i("do_rotary", rotary ? 1 : 0)).attr(Attr.i("rotary_interleaved", 0))
        .outs(scope + "/context_flat", presentKey(layer), presentValue(layer));
    return linear(b.attnOut(), scope + "/context_flat", p + ".out");
  }

  private String emitBlock(int i, Block b, String h) {
    String p = "layers." + i;
    String x = emitNorm(b.attnNorm(), h, p + ".attn_norm");
    String attn = attention == Attention.GQA_SHARED_KV ? emitGqaAttention(i, b, x) : emitAttention(i, b, x);
    h = g.node("Add").in(h, attn).out(i + "/attn_residual");
    String x2 = emitNorm(b.mlpNorm(), h, p + ".mlp_norm");
    String mlp = emitMlp(i, b, x2);
    return g.node("Add").in(h, mlp).out(i + "/mlp_residual");
  }

  private String emitAttention(int layer, Block b, String x) {
    String p = ModelIr.layerName(layer, "attn");
    String scope = layer + ".attn"; // names intermediate values compactly; p names the layers and their weights
    int hd = c.headDim();
    String qkv = linear(b.qkv(), x, p + ".qkv");
    String q = scope + "/q";
    String k = scope + "/k";
    String v = scope + "/v";
    int heads = heads(layer);
    int kvHeads = kvHeads(layer);
    g.node("Split").in(qkv, g.int64s(heads * hd, kvHeads * hd, kvHeads * hd))
        .attr(Attr.i("axis", -1)).outs(q, k, v);
    q = heads(q, heads, scope + "/q_heads");
    k = heads(k, kvHeads, scope + "/k_heads");
    v = heads(v, kvHeads, scope + "/v_heads");
    if (c.family() == Family.LLAMA) {
      q = rotate(q, scope + "/q_rope");
      k = rotate(k, scope + "/k_rope");
    }
    String keys = g.node("Concat").in(pastKey(layer), k).attr(Attr.i("axis", 2)).out(presentKey(layer));
    String values = g.node("Concat").in(pastValue(layer), v).attr(Attr.i("axis", 2)).out(presentValue(layer));
    keys = repeatKv(keys, heads, kvHeads, scope + "/k_rep");
    values = repeatKv(values, heads, kvHeads, scope + "/v_rep");

    String scaled = g.node("Mul").in(q, g.floatScalar((float) (1.0 / Math.sqrt(hd)))).out(scope + "/q_scaled");
    String keysT = g.node("Transpose").in(keys).attr(Attr.ints("perm", 0, 1, 3, 2)).out(scope + "/k_t");
    String scores = g.node("MatMul").in(scaled, keysT).out(scope + "/scores");
    String masked = g.node("Where").in(allowed, scores, g.floatScalar(-Float.MAX_VALUE)).out(scope + "/scores_masked");
    String probs = g.node("Softmax").in(masked).attr(Attr.i("axis", -1)).out(scope + "/probs");
    String context = g.node("MatMul").in(probs, values).out(scope + "/context");
    String merged = g.node("Transpose").in(context).attr(Attr.ints("perm", 0, 2, 1, 3)).out(scope + "/context_t");
    String flat = g.node("Reshape").in(merged, g.int64s(0, 0, heads * hd)).out(scope + "/context_flat");
    return linear(b.attnOut(), flat, p + ".out");
  }

  /** [b, s, n·hd] → [b, n, s, hd]. */
  private String heads(String x, int n, String name) {
    String r = g.node("Reshape").in(x, g.int64s(0, 0, n, c.headDim())).out(name + "_split");
    return g.node("Transpose").in(r).attr(Attr.ints("perm", 0, 2, 1, 3)).out(name);
  }

  /** Rotate-half rotary embedding of [b, n, s, hd]. */
  private String rotate(String x, String name) {
    int half = c.headDim() / 2;
    String x1 = name + "/x1";
    String x2 = name + "/x2";
    g.node("Split").in(x, g.int64s(half, half)).attr(Attr.i("axis", -1)).outs(x1, x2);
    String a = g.node("Sub").in(
        g.node("Mul").in(x1, ropeCos).out(name + "/x1cos"),
        g.node("Mul").in(x2, ropeSin).out(name + "/x2sin")).out(name + "/r1");
    String b = g.node("Add").in(
        g.node("Mul").in(x2, ropeCos).out(name + "/x2cos"),
        g.node("Mul").in(x1, ropeSin).out(name + "/x1sin")).out(name + "/r2");
    return g.node("Concat").in(a, b).attr(Attr.i("axis", -1)).out(name);
  }

  /** Grouped-query attention: [b, kv, t, hd] → [b, heads, t, hd], key head j serving query heads j·g..j·g+g-1. */
  private String repeatKv(String x, int heads, int kvHeads, String name) {
    int groups = heads / kvHeads;
    if (groups == 1) {
      return x;
    }
    String u = g.node("Unsqueeze").in(x, g.int64s(2)).out(name + "/unsqueeze");
    String e = g.node("Expand").in(u, g.int64s(1, 1, groups, 1, 1)).out(name + "/expand");
    return g.node("Reshape").in(e, g.int64s(0, heads, -1, c.headDim())).out(name);
  }

  private String emitMlp(int layer, Block b, String x) {
    String p = ModelIr.layerName(layer, "mlp");
    String scope = layer + ".mlp";
    if (c.family() == Family.LLAMA) {
      String gate = linear(b.gate(), x, p + ".gate");
      String silu = g.node("Mul").in(gate, g.node("Sigmoid").in(gate).out(scope + "/gate_sigmoid")).out(scope + "/silu");
      String up = linear(b.up(), x, p + ".up");
      String prod = g.node("Mul").in(silu, up).out(scope + "/swiglu");
      return linear(b.down(), prod, p + ".down");
    }
    String up = linear(b.up(), x, p + ".up");
    return linear(b.down(), geluTanh(up, scope + "/gelu"), p + ".down");
  }

  /** gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
  private String geluTanh(String x, String name) {
    String x3 = g.node("Mul").in(g.node("Mul").in(x, x).out(name + "/x2"), x).out(name + "/x3");
    String inner = g.node("Add").in(x, g.node("Mul").in(x3, g.floatScalar(0.044715f)).out(name + "/cx3")).out(name + "/inner");
    String scaled = g.node("Mul").in(inner, g.floatScalar((float) Math.sqrt(2.0 / Math.PI))).out(name + "/scaled");
    String t = g.node("Tanh").in(scaled).out(name + "/tanh");
    String onePlus = g.node("Add").in(t, g.floatScalar(1f)).out(name + "/one_plus");
    String half = g.node("Mul").in(x, g.floatScalar(0.5f)).out(name + "/half");
    return g.node("Mul").in(half, onePlus).out(name);
  }

  private String emitNorm(Norm n, String x, String name) {
    String w = g.initializer(name + ".weight", n.weight());
    String scope = name.replaceFirst("^layers\\.", "");
    if (!n.isRms()) {
      String b = g.initializer(name + ".bias", n.bias());
      return g.node("LayerNormalization").in(x, w, b)
          .attr(Attr.i("axis", -1)).attr(Attr.f("epsilon", c.normEps())).out(scope + "/out");
    }
    String sq = g.node("Mul").in(x, x).out(scope + "/sq");
    String mean = g.node("ReduceMean").in(sq).attr(Attr.ints("axes", -1)).attr(Attr.i("keepdims", 1)).out(scope + "/mean_sq");
    String rms = g.node("Sqrt").in(g.node("Add").in(mean, g.floatScalar(c.normEps())).out(scope + "/mean_sq_eps")).out(scope + "/rms");
    String normed = g.node("Div").in(x, rms).out(scope + "/normed");
    return g.node("Mul").in(normed, w).out(scope + "/out");
  }

  private String linear(Linear l, String x, String name) {
    linearInputs.put(name, x);
    return l.emit(g, x, name);
  }
}
