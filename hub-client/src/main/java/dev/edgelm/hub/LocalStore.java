package dev.edgelm.hub;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The host's content-addressed store: {@code blobs/sha256/<hex>} (each stored once, whatever
 * variants and models share it), materialised package directories, and one ref record per
 * reference pulled. Thread-safe and safe to share between processes: pulls hold a shared lock on the
 * store, {@link #gc()} an exclusive one.
 */
public interface LocalStore {
  Path root();

  /** Every release the store holds variants of, sorted by reference. */
  List<StoredRelease> list();

  /** The installed variant pulled by {@code reference}, if the store has it (never touches the network). */
  Optional<InstalledVariant> find(Reference reference, String variantId);

  /** Forgets the ref record of {@code reference}; its blobs go at the next {@link #gc()}. Returns whether one existed. */
  boolean remove(Reference reference);

  /**
   * Re-reads every blob (its name is its sha256) and every file of every package directory (against
   * the digests its manifest records) and reports each that does not match. Changes nothing: a
   * later {@code pull} of a release that uses a damaged file removes and downloads it again.
   */
  StoreVerification verify();

  /**
   * Removes blobs and package directories no ref record reaches, and partial downloads no pull is
   * working on. Waits for running pulls to finish.
   */
  GcResult gc();
}
