package dev.edgelm.compressor.ir;

/**
 * A linear weight made of smaller stored matrices (Kronecker factors, column groups) that a later
 * step of a chain may re-store, e.g. quantize, without changing the structure around them.
 */
public interface FactoredWeight extends LinearWeight {
  /** This form with each stored matrix replaced by what {@code encoder} makes of it ({@code name}: the layer's). */
  LinearWeight withMatrices(String name, MatrixEncoder encoder);
}
