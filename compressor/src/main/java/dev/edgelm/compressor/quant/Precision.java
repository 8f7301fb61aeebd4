package dev.edgelm.compressor.quant;

/** Bits per weight of a quantized variant. */
public enum Precision {
  /** Symmetric int8, one scale per output channel, activations quantized to int8 at run time. */
  INT8("int8", 8),
  /** Asymmetric 4-bit codes in blocks along the input dimension, one scale and zero point per block. */
  INT4("int4", 4);

  private final String id;
  private final int bits;

  Precision(String id, int bits) {
    this.id = id;
    this.bits = bits;
  }

  /** The method name in descriptors and variant ids. */
  public String id() {
    return id;
  }

  public int bits() {
    return bits;
  }
}
