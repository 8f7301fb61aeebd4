package dev.edgelm.compressor.kron;

import dev.edgelm.compressor.ir.Family;
import dev.edgelm.compressor.ir.ModelConfig;
import dev.edgelm.compressor.ir.ModelIr;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Which matrices of a model are factored, and with which shapes: the layout a {@link KronPreset}
 * gives for one model. Also the parameter formula: the variant stores
 * {@code base − Σ_entries (in·out − R·(m1·n1 + m2·n2))} parameters (biases, norms and position
 * embeddings are never factored).
 *
 * @param entries the factored matrices, in graph order
 * @param notes layers the preset wanted but could not factor (dimensions that do not divide), and
 *     how {@code auto} chose its fraction
 * @param baseParameterCount parameters of the unfactored model
 */
public record KronPlan(KronPreset preset, List<Entry> entries, List<String> notes, long baseParameterCount) {
  /** Name of the token embedding in plans and reports (it is not a linear layer of the IR). */
  public static final String EMBEDDING = "tok_embed";

  /** What a factored matrix is; decides its preset B shape. */
  public enum Kind {
    /** Token embedding [vocab, d] (and with it a tied head). m2 is always 1. */
    EMBEDDING(1, 2, false),
    /** Untied output head [d, vocab]. n2 is always 1. */
    HEAD(2, 1, false),
    /** One of Q, K, V: a column group of the fused projection. */
    ATTN_QKV(2, 1, false),
    ATTN_OUT(2, 1, false),
    MLP_UP(2, 4, true),
    MLP_GATE(2, 4, true),
    MLP_DOWN(4, 2, true);

    final int m2;
    final int n2;
    final boolean mlp;

    Kind(int m2, int n2, boolean mlp) {
      this.m2 = m2;
      this.n2 = n2;
      this.mlp = mlp;
    }
  }

  /**
   * One factored matrix.
   *
   * @param layer canonical linear name ({@code layers.3.mlp.up}, {@code head}) or {@link #EMBEDDING}
   * @param part {@code q}, {@code k} or {@code v} for a column group of the fused attention
   *     projection, else empty
   * @param columnFrom first column of the layer's weight this entry covers
   * @param columnTo one past its last column
   */
  public record Entry(String layer, String part, Kind kind, int columnFrom, int columnTo, KronShape shape) {
    /** The layer name with the part, e.g. {@code layers.0.attn.qkv.q}. */
    public String label() {
      return part.isEmpty() ? layer : layer + "." + part;
    }
  }

  public KronPlan {
    entries = List.copyOf(entries);
    notes = List.copyOf(notes);
  }

  /** Parameters the factored model stores. */
  public long parameterCount() {
    long n = baseParameterCount;
    for (Entry e : entries) {
      n -= e.shape().denseParameterCount() - e.shape().parameterCount();
    }
    return n;
  }

  /** {@link #parameterCount()} over the base's. */
  public double ratio() {
    return (double) parameterCount() / baseParameterCount;
  }

  /** The plan for {@code base} under {@code options}. */
  public static KronPlan of(ModelIr base, KronOptions options) {
    return of(base.config(), base.parameterCount(), options);
  }

  /** The plan for a model of configuration {@code c} with {@code baseParameterCount} parameters. */
  public static KronPlan of(ModelConfig c, long baseParameterCount, KronOptions options) {
    List<String> notes = new ArrayList<>();
    List<Slot> tier1 = new ArrayList<>();
    List<Slot> tier2 = new ArrayList<>();
    List<Slot> tier3 = new ArrayList<>();
    tier1.add(new Slot(EMBEDDING, "", Kind.EMBEDDING, 0, c.hiddenSize(), c.vocabSize(), c.hiddenSize()));
    for (int i = 0; i < c.numLayers(); i++) {
      String qkv = ModelIr.layerName(i, "attn.qkv");
      int q = c.queryWidth();
      int kv = c.kvWidth();
      tier1.add(new Slot(qkv, "q", Kind.ATTN_QKV, 0, q, c.hiddenSize(), q));
      tier1.add(new Slot(qkv, "k", Kind.ATTN_QKV, q, q + kv, c.hiddenSize(), kv));
      tier1.add(new Slot(qkv, "v", Kind.ATTN_QKV, q + kv, q + 2 * kv, c.hiddenSize(), kv));
      List<Slot> mlp = i % 2 == 1 ? tier1 : tier2;
      if (c.family() == Family.LLAMA) {
        mlp.add(whole(ModelIr.layerName(i, "mlp.gate"), Kind.MLP_GATE, c.hiddenSize(), c.intermediateSize()));
      }
      mlp.add(whole(ModelIr.layerName(i, "mlp.up"), Kind.MLP_UP, c.hiddenSize(), c.intermediateSize()));
      mlp.add(whole(ModelIr.layerName(i, "mlp.down"), Kind.MLP_DOWN, c.intermediateSize(), c.hiddenSize()));
      tier3.add(whole(ModelIr.layerName(i, "attn.out"), Kind.ATTN_OUT, c.queryWidth(), c.hiddenSize()));
    }
    if (!c.tiedEmbeddings()) {
      tier1.add(whole(ModelIr.HEAD, Kind.HEAD, c.hiddenSize(), c.vocabSize()));
    }

    List<Entry> entries = new ArrayList<>();
    if (options.preset() == KronPreset.TQ_GPT2) {
      for (Slot s : tier1) {
        int rank = s.kind.mlp ? options.effectiveMlpRank() : 1;
        add(entries, notes, s, presetShape(s, rank));
      }
    } else {
      List<Slot> chosen = new ArrayList<>(tier1);
      double f = fraction(chosen, baseParameterCount, options.targetRatio());
      for (List<Slot> more : List.of(tier2, tier3)) {
        if (f >= 0.25 || more.isEmpty()) {
          continue;
        }
        chosen.addAll(more);
        f = fraction(chosen, baseParameterCount, options.targetRatio());
      }
      double kept = Math.max(1.0 / 32, Math.min(31.0 / 32, f));
      notes.add(String.format(java.util.Locale.ROOT,
          "auto: kept fraction %.4f per factored matrix for target ratio %.3f over %d matrices", kept, options.targetRatio(),
          chosen.size()));
      for (Slot s : sortInGraphOrder(chosen, c)) {
        add(entries, notes, s, autoShape(s, kept));
      }
    }
    return new KronPlan(options.preset(), sortEntries(entries, c), notes, baseParameterCount);
  }

  /** A matrix the layout may factor: rows × columns of the layer's weight it covers. */
  private record Slot(String layer, String part, Kind kind, int from, int to, int rows, int cols) {}

  private static Slot whole(String layer, Kind kind, int rows, int cols) {
    return new Slot(layer, "", kind, 0, cols, rows, cols);
  }

  private static void add(List<Entry> entries, List<String> notes, Slot s, KronShape shape) {
    String label = s.part.isEmpty() ? s.layer : s.layer + "." + s.part;
    if (shape == null) {
      notes.add(label + " (" + s.rows + "×" + s.cols + ") not factored: no B shape of the preset's kind divides it");
      return;
    }
    entries.add(new Entry(s.layer, s.part, s.kind, s.from, s.to, shape));
  }

  /** The kept fraction that makes the whole model meet {@code target} when {@code slots} are factored. */
  private static double fraction(List<Slot> slots, long base, double target) {
    long dense = 0;
    for (Slot s : slots) {
      dense += (long) s.rows * s.cols;
    }
    long untouched = base - dense;
    return (target * base - untouched) / dense;
  }

  private static KronShape presetShape(Slot s, int rank) {
    if (s.rows % s.kind.m2 != 0 || s.cols % s.kind.n2 != 0) {
      return null;
    }
    return new KronShape(s.rows / s.kind.m2, s.cols / s.kind.n2, s.kind.m2, s.kind.n2, rank);
  }

  /**
   * For each B size {@code s = m2·n2} the B shape whose aspect {@code m2:n2} is nearest the
   * preset's, and the rank whose kept fraction {@code R·(m1·n1 + m2·n2) / (in·out)} is nearest
   * {@code kept}; of those, the one nearest {@code kept} (to 1 %; on ties the preset's size, then
   * the smaller size).
   */
  private static KronShape autoShape(Slot slot, double kept) {
    int preset = slot.kind.m2 * slot.kind.n2;
    double aspect = Math.log((double) slot.kind.m2 / slot.kind.n2);
    KronShape best = null;
    double bestScore = Double.POSITIVE_INFINITY;
    for (int s : new int[] {preset, 2, 4, 8, 16, 32}) {
      KronShape shape = null;
      double bestDistance = Double.POSITIVE_INFINITY;
      for (int m2 = 1; m2 <= s; m2++) {
        int n2 = s / m2;
        if (s % m2 != 0 || (slot.kind == Kind.EMBEDDING && m2 != 1) || (slot.kind == Kind.HEAD && n2 != 1)
            || slot.rows % m2 != 0 || slot.cols % n2 != 0) {
          continue;
        }
        double own = Math.log((double) m2 / n2);
        double distance = Math.abs(own - aspect) + 1e-3 * Math.abs(own);
        if (distance < bestDistance) {
          bestDistance = distance;
          shape = new KronShape(slot.rows / m2, slot.cols / n2, m2, n2, 1);
        }
      }
      if (shape == null) {
        continue;
      }
      double perRank = shape.keptFraction();
      int maxRank = Math.min(s - 1, shape.m1() * shape.n1());
      if (maxRank < 1) {
        continue;
      }
      int rank = (int) Math.max(1, Math.min(maxRank, Math.round(kept / perRank)));
      KronShape candidate = shape.withRank(rank);
      // Nearest fraction first (in steps of 1 %); then the preset's size; then the smaller size.
      double score = Math.floor(Math.abs(candidate.keptFraction() - kept) / 0.01) + (s == preset ? 0 : 0.5) + s * 1e-3;
      if (candidate.keptFraction() < 1 && score < bestScore) {
        bestScore = score;
        best = candidate;
      }
    }
    return best;
  }

  private static List<Slot> sortInGraphOrder(List<Slot> slots, ModelConfig c) {
    List<Slot> out = new ArrayList<>(slots);
    out.sort(Comparator.comparingInt(s -> graphOrder(s, c)));
    return out;
  }

  private static List<Entry> sortEntries(List<Entry> entries, ModelConfig c) {
    List<Entry> out = new ArrayList<>(entries);
    out.sort(Comparator.comparingInt(e -> order(e.layer(), e.columnFrom(), c)));
    return out;
  }

  private static int graphOrder(Slot s, ModelConfig c) {
    return order(s.layer, s.from, c);
  }

  /** Embedding first, then blocks in order (qkv, out, gate, up, down), the head last. */
  private static int order(String layer, int column, ModelConfig c) {
    if (layer.equals(EMBEDDING)) {
      return -1;
    }
    if (layer.equals(ModelIr.HEAD)) {
      return Integer.MAX_VALUE;
    }
    String[] parts = layer.split("\\.", 3);
    int block = Integer.parseInt(parts[1]);
    int within = switch (parts[2]) {
      case "attn.qkv" -> 0;
      case "attn.out" -> 1;
      case "mlp.gate" -> 2;
      case "mlp.up" -> 3;
      default -> 4;
    };
    int columnRank = column == 0 ? 0 : column < c.queryWidth() + 1 ? 1 : 2;
    return block * 16 + within * 3 + columnRank;
  }
}
