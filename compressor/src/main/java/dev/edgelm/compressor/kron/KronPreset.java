package dev.edgelm.compressor.kron;

import java.util.Arrays;

/** How {@link KronPlan} chooses which layers to factor and with what shapes. */
public enum KronPreset {
  /**
   * TQCompressedGPT-2's layout (Abronin et al., 2024): the token embedding (and the tied head) as
   * (vocab × d/2) ⊗ (1 × 2) at rank 1; Q, K and V of every block each as (d/2 × width) ⊗ (2 × 1)
   * at rank 1; the MLP of every other block (1, 3, 5, …, counting from 0) at rank 4, c_fc as
   * (d/2 × inner/4) ⊗ (2 × 4) and c_proj as the mirror (inner/4 × d/2) ⊗ (4 × 2). On GPT-2 small
   * these are TQ's (384 × 768) ⊗ (2 × 4) and (768 × 384) ⊗ (4 × 2); on other shapes the B factors
   * and ranks stay and A takes up the rest.
   */
  TQ_GPT2("tq-gpt2"),
  /**
   * The same kinds of layer as {@link #TQ_GPT2}, at one kept fraction {@code f = R / (m2·n2)} for
   * all of them, chosen so the model's parameter count comes closest to a target ratio; extends to
   * the MLP of the other blocks and then to the attention output when the TQ layout alone cannot
   * reach the target.
   */
  AUTO("auto");

  private final String id;

  KronPreset(String id) {
    this.id = id;
  }

  public String id() {
    return id;
  }

  /** @throws IllegalArgumentException for an unknown id, naming the known ones */
  public static KronPreset fromId(String id) {
    for (KronPreset p : values()) {
      if (p.id.equals(id)) {
        return p;
      }
    }
    throw new IllegalArgumentException("unknown Kronecker preset '" + id + "'; choose one of "
        + Arrays.stream(values()).map(KronPreset::id).toList());
  }
}
