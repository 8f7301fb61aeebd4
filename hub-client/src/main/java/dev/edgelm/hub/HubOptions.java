package dev.edgelm.hub;

import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Everything a {@link Hub} needs, immutable. Start from {@link #defaults(Path)} and change what you
 * need with the {@code with…} methods; {@link Hub#open} validates the whole record.
 *
 * @param storeDir the local content-addressed store (created if missing)
 * @param offline serve only what the store holds; never open a network connection (layout
 *     directories, being local files, stay readable)
 * @param signaturePolicy what to do with release signatures
 * @param trustedKeys Ed25519 public keys whose signatures are trusted
 * @param credentials per-registry credentials
 * @param plainHttp use plain HTTP for every registry (oras' {@code --plain-http}); loopback registries
 *     always use plain HTTP
 * @param caFile PEM file of extra CA certificates trusted for HTTPS registries, or null
 * @param retry retry policy for connection errors, 5xx and 429
 * @param bandwidthLimit download limit in bytes per second, 0 for none
 * @param minFreeBytes bytes that must stay free on the store's file system after a download
 * @param connectTimeout TCP/TLS connect timeout
 * @param requestTimeout time to wait for response headers
 * @param ticker time source for rates, ETA, backoff and Retry-After
 * @param sleeper waits for backoff and bandwidth limiting
 * @param diskSpace free-space probe
 */
public record HubOptions(
    Path storeDir,
    boolean offline,
    SignaturePolicy signaturePolicy,
    List<PublicKey> trustedKeys,
    Credentials.Provider credentials,
    boolean plainHttp,
    Path caFile,
    RetryPolicy retry,
    long bandwidthLimit,
    long minFreeBytes,
    Duration connectTimeout,
    Duration requestTimeout,
    Ticker ticker,
    Sleeper sleeper,
    DiskSpace diskSpace) {

  public static final SignaturePolicy DEFAULT_SIGNATURE_POLICY = SignaturePolicy.WARN;
  public static final long DEFAULT_BANDWIDTH_LIMIT = 0;
  public static final long DEFAULT_MIN_FREE_BYTES = 64L << 20;
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(60);

  public HubOptions {
    Objects.requireNonNull(storeDir, "storeDir");
    Objects.requireNonNull(signaturePolicy, "signaturePolicy");
    trustedKeys = List.copyOf(trustedKeys);
    Objects.requireNonNull(credentials, "credentials");
    Objects.requireNonNull(retry, "retry");
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(requestTimeout, "requestTimeout");
    Objects.requireNonNull(ticker, "ticker");
    Objects.requireNonNull(sleeper, "sleeper");
    Objects.requireNonNull(diskSpace, "diskSpace");
    if (bandwidthLimit < 0) {
      throw new IllegalArgumentException("bandwidthLimit must be >= 0 bytes/s, got " + bandwidthLimit);
    }
    if (minFreeBytes < 0) {
      throw new IllegalArgumentException("minFreeBytes must be >= 0, got " + minFreeBytes);
    }
    for (PublicKey k : trustedKeys) {
      if (!"Ed25519".equals(k.getAlgorithm()) && !"EdDSA".equals(k.getAlgorithm())) {
        throw new IllegalArgumentException("trusted keys must be Ed25519, got " + k.getAlgorithm());
      }
    }
    if (signaturePolicy == SignaturePolicy.REQUIRE && trustedKeys.isEmpty()) {
      throw new IllegalArgumentException("signature policy 'require' needs at least one trusted public key");
    }
  }

  /** Defaults with the store at {@code storeDir}. */
  public static HubOptions defaults(Path storeDir) {
    return new HubOptions(storeDir, false, DEFAULT_SIGNATURE_POLICY, List.of(), Credentials.Provider.NONE, false, null,
        RetryPolicy.DEFAULT, DEFAULT_BANDWIDTH_LIMIT, DEFAULT_MIN_FREE_BYTES, DEFAULT_CONNECT_TIMEOUT,
        DEFAULT_REQUEST_TIMEOUT, Ticker.SYSTEM, Sleeper.SYSTEM, DiskSpace.SYSTEM);
  }

  public HubOptions withStoreDir(Path v) {
    return new HubOptions(v, offline, signaturePolicy, trustedKeys, credentials, plainHttp, caFile, retry, bandwidthLimit, minFreeBytes, connectTimeout, requestTimeout, ticker, sleeper, diskSpace);
  }

  public HubOptions withOffline(boolean v) {
    return new HubOptions(storeDir, v, signaturePolicy, trustedKeys, credentials, plainHttp, caFile, retry, bandwidthLimit, minFreeBytes, connectTimeout, requestTimeout, ticker, sleeper, diskSpace);
  }

  /** Sets the policy and the keys it trusts together (so {@code require} is never left without keys). */
  public HubOptions withSignatures(SignaturePolicy policy, List<PublicKey> keys) {
    return new HubOptions(storeDir, offline, policy, keys, credentials, plainHttp, caFile, retry, bandwidthLimit, minFreeBytes, connectTimeout, requestTimeout, ticker, sleeper, diskSpace);
  }

  public HubOptions withCredentials(Credentials.Provider v) {
    return new HubOptions(storeDir, offline, signaturePolicy, trustedKeys, v, plainHttp, caFile, retry, bandwidthLimit, minFreeBytes, connectTimeout, requestTimeout, ticker, sleeper, diskSpace);
  }

  public HubOptions withPlainHttp(boolean v) {
    return new HubOptions(storeDir, offline, signaturePolicy, trustedKeys, credentials, v, caFile, retry, bandwidthLimit, minFreeBytes, connectTimeout, requestTimeout, ticker, sleeper, diskSpace);
  }

  public HubOptions withCaFile(Path v) {
    return new HubOptions(storeDir, offline, signaturePolicy, trustedKeys, credentials, plainHttp, v, retry, bandwidthLimit, minFreeBytes, connectTimeout, requestTimeout, ticker, sleeper, diskSpace);
  }

  public HubOptions withRetry(RetryPolicy v) {
    return new HubOptions(storeDir, offline, signaturePolicy, trustedKeys, credentials, plainHttp, caFile, v, bandwidthLimit, minFreeBytes, connectTimeout, requestTimeout, ticker, sleeper, diskSpace);
  }

  public HubOptions withBandwidthLimit(long bytesPerSecond) {
    return new HubOptions(storeDir, offline, signaturePolicy, trustedKeys, credentials, plainHttp, caFile, retry, bytesPerSecond, minFreeBytes, connectTimeout, requestTimeout, ticker, sleeper, diskSpace);
  }

  public HubOptions withMinFreeBytes(long v) {
    return new HubOptions(storeDir, offline, signaturePolicy, trustedKeys, credentials, plainHttp, caFile, retry, bandwidthLimit, v, connectTimeout, requestTimeout, ticker, sleeper, diskSpace);
  }

  public HubOptions withTimeouts(Duration connect, Duration request) {
    return new HubOptions(storeDir, offline, signaturePolicy, trustedKeys, credentials, plainHttp, caFile, retry, bandwidthLimit, minFreeBytes, connect, request, ticker, sleeper, diskSpace);
  }

  /** Injects time (tests pass a fake ticker and a sleeper that advances it). */
  public HubOptions withTime(Ticker t, Sleeper s) {
    return new HubOptions(storeDir, offline, signaturePolicy, trustedKeys, credentials, plainHttp, caFile, retry, bandwidthLimit, minFreeBytes, connectTimeout, requestTimeout, t, s, diskSpace);
  }

  public HubOptions withDiskSpace(DiskSpace v) {
    return new HubOptions(storeDir, offline, signaturePolicy, trustedKeys, credentials, plainHttp, caFile, retry, bandwidthLimit, minFreeBytes, connectTimeout, requestTimeout, ticker, sleeper, v);
  }
}
