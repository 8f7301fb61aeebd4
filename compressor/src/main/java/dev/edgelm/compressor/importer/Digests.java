package dev.edgelm.compressor.importer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/** sha256 digests in the canonical {@code sha256:<hex>} form. */
public final class Digests {
  private Digests() {}

  public static String sha256(Path file) throws IOException {
    MessageDigest md = sha256();
    byte[] buf = new byte[1 << 20];
    try (InputStream in = Files.newInputStream(file)) {
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
    }
    return "sha256:" + HexFormat.of().formatHex(md.digest());
  }

  /** One file's digest, or for several files the digest of their "name digest" lines. */
  public static String sha256Of(List<Path> files) throws IOException {
    if (files.size() == 1) {
      return sha256(files.get(0));
    }
    StringBuilder lines = new StringBuilder();
    for (Path f : files) {
      lines.append(f.getFileName()).append(' ').append(sha256(f)).append('\n');
    }
    return "sha256:" + HexFormat.of().formatHex(sha256().digest(lines.toString().getBytes(StandardCharsets.UTF_8)));
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
