package dev.edgelm.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import dev.edgelm.engine.testing.SharedAssets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The files in deploy/ say what the daemon understands: every edgelmd configuration they carry (the
 * example, the container's default, the Kubernetes ConfigMaps) loads with the daemon's own
 * validation, and every {@code EDGELMD_*} variable they set names a configuration key (the daemon
 * refuses unknown ones at start).
 */
class DeployFilesTest {
  private static final Path DEPLOY = SharedAssets.repositoryRoot().resolve("deploy");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Pattern ENV = Pattern.compile("\\b(EDGELMD_[A-Z0-9_]+)=");

  @TempDir Path tmp;

  /**
   * Loads {@code yaml} as the daemon would, with file references that only exist on a real host
   * (keys, API key files) overridden, and with no network.
   */
  private DaemonConfig load(String yaml) throws Exception {
    Path file = tmp.resolve("edgelmd-" + System.nanoTime() + ".yaml");
    Files.writeString(file, yaml);
    Map<String, String> flags = new LinkedHashMap<>();
    flags.put("hub.verify", "warn");
    flags.put("hub.trusted_keys", "");
    flags.put("auth.api_keys_file", "");
    flags.put("auth.api_keys", "deploy-files-test-key"); // stands for the key file the deployment mounts
    return DaemonConfig.load(new DaemonConfig.ConfigSources(file, Map.of(), flags));
  }

  private static List<JsonNode> documents(Path file) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    try (YAMLParser p = new YAMLFactory().createParser(file.toFile())) {
      var it = YAML.readValues(p, JsonNode.class);
      while (it.hasNext()) {
        out.add(it.next());
      }
    }
    return out;
  }

  @Test
  void exampleAndContainerConfigs_loadWithTheDaemonsValidation() throws Exception {
    DaemonConfig example = load(Files.readString(DEPLOY.resolve("config/edgelmd.yaml")));
    assertEquals(1, example.models().size());
    assertEquals(null, example.models().get(0).variant(), "the example lets the daemon select");
    DaemonConfig container = load(Files.readString(DEPLOY.resolve("container/edgelmd.yaml")));
    assertEquals(0, container.models().size());
  }

  @Test
  void kubernetesConfigMaps_loadWithTheDaemonsValidation() throws Exception {
    int configMaps = 0;
    for (JsonNode doc : documents(DEPLOY.resolve("kubernetes/edgelmd.yaml"))) {
      if (doc.path("kind").asText().equals("ConfigMap")) {
        DaemonConfig c = load(doc.path("data").path("edgelmd.yaml").asText());
        assertEquals("0.0.0.0", c.server().host(), "pods serve beyond loopback");
        assertEquals("0.0.0.0", c.server().httpHost(), "the kubelet probes /healthz and /readyz on the pod's address");
        assertFalse(c.api().allowNewModels(), "a fleet serves what its configuration names");
        assertFalse(c.models().isEmpty());
        configMaps++;
      }
    }
    assertEquals(2, configMaps);
  }

  @Test
  void environmentVariablesInDeployFiles_areConfigurationKeys() throws Exception {
    List<String> seen = new ArrayList<>();
    for (Path f : List.of(DEPLOY.resolve("systemd/edgelmd.service"), DEPLOY.resolve("container/Containerfile"),
        DEPLOY.resolve("kubernetes/edgelmd.yaml"))) {
      String text = Files.readString(f).replaceAll("\\{name: (EDGELMD_[A-Z0-9_]+), value:", "$1=");
      Matcher m = ENV.matcher(text);
      while (m.find()) {
        String var = m.group(1);
        seen.add(var);
        boolean key = ConfigKeys.keys().stream().anyMatch(k -> k.envVar().equals(var));
        assertTrue(key || var.equals("EDGELMD_JAVA_OPTS"), f.getFileName() + " sets " + var + ", which is not a configuration variable");
      }
    }
    assertTrue(seen.contains("EDGELMD_HUB_STORE") && seen.contains("EDGELMD_HOST_CACHE_DIR"), seen.toString());
  }

  @Test
  void kubernetesDaemonSets_areHardenedAndGiveTheDrainTime() throws Exception {
    int daemonSets = 0;
    for (JsonNode doc : documents(DEPLOY.resolve("kubernetes/edgelmd.yaml"))) {
      if (!doc.path("kind").asText().equals("DaemonSet")) {
        continue;
      }
      daemonSets++;
      JsonNode pod = doc.path("spec").path("template").path("spec");
      assertTrue(pod.path("securityContext").path("runAsNonRoot").asBoolean());
      assertTrue(pod.path("terminationGracePeriodSeconds").asInt() >= 40, "drain_timeout + 10 s");
      JsonNode c = pod.path("containers").get(0);
      assertFalse(c.path("securityContext").path("allowPrivilegeEscalation").asBoolean(true));
      assertTrue(c.path("securityContext").path("readOnlyRootFilesystem").asBoolean());
      assertEquals("ALL", c.path("securityContext").path("capabilities").path("drop").get(0).asText());
      assertEquals(50051, c.path("readinessProbe").path("grpc").path("port").asInt());
      assertTrue(c.path("resources").path("limits").has("memory"), "the memory limit is what selection plans for");
      assertTrue(doc.path("metadata").path("labels") instanceof ObjectNode);
    }
    assertEquals(2, daemonSets);
  }
}
