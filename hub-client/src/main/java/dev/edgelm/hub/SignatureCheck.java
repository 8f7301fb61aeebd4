package dev.edgelm.hub;

/**
 * The outcome of checking a release's signatures against the trusted keys.
 *
 * @param keyId the trusted key that verified ({@code VERIFIED}), or the key concerned, or null
 * @param message one line for humans, e.g. why a release counts as unsigned
 */
public record SignatureCheck(Status status, String keyId, String message) {
  public enum Status {
    /** Signed by at least one trusted key, and that signature verifies. */
    VERIFIED,
    /** No signature artifact exists for the index. */
    UNSIGNED,
    /** Signatures exist, none by a trusted key. */
    UNTRUSTED,
    /** A trusted key's signature does not verify (tampered index or signature). */
    INVALID,
    /** Policy {@code off}: not looked at. */
    NOT_CHECKED
  }

  public boolean verified() {
    return status == Status.VERIFIED;
  }
}
