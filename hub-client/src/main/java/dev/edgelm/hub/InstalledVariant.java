package dev.edgelm.hub;

import dev.edgelm.proto.v1.VariantDescriptor;
import java.nio.file.Path;

/**
 * A variant present in the local store, ready to run.
 *
 * @param packageDir a model package directory the engine can open (files are hard links to
 *     read-only store blobs: do not modify them)
 * @param bytesDownloaded bytes fetched by the pull that returned this (0 when everything was local)
 * @param bytesReused bytes the store already had (complete blobs and resumed partials)
 */
public record InstalledVariant(
    Reference reference,
    Digest indexDigest,
    String variantId,
    Digest manifestDigest,
    Path packageDir,
    VariantDescriptor descriptor,
    long bytesDownloaded,
    long bytesReused) {}
