package dev.edgelm.compressor.ir;

/**
 * One transformer block. Attention projections are fused: {@code qkv} maps the hidden state to
 * [queries | keys | values] of widths [numHeads·headDim | numKvHeads·headDim | numKvHeads·headDim].
 * A head-pruned block has fewer heads than the configuration; its counts follow from these shapes.
 * {@code gate} is present only for SwiGLU MLPs: {@code down(silu(gate(x)) * up(x))}.
 */
public record Block(Norm attnNorm, Linear qkv, Linear attnOut, Norm mlpNorm, Linear up, Linear gate, Linear down) {
  /** Query heads this block has (fewer than the configuration's when its heads were pruned): attn.out's input over {@code headDim}. */
  public int numHeads(int headDim) {
    return attnOut.inFeatures() / headDim;
  }

  /** KV heads this block has: what qkv produces beyond the queries, over {@code 2·headDim}. */
  public int numKvHeads(int headDim) {
    return (qkv.outFeatures() - attnOut.inFeatures()) / (2 * headDim);
  }

  public long parameterCount() {
    return attnNorm.parameterCount() + qkv.parameterCount() + attnOut.parameterCount()
        + mlpNorm.parameterCount() + up.parameterCount() + (gate == null ? 0 : gate.parameterCount())
        + down.parameterCount();
  }
}
