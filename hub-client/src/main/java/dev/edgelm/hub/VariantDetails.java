package dev.edgelm.hub;

import dev.edgelm.proto.v1.VariantDescriptor;
import java.util.List;

/**
 * A variant's manifest and descriptor: everything about it except the weights. Fetching it costs
 * two small requests (manifest and config), both cached in the store.
 *
 * @param descriptor the variant's {@code variant.json}
 * @param files the package files (layers), each checked against the descriptor's file list
 */
public record VariantDetails(VariantEntry entry, Digest configDigest, VariantDescriptor descriptor, List<PackageLayer> files) {
  public VariantDetails {
    files = List.copyOf(files);
  }

  /** Bytes a pull downloads when the store holds none of the files. */
  public long downloadBytes() {
    return files.stream().mapToLong(PackageLayer::size).sum();
  }
}
