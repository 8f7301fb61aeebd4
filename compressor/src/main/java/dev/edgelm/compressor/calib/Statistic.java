package dev.edgelm.compressor.calib;

/** What calibration accumulates for each linear layer's input activations X (rows = tokens). */
public enum Statistic {
  /** The Gram matrix XᵀX over every calibration token (the Hessian GPTQ needs). */
  GRAM,
  /** A fixed random sample of rows of X (to measure a module's output error ‖XW − XŴ‖ on). */
  SAMPLE
}
