package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.ConfigException;
import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.hub.Credentials;
import dev.edgelm.hub.Hub;
import dev.edgelm.hub.HubOptions;
import dev.edgelm.hub.InstalledVariant;
import dev.edgelm.hub.ProgressListener;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.Release;
import dev.edgelm.hub.VariantEntry;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.util.Optional;
import dev.edgelm.hub.SigningKeys;
import dev.edgelm.proto.v1.HubSource;
import java.io.IOException;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;

/**
 * The daemon's access to the hub: one {@link Hub} client over the configured store, opened on first
 * use (a daemon serving only local packages never touches the store).
 *
 * <p>Threading: thread-safe; {@link #pull} blocks for the whole transfer and runs on hub threads.
 * Errors are the hub's {@link dev.edgelm.hub.HubException}s.
 */
final class HubModels implements AutoCloseable {
  private final DaemonConfig.HubAccess config;
  private Hub hub;

  HubModels(DaemonConfig.HubAccess config) {
    this.config = config;
  }

  /** Reads the trusted keys now, so a bad key file fails the start rather than the first pull. */
  static List<PublicKey> trustedKeys(DaemonConfig.HubAccess config) {
    List<PublicKey> keys = new ArrayList<>();
    for (Path p : config.trustedKeys()) {
      try {
        keys.add(SigningKeys.readPublicKey(p));
      } catch (IOException e) {
        throw new ConfigException("hub.trusted_keys", e.getMessage());
      }
    }
    return keys;
  }

  private synchronized Hub hub() {
    if (hub == null) {
      HubOptions o = HubOptions.defaults(config.store())
          .withOffline(config.offline())
          .withSignatures(config.verify(), trustedKeys(config))
          .withPlainHttp(config.plainHttp())
          .withCaFile(config.caFile());
      if (!config.username().isEmpty()) {
        o = o.withCredentials(Credentials.Provider.of(new Credentials(config.username(), config.password())));
      }
      hub = Hub.open(o);
    }
    return hub;
  }

  /** Fetches the release index {@code reference} names (and checks its signature). */
  Release resolve(Reference reference) {
    return hub().resolve(reference);
  }

  /** A variant's {@code variant.json}, without weights (cached in the store). */
  Optional<VariantDescriptor> descriptor(Release release, VariantEntry entry) {
    return Optional.of(hub().details(release, entry.id()).descriptor());
  }

  /** Pulls {@code variant} of a resolved release into the store (verified). */
  InstalledVariant pull(Release release, String variant, ProgressListener listener) {
    return hub().pull(release, variant, listener);
  }

  /** The wire form of a pulled variant of {@code reference} (as configured or requested). */
  static HubSource source(Reference reference, InstalledVariant v) {
    return HubSource.newBuilder()
        .setReference(reference.toString())
        .setVariant(v.variantId())
        .setIndexDigest(v.indexDigest().toString())
        .setManifestDigest(v.manifestDigest().toString())
        .setPackageDir(v.packageDir().toString())
        .build();
  }

  @Override
  public synchronized void close() {
    if (hub != null) {
      hub.close();
      hub = null;
    }
  }
}
