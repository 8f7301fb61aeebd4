package dev.edgelm.hub;

/**
 * One file of a variant's package as its manifest lists it.
 *
 * @param path the file's path in the package (the layer's {@code org.opencontainers.image.title})
 * @param role model, weights, tokenizer, config
 */
public record PackageLayer(String path, String role, String mediaType, Digest digest, long size) {}
