package dev.edgelm.hub;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A content digest in canonical form {@code sha256:<64 lowercase hex>}, the only algorithm edgelm
 * writes or accepts. Immutable; {@link #toString()} gives the canonical form.
 */
public record Digest(String hex) implements Comparable<Digest> {
  private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");
  public static final String ALGORITHM = "sha256";

  public Digest {
    if (hex == null || !HEX.matcher(hex).matches()) {
      throw new BadReferenceException("not a sha256 digest: '" + hex + "' (expected 64 lowercase hex digits)");
    }
  }

  /** Parses {@code sha256:<hex>}; throws {@link BadReferenceException} for anything else. */
  public static Digest parse(String s) {
    if (s == null || !s.startsWith(ALGORITHM + ":")) {
      throw new BadReferenceException("not a sha256 digest: '" + s + "' (expected sha256:<64 hex digits>)");
    }
    return new Digest(s.substring(ALGORITHM.length() + 1));
  }

  /** The digest of {@code bytes}. */
  public static Digest of(byte[] bytes) {
    return fromBytes(sha256().digest(bytes));
  }

  /** The digest of a file's content. */
  public static Digest of(Path file) throws IOException {
    MessageDigest md = sha256();
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    return fromBytes(md.digest());
  }

  /** Wraps the raw output of a SHA-256 {@link MessageDigest}. */
  public static Digest fromBytes(byte[] sha256) {
    return new Digest(HexFormat.of().formatHex(sha256));
  }

  /** A fresh SHA-256 message digest. */
  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-256", e);
    }
  }

  /** The cosign-style tag naming this digest's signature artifact: {@code sha256-<hex>.sig}. */
  public String signatureTag() {
    return ALGORITHM + "-" + hex + ".sig";
  }

  /** First 12 hex digits, for humans. */
  public String shortHex() {
    return hex.substring(0, 12);
  }

  @Override
  public int compareTo(Digest o) {
    return hex.compareTo(o.hex);
  }

  @Override
  public String toString() {
    return ALGORITHM + ":" + hex;
  }
}
