package dev.edgelm.compressor.packaging;

import dev.edgelm.proto.v1.TokenizerSpec;
import java.nio.file.Path;
import java.util.Map;

/**
 * The tokenizer a package will carry: its descriptor entry and the files to copy into the package.
 *
 * @param files name inside the package → source file
 */
public record PackageTokenizer(TokenizerSpec spec, Map<String, Path> files) {
  public PackageTokenizer {
    files = Map.copyOf(files);
  }
}
