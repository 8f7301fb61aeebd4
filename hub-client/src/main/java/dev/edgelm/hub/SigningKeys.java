package dev.edgelm.hub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.NamedParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;

/**
 * Ed25519 keys for release signatures, kept as PEM: PKCS#8 {@code PRIVATE KEY} and X.509
 * SubjectPublicKeyInfo {@code PUBLIC KEY} (the forms {@code openssl genpkey -algorithm ed25519}
 * writes). A key is named by its id: {@code sha256:<hex>} of the public key's DER encoding.
 */
public final class SigningKeys {
  private static final String ALGORITHM = "Ed25519";

  private SigningKeys() {}

  /** A new random key pair. */
  public static KeyPair generate() {
    try {
      return KeyPairGenerator.getInstance(ALGORITHM).generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK lacks Ed25519", e);
    }
  }

  /** The key id: {@code sha256:<hex>} of the X.509 SubjectPublicKeyInfo DER. */
  public static String keyId(PublicKey key) {
    return Digest.of(key.getEncoded()).toString();
  }

  /**
   * The public half of an Ed25519 private key. The JDK has no API for it, so this regenerates the key
   * pair from the private key's 32-byte seed (Ed25519 key generation is a pure function of the seed).
   */
  public static PublicKey publicKeyOf(PrivateKey key) {
    byte[] encoded = key.getEncoded();
    // PKCS#8 v1 for Ed25519: 16 bytes of header, then an OCTET STRING (04 20) holding the seed.
    if (encoded.length < 48 || encoded[14] != 0x04 || encoded[15] != 0x20) {
      throw new IllegalArgumentException("not a PKCS#8 Ed25519 private key");
    }
    byte[] seed = Arrays.copyOfRange(encoded, 16, 48);
    SecureRandom fixed = new SecureRandom() {
      private static final long serialVersionUID = 1L;

      @Override
      public void nextBytes(byte[] bytes) {
        System.arraycopy(seed, 0, bytes, 0, Math.min(bytes.length, seed.length));
      }
    };
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance(ALGORITHM);
      g.initialize(NamedParameterSpec.ED25519, fixed);
      KeyPair pair = g.generateKeyPair();
      if (!Arrays.equals(pair.getPrivate().getEncoded(), Arrays.copyOf(encoded, pair.getPrivate().getEncoded().length))) {
        throw new IllegalArgumentException("could not derive the public key of this Ed25519 private key");
      }
      return pair.getPublic();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK lacks Ed25519", e);
    }
  }

  /** Signs {@code message} with Ed25519. */
  public static byte[] sign(PrivateKey key, byte[] message) {
    try {
      Signature s = Signature.getInstance(ALGORITHM);
      s.initSign(key);
      s.update(message);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot sign with this key: " + e.getMessage(), e);
    }
  }

  /** Whether {@code signature} is {@code key}'s Ed25519 signature of {@code message}. */
  public static boolean verify(PublicKey key, byte[] message, byte[] signature) {
    try {
      Signature s = Signature.getInstance(ALGORITHM);
      s.initVerify(key);
      s.update(message);
      return s.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /** Writes the private key as PEM, readable by the owner only; refuses to overwrite a file. */
  public static void writePrivateKey(PrivateKey key, Path file) throws IOException {
    write(file, pem("PRIVATE KEY", key.getEncoded()), true);
  }

  /** Writes the public key as PEM; refuses to overwrite a file. */
  public static void writePublicKey(PublicKey key, Path file) throws IOException {
    write(file, pem("PUBLIC KEY", key.getEncoded()), false);
  }

  /** Reads a PKCS#8 PEM Ed25519 private key. */
  public static PrivateKey readPrivateKey(Path file) throws IOException {
    try {
      return KeyFactory.getInstance(ALGORITHM).generatePrivate(new PKCS8EncodedKeySpec(unpem(file, "PRIVATE KEY")));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IOException(file + " is not a PEM Ed25519 private key (PKCS#8): " + e.getMessage(), e);
    }
  }

  /** Reads an X.509 SubjectPublicKeyInfo PEM Ed25519 public key. */
  public static PublicKey readPublicKey(Path file) throws IOException {
    try {
      return KeyFactory.getInstance(ALGORITHM).generatePublic(new X509EncodedKeySpec(unpem(file, "PUBLIC KEY")));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IOException(file + " is not a PEM Ed25519 public key: " + e.getMessage(), e);
    }
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private static byte[] unpem(Path file, String type) throws IOException {
    String text = Files.readString(file, StandardCharsets.US_ASCII);
    String begin = "-----BEGIN " + type + "-----";
    String end = "-----END " + type + "-----";
    int b = text.indexOf(begin);
    int e = text.indexOf(end);
    if (b < 0 || e < b) {
      throw new IllegalArgumentException("no '" + begin + "' block");
    }
    return Base64.getMimeDecoder().decode(text.substring(b + begin.length(), e));
  }

  private static void write(Path file, String content, boolean secret) throws IOException {
    if (Files.exists(file)) {
      throw new FileAlreadyExistsException(file.toString(), null, "refusing to overwrite a key");
    }
    if (file.toAbsolutePath().getParent() != null) {
      Files.createDirectories(file.toAbsolutePath().getParent());
    }
    Files.writeString(file, content, StandardCharsets.US_ASCII, StandardOpenOption.CREATE_NEW);
    if (secret) {
      try {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException ignored) {
        // Not a POSIX file system: the platform's default ACLs apply.
      }
    }
  }
}
