package dev.edgelm.compressor.ir;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A decoder-only language model in memory: its configuration and its layers, each weight in the
 * form its method stores it. Importers build one; compression methods return modified copies; the
 * ONNX emitter writes one out.
 *
 * <p>Linear layers have canonical names ({@link #linears()}): {@code layers.<i>.attn.qkv},
 * {@code layers.<i>.attn.out}, {@code layers.<i>.mlp.up}, {@code layers.<i>.mlp.gate} (SwiGLU only),
 * {@code layers.<i>.mlp.down}, and {@code head} when the head is not tied to the embedding.
 *
 * <p>A GPT-2 model normally has LayerNorms; after the subspace step's fold it has RMSNorms (its
 * stream is centred by its writers), and a tied head may read through a {@link HeadAdapter}.
 *
 * @param positionEmbedding learned positions [context, hidden] (GPT-2), or null (rotary)
 * @param head the output head, or null when it is tied to {@code tokenEmbedding}
 * @param headAdapter what a tied head reads the final norm's output through, or null (see {@link HeadAdapter})
 */
public record ModelIr(
    ModelConfig config,
    EmbeddingTable tokenEmbedding,
    Tensor positionEmbedding,
    List<Block> blocks,
    Norm finalNorm,
    Linear head,
    HeadAdapter headAdapter) {

  public static final String HEAD = "head";

  public ModelIr {
    blocks = List.copyOf(blocks);
    new ShapeCheck(config).check(tokenEmbedding, positionEmbedding, blocks, finalNorm, head);
    if (headAdapter != null && (head != null || headAdapter.dim() != config.hiddenSize()
        || (headAdapter.rowMeans() != null && headAdapter.rowMeans().size() != config.vocabSize()))) {
      throw new IllegalArgumentException("a head adapter needs a tied head and " + config.hiddenSize() + " inputs"
          + (headAdapter.rowMeans() != null ? " and " + config.vocabSize() + " row means" : ""));
    }
  }

  /** A model without a head adapter. */
  public ModelIr(ModelConfig config, EmbeddingTable tokenEmbedding, Tensor positionEmbedding, List<Block> blocks,
      Norm finalNorm, Linear head) {
    this(config, tokenEmbedding, positionEmbedding, blocks, finalNorm, head, null);
  }

  /** The output head, whether tied or not. */
  public Linear headLinear() {
    return head != null ? head : new Linear(tokenEmbedding.tiedHead(), null);
  }

  /** Every linear layer by canonical name, in graph order (the head last, when untied). */
  public Map<String, Linear> linears() {
    Map<String, Linear> out = new LinkedHashMap<>();
    for (int i = 0; i < blocks.size(); i++) {
      Block b = blocks.get(i);
      out.put(layerName(i, "attn.qkv"), b.qkv());
      out.put(layerName(i, "attn.out"), b.attnOut());
      if (b.gate() != null) {
        out.put(layerName(i, "mlp.gate"), b.gate());
      }
      out.put(layerName(i, "mlp.up"), b.up());
      out.put(layerName(i, "mlp.down"), b.down());
    }
    if (head != null) {
      out.put(HEAD, head);
    }
    return Collections.unmodifiableMap(out);
  }

  public static String layerName(int layer, String suffix) {
    return "layers." + layer + "." + suffix;
  }

  /** A copy with the linear layer {@code name} replaced. */
  public ModelIr withLinear(String name, Linear replacement) {
    if (name.equals(HEAD)) {
      return withHead(replacement);
    }
    String[] parts = name.split("\\.", 3);
    if (parts.length != 3 || !parts[0].equals("layers")) {
      throw new IllegalArgumentException("no linear layer named '" + name + "'");
    }
    int i = Integer.parseInt(parts[1]);
    Block b = blocks.get(i);
    Block nb = switch (parts[2]) {
      case "attn.qkv" -> new Block(b.attnNorm(), replacement, b.attnOut(), b.mlpNorm(), b.up(), b.gate(), b.down());
      case "attn.out" -> new Block(b.attnNorm(), b.qkv(), replacement, b.mlpNorm(), b.up(), b.gate(), b.down());
      case "mlp.up" -> new Block(b.attnNorm(), b.qkv(), b.attnOut(), b.mlpNorm(), replacement, b.gate(), b.down());
      case "mlp.gate" -> new Block(b.attnNorm(), b.qkv(), b.attnOut(), b.mlpNorm(), b.up(), replacement, b.down());
      case "mlp.down" -> new Block(b.attnNorm(), b.qkv(), b.attnOut(), b.mlpNorm(), b.up(), b.gate(), replacement);
      default -> throw new IllegalArgumentException("no linear layer named '" + name + "'");
    };
    List<Block> nbs = new ArrayList<>(blocks);
    nbs.set(i, nb);
    return new ModelIr(config, tokenEmbedding, positionEmbedding, nbs, finalNorm, head, headAdapter);
  }

  /** A copy with an explicit (untied) head; a head adapter is kept only while the head stays tied. */
  public ModelIr withHead(Linear newHead) {
    return new ModelIr(config.withTiedEmbeddings(newHead == null), tokenEmbedding, positionEmbedding,
        blocks, finalNorm, newHead, newHead == null ? headAdapter : null);
  }

  public ModelIr withTokenEmbedding(EmbeddingTable table) {
    return new ModelIr(config, table, positionEmbedding, blocks, finalNorm, head, headAdapter);
  }

  /** A copy whose tied head reads through {@code adapter} (null: directly). */
  public ModelIr withHeadAdapter(HeadAdapter adapter) {
    return new ModelIr(config, tokenEmbedding, positionEmbedding, blocks, finalNorm, head, adapter);
  }

  /** Parameters stored, each counted once (a tied head adds none). */
  public long parameterCount() {
    long n = tokenEmbedding.parameterCount() + finalNorm.parameterCount();
    if (positionEmbedding != null) {
      n += positionEmbedding.size();
    }
    for (Block b : blocks) {
      n += b.parameterCount();
    }
    if (head != null) {
      n += head.parameterCount();
    }
    if (headAdapter != null) {
      n += headAdapter.parameterCount();
    }
    return n;
  }

  /** Each layer's FFN width: {@code intermediateSize} unless the layer was pruned. */
  public int[] ffnWidths() {
    return blocks.stream().mapToInt(b -> b.up().outFeatures()).toArray();
  }

  /** Each layer's query heads: {@code numHeads} unless the layer's heads were pruned. */
  public int[] headCounts() {
    return blocks.stream().mapToInt(b -> b.numHeads(config.headDim())).toArray();
  }

  /** Each layer's KV heads: {@code numKvHeads} unless the layer's heads were pruned. */
  public int[] kvHeadCounts() {
    return blocks.stream().mapToInt(b -> b.numKvHeads(config.headDim())).toArray();
  }

  /** Bytes one token of context adds to the fp32 KV cache: each layer's kept KV heads. */
  public long kvCacheBytesPerToken() {
    long n = 0;
    for (int kv : kvHeadCounts()) {
      n += 2L * kv * config.headDim() * Float.BYTES;
    }
    return n;
  }

  /**
   * The descriptor's architecture: the configuration, the per-layer FFN widths when some layer
   * has fewer channels than {@code intermediateSize}, and the per-layer head counts when some layer
   * has fewer heads than the configuration.
   */
  public dev.edgelm.proto.v1.Architecture architecture() {
    dev.edgelm.proto.v1.Architecture.Builder a = config.toProto().toBuilder();
    int[] widths = ffnWidths();
    if (java.util.Arrays.stream(widths).anyMatch(w -> w != config.intermediateSize())) {
      java.util.Arrays.stream(widths).forEach(a::addLayerIntermediateSizes);
    }
    int[] heads = headCounts();
    int[] kv = kvHeadCounts();
    if (java.util.Arrays.stream(heads).anyMatch(h -> h != config.numHeads())
        || java.util.Arrays.stream(kv).anyMatch(h -> h != config.numKvHeads())) {
      java.util.Arrays.stream(heads).forEach(a::addLayerNumHeads);
      java.util.Arrays.stream(kv).forEach(a::addLayerNumKvHeads);
    }
    return a.build();
  }

  /** Validates that every layer has the shape the configuration implies. */
  private record ShapeCheck(ModelConfig c) {
    void check(EmbeddingTable emb, Tensor pos, List<Block> blocks, Norm finalNorm, Linear head) {
      int d = c.hiddenSize();
      expect("token embedding", emb.vocabSize() == c.vocabSize() && emb.dim() == d,
          emb.vocabSize() + "x" + emb.dim(), c.vocabSize() + "x" + d);
      if (c.family() == Family.GPT2) {
        expect("position embedding", pos != null && pos.rank() == 2 && pos.rows() >= c.contextLength() && pos.cols() == d,
            String.valueOf(pos), c.contextLength() + "x" + d);
      } else if (pos != null) {
        throw new IllegalArgumentException("a " + c.family().id() + " model has no learned position embedding");
      }
      expect("layer count", blocks.size() == c.numLayers(), String.valueOf(blocks.size()), String.valueOf(c.numLayers()));
      for (int i = 0; i < blocks.size(); i++) {
        Block b = blocks.get(i);
        String p = "layers." + i + ".";
        norm(p + "attn_norm", b.attnNorm());
        norm(p + "mlp_norm", b.mlpNorm());
        // A head-pruned layer keeps fewer heads (at least one KV head, a whole number of query heads per KV head).
        int q = b.attnOut().inFeatures();
        int hd = c.headDim();
        int kvWidth = (b.qkv().outFeatures() - q) / 2;
        boolean heads = q % hd == 0 && kvWidth % hd == 0 && q >= hd && kvWidth >= hd && q <= c.queryWidth()
            && kvWidth <= c.kvWidth() && (q / hd) % (kvWidth / hd) == 0;
        expect(p + "attention heads", heads, q + " query and " + kvWidth + " KV columns",
            "whole heads of " + hd + ", 1.." + c.numHeads() + " query heads per layer, 1.." + c.numKvHeads()
            + " KV heads, each serving the same number");
        linear(p + "attn.qkv", b.qkv(), d, q + 2 * kvWidth);
        linear(p + "attn.out", b.attnOut(), q, d);
        // A pruned layer keeps fewer FFN channels than intermediate_size; every layer keeps one at least.
        int f = b.up().outFeatures();
        expect(p + "mlp width", f >= 1 && f <= c.intermediateSize(), String.valueOf(f), "1.." + c.intermediateSize());
        linear(p + "mlp.up", b.up(), d, f);
        linear(p + "mlp.down", b.down(), f, d);
        if (c.family() == Family.LLAMA) {
          if (b.gate() == null) {
            throw new IllegalArgumentException(p + "mlp.gate is missing (SwiGLU needs it)");
          }
          linear(p + "mlp.gate", b.gate(), d, f);
        } else if (b.gate() != null) {
          throw new IllegalArgumentException(p + "mlp.gate given for a " + c.family().id() + " model");
        }
      }
      norm("final_norm", finalNorm);
      if (head != null) {
        linear("head", head, d, c.vocabSize());
      }
    }

    private void norm(String name, Norm n) {
      expect(name, n.weight().size() == c.hiddenSize(), String.valueOf(n.weight().size()), String.valueOf(c.hiddenSize()));
      // GPT-2's LayerNorms become RMSNorms when the subspace step centres the stream instead.
      if (c.family() == Family.LLAMA && !n.isRms()) {
        throw new IllegalArgumentException(name + " must be an RMSNorm (no bias)");
      }
    }

    private static void linear(String name, Linear l, int in, int out) {
      expect(name, l.inFeatures() == in && l.outFeatures() == out,
          l.inFeatures() + "x" + l.outFeatures(), in + "x" + out);
    }

    private static void expect(String what, boolean ok, String got, String want) {
      if (!ok) {
        throw new IllegalArgumentException(what + " has shape " + got + ", expected " + want);
      }
    }
  }
}
