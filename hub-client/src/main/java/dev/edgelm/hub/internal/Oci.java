package dev.edgelm.hub.internal;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.edgelm.hub.Digest;
import dev.edgelm.hub.InvalidReleaseException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The OCI JSON documents edgelm reads and writes. Writing is deterministic (fields in spec order,
 * annotations sorted, no whitespace) so the same packages always publish to the same digests.
 * Reading ignores unknown fields; digests are always computed over the bytes as received, never over
 * a re-serialisation.
 */
final class Oci {
  private Oci() {}

  static final ObjectMapper JSON = new ObjectMapper()
      .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
      .configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

  @JsonInclude(JsonInclude.Include.NON_EMPTY)
  @JsonIgnoreProperties(ignoreUnknown = true)
  record Descriptor(String mediaType, String artifactType, String digest, long size, Map<String, String> annotations) {
    Descriptor {
      annotations = annotations == null ? Map.of() : new TreeMap<>(annotations);
    }

    Digest parsedDigest() {
      try {
        return Digest.parse(digest);
      } catch (RuntimeException e) {
        throw new InvalidReleaseException("descriptor has an unsupported digest '" + digest + "' (edgelm reads sha256 only)");
      }
    }

    String annotation(String key) {
      return annotations.get(key);
    }
  }

  @JsonInclude(JsonInclude.Include.NON_EMPTY)
  @JsonIgnoreProperties(ignoreUnknown = true)
  record Manifest(int schemaVersion, String mediaType, String artifactType, Descriptor config, List<Descriptor> layers,
      Descriptor subject, Map<String, String> annotations) {
    Manifest {
      layers = layers == null ? List.of() : List.copyOf(layers);
      annotations = annotations == null ? Map.of() : new TreeMap<>(annotations);
    }
  }

  @JsonInclude(JsonInclude.Include.NON_EMPTY)
  @JsonIgnoreProperties(ignoreUnknown = true)
  record Index(int schemaVersion, String mediaType, String artifactType, List<Descriptor> manifests, Map<String, String> annotations) {
    Index {
      manifests = manifests == null ? List.of() : List.copyOf(manifests);
      annotations = annotations == null ? Map.of() : new TreeMap<>(annotations);
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  record LayoutMarker(String imageLayoutVersion) {}

  static byte[] write(Object document) {
    try {
      return JSON.writeValueAsBytes(document);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static <T> T read(byte[] bytes, Class<T> type, String what) {
    try {
      return JSON.readValue(bytes, type);
    } catch (IOException e) {
      throw new InvalidReleaseException(what + " is not valid JSON: " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
    }
  }

  /** The {@code mediaType} field of a JSON document, or null. */
  static String mediaTypeOf(byte[] bytes) {
    try {
      var node = JSON.readTree(bytes);
      var mt = node == null ? null : node.get("mediaType");
      return mt == null ? null : mt.asText();
    } catch (IOException e) {
      return null;
    }
  }

  static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
