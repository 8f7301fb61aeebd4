package dev.edgelm.compressor.quant;

/**
 * For {@link Algorithm#SCALE}: how many clipping ratios a module gets.
 *
 * <p>Either way the ratio is chosen to minimise the module's output error on calibration
 * activations. That error is a sum of independent terms, one per output channel, so choosing a
 * ratio per channel minimises it over a larger family than one ratio for the whole module does.
 */
public enum ClipScope {
  /** One ratio per module, as in the paper's module-wise scaling. */
  MODULE,
  /** One ratio per output channel of the module. */
  CHANNEL
}
