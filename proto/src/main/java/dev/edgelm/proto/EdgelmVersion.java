package dev.edgelm.proto;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The edgelm version this build carries (recorded in descriptors and reported by the daemon). */
public final class EdgelmVersion {
  /** e.g. {@code 0.1.0-SNAPSHOT}; {@code unknown} when the build did not stamp it. */
  public static final String CURRENT = load();

  private EdgelmVersion() {}

  private static String load() {
    try (InputStream in = EdgelmVersion.class.getResourceAsStream("edgelm-version.properties")) {
      if (in == null) {
        return "unknown";
      }
      Properties p = new Properties();
      p.load(in);
      String v = p.getProperty("version", "unknown");
      return v.startsWith("${") ? "unknown" : v;
    } catch (IOException e) {
      return "unknown";
    }
  }
}
