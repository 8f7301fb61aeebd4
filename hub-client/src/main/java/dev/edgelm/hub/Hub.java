package dev.edgelm.hub;

import dev.edgelm.hub.internal.DefaultHub;
import java.nio.file.Path;
import java.util.List;

/**
 * The edgelm hub client: publishes model releases to, and pulls them from, an OCI registry or an OCI
 * image-layout directory, through a local content-addressed store.
 *
 * <p>A host chooses and pulls in steps, touching weights only in the last:
 *
 * <pre>{@code
 * try (Hub hub = Hub.open(HubOptions.defaults(storeDir))) {
 *   Release release = hub.resolve(Reference.parse("registry.example:5000/models/tiny:1"));   // index + signature
 *   VariantEntry pick = choose(release.variants());                // annotations only
 *   VariantDetails details = hub.details(release, pick.id());      // manifest + variant.json, small
 *   InstalledVariant v = hub.pull(release, pick.id(), listener);   // weights, verified, resumable
 *   engine.open(v.packageDir());
 * }
 * }</pre>
 *
 * <p>Thread-safe: one instance serves concurrent calls; pulls of the same blob share one download.
 * Calls block the calling thread (run them off event loops). Errors are {@link HubException}s.
 */
public interface Hub extends AutoCloseable {

  /** Opens a hub client over the store in {@code options}, creating the store if needed. */
  static Hub open(HubOptions options) {
    return DefaultHub.open(options);
  }

  /**
   * Fetches the release index {@code reference} names and checks its signature under the configured
   * policy. Offline, answers from the store (what an earlier pull of that reference recorded).
   *
   * @throws SignatureRejectedException under policy {@code require}, with the reason
   */
  default Release resolve(Reference reference) {
    return resolve(reference, ProgressListener.NONE);
  }

  /** {@link #resolve(Reference)}, telling {@code listener} about retries. */
  Release resolve(Reference reference, ProgressListener listener);

  /** Fetches (or reads from the store) a variant's manifest and {@code variant.json}; no weights. */
  VariantDetails details(Release release, String variantId);

  /**
   * Pulls one variant into the store and returns its package directory. Files already in the store
   * are reused; partial files resume. Checks free disk before fetching. Nothing is installed unless
   * every file matched its size and digest.
   */
  InstalledVariant pull(Release release, String variantId, ProgressListener listener);

  /** {@link #resolve} then {@link #pull}. */
  default InstalledVariant pull(Reference reference, String variantId, ProgressListener listener) {
    return pull(resolve(reference, listener), variantId, listener);
  }

  /**
   * Publishes the model packages in {@code packageDirs} as one release at {@code target} (a tag):
   * uploads the files the hub lacks, one manifest per variant, the index, and (with a signing key)
   * its signature.
   *
   * @throws InvalidReleaseException when a package's files disagree with its {@code variant.json},
   *     or two packages share a variant id
   */
  PublishResult publish(List<Path> packageDirs, Reference target, PublishOptions options, ProgressListener listener);

  /** Adds an Ed25519 signature of the release at {@code reference} (kept alongside existing ones); returns the key id. */
  String sign(Reference reference, java.security.PrivateKey key);

  LocalStore store();

  @Override
  void close();
}
