package dev.edgelm.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The daemon's package structure, checked on its compiled classes: the API package ({@code dev.edgelm.daemon}) refers
 * to nothing in {@code dev.edgelm.daemon.internal} — not by import, not by a fully qualified name — and the internal
 * packages make public only the classes listed here, each for a stated reason.
 */
class ArchitectureTest {
  private static final String INTERNAL = "dev/edgelm/daemon/internal/";

  /**
   * The public classes of {@code dev.edgelm.daemon.internal} and its subpackages, and why each is public. Another one
   * needs a reason here: everything else is package-private.
   */
  private static final List<String> PUBLIC_INTERNAL = List.of(
      "dev.edgelm.daemon.internal.Footprint", // the one memory model: the cache here, the selector in internal.select
      "dev.edgelm.daemon.internal.InternalProvider", // found by ServiceLoader: how the API reaches the implementation
      "dev.edgelm.daemon.internal.probe.SystemHostProbe", // created by InternalProvider, another package
      "dev.edgelm.daemon.internal.select.DefaultVariantSelector"); // created by InternalProvider, another package

  private static Path classes() throws URISyntaxException {
    return Path.of(Daemon.class.getProtectionDomain().getCodeSource().getLocation().toURI());
  }

  @Test
  void apiPackage_refersToNothingInternal() throws Exception {
    Path api = classes().resolve("dev/edgelm/daemon");
    List<String> offenders = new ArrayList<>();
    int checked = 0;
    try (Stream<Path> files = Files.list(api)) {
      for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".class"))::iterator) {
        checked++;
        List<String> refs = internalReferences(f);
        if (!refs.isEmpty()) {
          offenders.add(f.getFileName() + " -> " + refs);
        }
      }
    }
    assertTrue(checked > 20, "found the API's classes in " + api + " (" + checked + ")");
    assertEquals(List.of(), offenders, "classes of the API package dev.edgelm.daemon refer to dev.edgelm.daemon.internal; "
        + "reach the implementation through DaemonProvider, or move the class out of internal");
  }

  @Test
  void internalPackages_makePublicOnlyTheListedClasses() throws Exception {
    Path root = classes();
    TreeSet<String> found = new TreeSet<>();
    try (Stream<Path> files = Files.walk(root.resolve(INTERNAL))) {
      for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".class") && !p.getFileName().toString().contains("$"))::iterator) {
        String name = root.relativize(f).toString().replace(f.getFileSystem().getSeparator(), ".").replaceAll("\\.class$", "");
        if (name.endsWith("package-info")) {
          continue;
        }
        if (Modifier.isPublic(Class.forName(name, false, ArchitectureTest.class.getClassLoader()).getModifiers())) {
          found.add(name);
        }
      }
    }
    assertEquals(new TreeSet<>(PUBLIC_INTERNAL), found, "public classes in dev.edgelm.daemon.internal");
  }

  @Test
  void internalReferences_findsAFullyQualifiedUse() throws Exception {
    // The scan must see a reference that is no import: this test class names none, InternalProvider's does.
    assertTrue(internalReferences(classes().resolve(INTERNAL + "InternalProvider.class")).size() > 0);
    assertFalse(internalReferences(classes().resolve("dev/edgelm/daemon/Daemon.class")).contains(INTERNAL + "DaemonServer"));
  }

  /** The internal classes {@code classFile}'s constant pool names (its imports and qualified names compile to these). */
  private static List<String> internalReferences(Path classFile) throws IOException {
    String text = new String(Files.readAllBytes(classFile), StandardCharsets.ISO_8859_1);
    TreeSet<String> out = new TreeSet<>();
    for (int i = text.indexOf(INTERNAL); i >= 0; i = text.indexOf(INTERNAL, i + 1)) {
      int end = i + INTERNAL.length();
      while (end < text.length() && isNameChar(text.charAt(end))) {
        end++;
      }
      out.add(text.substring(i, end));
    }
    return List.copyOf(out);
  }

  private static boolean isNameChar(char c) {
    return c == '/' || c == '_' || c == '$' || (c < 128 && Character.isLetterOrDigit(c));
  }
}
