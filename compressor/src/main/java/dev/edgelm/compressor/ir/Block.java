package dev.edgelm.compressor.ir;

/**
 * One transformer block. Attention projections are fused: {@code qkv} maps the hidden state to
 * [queries | keys | values] of widths [numHeads·headDim | numKvHeads·headDim | numKvHeads·headDim].
 * {@code gate} is present only for SwiGLU MLPs: {@code down(silu(gate(x)) * up(x))}.
 */
public record Block(Norm attnNorm, Linear qkv, Linear attnOut, Norm mlpNorm, Linear up, Linear gate, Linear down) {
  public long parameterCount() {
    return attnNorm.parameterCount() + qkv.parameterCount() + attnOut.parameterCount()
        + mlpNorm.parameterCount() + up.parameterCount() + (gate == null ? 0 : gate.parameterCount())
        + down.parameterCount();
  }
}
