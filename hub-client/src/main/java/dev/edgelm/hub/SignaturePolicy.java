package dev.edgelm.hub;

/** What a pull does with a release's signatures. */
public enum SignaturePolicy {
  /** Refuse a release that is not signed by a trusted key ({@link SignatureRejectedException}). */
  REQUIRE,
  /** Check, report the outcome in {@link Release#signature()}, but pull anyway. */
  WARN,
  /** Do not look for signatures at all. */
  OFF
}
