package dev.edgelm.compressor.importer;

import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.packaging.PackageTokenizer;

/**
 * A checkpoint read into memory.
 *
 * @param name the model's name (the checkpoint directory or file name)
 * @param sourceDigest {@code sha256:<hex>} of the checkpoint's weight file(s)
 * @param unusedTensors checkpoint tensors left out of the model (non-empty only when the import allowed it)
 */
public record ImportedModel(String name, ModelIr ir, PackageTokenizer tokenizer, String sourceDigest, java.util.List<String> unusedTensors) {
  public ImportedModel {
    unusedTensors = java.util.List.copyOf(unusedTensors);
  }
}
