package dev.edgelm.hub;

import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Where a release lives, written as people already write it:
 *
 * <ul>
 *   <li>{@code HOST[:PORT]/REPO[:TAG][@sha256:HEX]} — a registry, as docker, oras and skopeo write it
 *       (a leading {@code docker://} is accepted). The first path component must look like a host: it
 *       contains a dot or a colon, or is {@code localhost}.
 *   <li>{@code oci:PATH[:TAG]} or {@code oci:PATH@sha256:HEX} — an OCI image-layout directory,
 *       skopeo's transport name.
 * </ul>
 *
 * <p>The tag defaults to {@code latest} when neither tag nor digest is given.
 */
public sealed interface Reference permits Reference.Registry, Reference.Layout {
  String DEFAULT_TAG = "latest";
  Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  Pattern REPOSITORY = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*");
  Pattern HOST = Pattern.compile("(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])(?:\\.(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]))*|\\[[0-9A-Fa-f:.]+\\]");

  /** The tag, when the reference names one (a reference may have a tag, a digest, or both). */
  Optional<String> tag();

  /** The digest, when the reference pins one. */
  Optional<Digest> digest();

  /** The same location with another tag and no digest (used for signature tags). */
  Reference withTag(String tag);

  /** The same location pinned to {@code digest} (tag kept for display). */
  Reference withDigest(Digest digest);

  /** The canonical string form; {@link #parse} reads it back. */
  @Override
  String toString();

  /** A registry repository: {@code host[:port]/repository[:tag][@digest]}. */
  record Registry(String host, int port, String repository, String tagOrNull, Digest digestOrNull) implements Reference {
    public Registry {
      if (tagOrNull == null && digestOrNull == null) {
        tagOrNull = DEFAULT_TAG;
      }
    }

    /** {@code host} or {@code host:port}, as used in URLs and the HTTP Host header. */
    public String authority() {
      return port > 0 ? host + ":" + port : host;
    }

    /** The registry is on this machine, where docker also allows plain HTTP. */
    public boolean isLoopback() {
      String h = host.toLowerCase(java.util.Locale.ROOT);
      return h.equals("localhost") || h.endsWith(".localhost") || h.startsWith("127.") || h.equals("[::1]");
    }

    @Override
    public Optional<String> tag() {
      return Optional.ofNullable(tagOrNull);
    }

    @Override
    public Optional<Digest> digest() {
      return Optional.ofNullable(digestOrNull);
    }

    @Override
    public Registry withTag(String tag) {
      return new Registry(host, port, repository, tag, null);
    }

    @Override
    public Registry withDigest(Digest digest) {
      return new Registry(host, port, repository, tagOrNull, digest);
    }

    @Override
    public String toString() {
      return authority() + "/" + repository + (tagOrNull != null ? ":" + tagOrNull : "")
          + (digestOrNull != null ? "@" + digestOrNull : "");
    }
  }

  /** An OCI image-layout directory: {@code oci:path[:tag]} or {@code oci:path@digest}. */
  record Layout(Path path, String tagOrNull, Digest digestOrNull) implements Reference {
    public Layout {
      path = path.toAbsolutePath().normalize();
      if (tagOrNull == null && digestOrNull == null) {
        tagOrNull = DEFAULT_TAG;
      }
    }

    @Override
    public Optional<String> tag() {
      return Optional.ofNullable(tagOrNull);
    }

    @Override
    public Optional<Digest> digest() {
      return Optional.ofNullable(digestOrNull);
    }

    @Override
    public Layout withTag(String tag) {
      return new Layout(path, tag, null);
    }

    @Override
    public Layout withDigest(Digest digest) {
      return new Layout(path, tagOrNull, digest);
    }

    @Override
    public String toString() {
      return "oci:" + path + (digestOrNull != null ? "@" + digestOrNull : ":" + tagOrNull);
    }
  }

  /**
   * Parses a reference. Throws {@link BadReferenceException} naming what is wrong and showing the
   * accepted forms.
   */
  static Reference parse(String text) {
    if (text == null || text.isBlank()) {
      throw bad(text, "it is empty");
    }
    String s = text.strip();
    if (s.startsWith("oci:")) {
      return parseLayout(text, s.substring(4));
    }
    if (s.startsWith("docker://")) {
      s = s.substring("docker://".length());
    }
    return parseRegistry(text, s);
  }

  private static Reference parseLayout(String text, String rest) {
    Digest digest = null;
    String tag = null;
    String path = rest;
    int at = rest.lastIndexOf('@');
    if (at >= 0 && rest.startsWith("sha256:", at + 1)) {
      digest = parseDigest(text, rest.substring(at + 1));
      path = rest.substring(0, at);
    } else {
      int colon = rest.lastIndexOf(':');
      if (colon > rest.lastIndexOf('/') && colon >= 0) {
        tag = rest.substring(colon + 1);
        path = rest.substring(0, colon);
        if (!TAG.matcher(tag).matches()) {
          throw bad(text, "'" + tag + "' is not a valid tag (letters, digits, '_', '.', '-'; at most 128)");
        }
      }
    }
    if (path.isEmpty()) {
      throw bad(text, "the layout directory path is empty");
    }
    return new Layout(Path.of(path), tag, digest);
  }

  private static Reference parseRegistry(String text, String s) {
    int slash = s.indexOf('/');
    if (slash <= 0) {
      throw bad(text, "it names no registry host");
    }
    String authority = s.substring(0, slash);
    String rest = s.substring(slash + 1);
    boolean looksLikeHost = authority.contains(".") || authority.contains(":") || authority.equals("localhost");
    if (!looksLikeHost) {
      throw bad(text, "'" + authority + "' is not a registry host (a host has a dot or a port, or is localhost)");
    }
    String host = authority;
    int port = -1;
    int colon = authority.lastIndexOf(':');
    if (colon > authority.lastIndexOf(']')) {
      host = authority.substring(0, colon);
      try {
        port = Integer.parseInt(authority.substring(colon + 1));
      } catch (NumberFormatException e) {
        port = 0;
      }
      if (port < 1 || port > 65535) {
        throw bad(text, "'" + authority.substring(colon + 1) + "' is not a port number");
      }
    }
    if (!HOST.matcher(host).matches()) {
      throw bad(text, "'" + host + "' is not a host name");
    }
    Digest digest = null;
    int at = rest.indexOf('@');
    if (at >= 0) {
      digest = parseDigest(text, rest.substring(at + 1));
      rest = rest.substring(0, at);
    }
    String tag = null;
    int tagColon = rest.lastIndexOf(':');
    if (tagColon > rest.lastIndexOf('/')) {
      tag = rest.substring(tagColon + 1);
      rest = rest.substring(0, tagColon);
      if (!TAG.matcher(tag).matches()) {
        throw bad(text, "'" + tag + "' is not a valid tag (letters, digits, '_', '.', '-'; at most 128)");
      }
    }
    if (!REPOSITORY.matcher(rest).matches()) {
      throw bad(text, "'" + rest + "' is not a repository name (lowercase letters, digits, separators '.', '_', '-', '/')");
    }
    return new Registry(host, port, rest, tag, digest);
  }

  private static Digest parseDigest(String text, String d) {
    try {
      return Digest.parse(d);
    } catch (BadReferenceException e) {
      throw bad(text, e.getMessage());
    }
  }

  private static BadReferenceException bad(String text, String why) {
    return new BadReferenceException("bad reference '" + text + "': " + why
        + "; write HOST[:PORT]/REPO:TAG for a registry or oci:PATH:TAG for a layout directory");
  }
}
