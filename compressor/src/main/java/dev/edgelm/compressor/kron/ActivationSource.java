package dev.edgelm.compressor.kron;

import dev.edgelm.compressor.ir.ModelIr;
import java.util.Map;
import java.util.Set;

/**
 * Where the activation-aware refit gets its statistics: the Gram matrix {@code XᵀX} of the inputs
 * of named linear layers (canonical names, plus {@code head} whether or not the head is tied), as
 * {@code model} computes them on calibration text. Called again for every refit group, with the
 * model as compressed so far.
 */
interface ActivationSource {
  /** @return for each name, its input Gram matrix [in, in] row-major */
  Map<String, double[]> gramMatrices(ModelIr model, Set<String> linears);
}
