package dev.edgelm.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.daemon.testing.FakeModelLoader;
import dev.edgelm.hub.SignaturePolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DaemonConfigTest {
  @TempDir Path tmp;

  private static DaemonConfig flags(Map<String, String> flags) {
    return DaemonConfig.load(DaemonConfig.ConfigSources.ofFlags(flags));
  }

  private static ConfigException invalid(DaemonConfig.ConfigSources sources) {
    return assertThrows(ConfigException.class, () -> DaemonConfig.load(sources));
  }

  @Test
  void load_nothing_givesDefaults() {
    DaemonConfig c = flags(Map.of());
    assertEquals("127.0.0.1", c.server().host());
    assertEquals(DaemonConfig.Server.DEFAULT_GRPC_PORT, c.server().grpcPort());
    assertEquals(DaemonConfig.Server.DEFAULT_HTTP_PORT, c.server().httpPort());
    assertEquals(Duration.ofSeconds(30), c.server().drainTimeout());
    assertEquals(Runtime.getRuntime().availableProcessors(), c.generation().workers());
    assertEquals(DaemonConfig.Limits.DEFAULT_MAX_CONCURRENT, c.generation().maxConcurrent());
    assertEquals(Duration.ofMinutes(30), c.cache().keepAlive());
    assertTrue(c.cache().memoryBudgetBytes() > 0);
    assertFalse(c.tls().enabled());
    assertFalse(c.auth().enabled());
    assertFalse(c.telemetry().otlpEnabled());
    assertEquals(SignaturePolicy.WARN, c.hub().verify());
    assertTrue(c.models().isEmpty());
  }

  @Test
  void load_layers_fileThenEnvironmentThenFlags() throws Exception {
    Path file = tmp.resolve("edgelmd.yaml");
    Files.writeString(file, """
        server:
          grpc_port: 7000
          http_port: 7001
          drain_timeout: 5s
        generation.max_concurrent: 2
        cache:
          memory_budget: 512MiB
        auth:
          api_keys: [abcdefgh1, abcdefgh2]
        """);
    Map<String, String> env = Map.of("EDGELMD_SERVER_HTTP_PORT", "8001", "EDGELMD_GENERATION_MAX_CONCURRENT", "3", "PATH", "/bin");
    DaemonConfig c = DaemonConfig.load(new DaemonConfig.ConfigSources(file, env, Map.of("generation.max_concurrent", "5")));
    assertEquals(7000, c.server().grpcPort(), "file");
    assertEquals(8001, c.server().httpPort(), "environment over file");
    assertEquals(5, c.generation().maxConcurrent(), "flag over environment");
    assertEquals(Duration.ofSeconds(5), c.server().drainTimeout());
    assertEquals(512L << 20, c.cache().memoryBudgetBytes());
    assertEquals(List.of("abcdefgh1", "abcdefgh2"), c.auth().apiKeys());
  }

  @Test
  void load_models_inFlagOrderWithPerModelLimits() {
    Path a = FakeModelLoader.writePackage(tmp.resolve("a"), "a", 1024);
    Path b = FakeModelLoader.writePackage(tmp.resolve("b"), "b", 1024);
    Map<String, String> f = new LinkedHashMap<>();
    f.put("generation.max_queued", "7");
    f.put("models.zeta.path", a.toString());
    f.put("models.alpha.path", b.toString());
    f.put("models.alpha.max_concurrent", "9");
    f.put("models.alpha.pin", "true");
    f.put("models.hubbed.ref", "registry.local:5000/models/tiny:1");
    f.put("models.hubbed.variant", "int8");
    DaemonConfig c = flags(f);
    assertEquals(List.of("zeta", "alpha", "hubbed"), c.models().stream().map(DaemonConfig.Model::name).toList());
    DaemonConfig.Model alpha = c.models().get(1);
    assertEquals(9, alpha.maxConcurrent());
    assertEquals(7, alpha.maxQueued());
    assertTrue(alpha.pin());
    DaemonConfig.Model hub = c.models().get(2);
    assertTrue(hub.fromHub());
    assertEquals("int8", hub.variant());
    assertNull(hub.path());
  }

  @Test
  void load_unknownKey_namesItAndSuggests() {
    ConfigException e = invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("server.grpc_prot", "1")));
    assertEquals("server.grpc_prot", e.key());
    assertTrue(e.getMessage().contains("server.grpc_port"), e.getMessage());
  }

  @Test
  void load_badValue_namesKeyAndOrigin() throws Exception {
    ConfigException flag = invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("server.grpc_port", "70000")));
    assertEquals("server.grpc_port", flag.key());
    assertTrue(flag.getMessage().contains("flag"), flag.getMessage());
    ConfigException env = invalid(new DaemonConfig.ConfigSources(null, Map.of("EDGELMD_SERVER_DRAIN_TIMEOUT", "soon"), Map.of()));
    assertEquals("server.drain_timeout", env.key());
    assertTrue(env.getMessage().contains("EDGELMD_SERVER_DRAIN_TIMEOUT"), env.getMessage());
    Path file = tmp.resolve("c.yaml");
    Files.writeString(file, "cache:\n  memory_budget: lots\n");
    ConfigException fromFile = invalid(new DaemonConfig.ConfigSources(file, Map.of(), Map.of()));
    assertEquals("cache.memory_budget", fromFile.key());
    assertTrue(fromFile.getMessage().contains(file.toString()), fromFile.getMessage());
  }

  @Test
  void load_unknownEnvironmentVariable_fails() {
    ConfigException e = invalid(new DaemonConfig.ConfigSources(null, Map.of("EDGELMD_SERVER_GRPCPORT", "1"), Map.of()));
    assertTrue(e.getMessage().contains("EDGELMD_SERVER_GRPCPORT"), e.getMessage());
  }

  @Test
  void load_modelSources_mustBeExactlyOneAndValid() {
    Path pkg = FakeModelLoader.writePackage(tmp.resolve("p"), "p", 1024);
    assertEquals("models.m.path", invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("models.m.pin", "true"))).key());
    assertNull(DaemonConfig.load(DaemonConfig.ConfigSources.ofFlags(Map.of("models.m.ref", "oci:/tmp/x:1"))).models().get(0).variant(),
        "a ref without a variant is selected automatically");
    assertEquals("models.m.ref", invalid(DaemonConfig.ConfigSources.ofFlags(
        Map.of("models.m.ref", "nohost/repo:1", "models.m.variant", "fp32"))).key());
    assertEquals("models.m.path", invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("models.m.path", tmp.resolve("missing").toString()))).key());
    ConfigException both = invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("models.m.path", pkg.toString(), "models.m.ref", "oci:/x:1")));
    assertTrue(both.getMessage().contains("exactly one"), both.getMessage());
    assertEquals("models.m.bogus", invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("models.m.bogus", "1"))).key());
  }

  @Test
  void load_tlsAndKeys_checkedAtStart() throws Exception {
    Path cert = Files.writeString(tmp.resolve("cert.pem"), "x");
    assertEquals("tls.key_file", invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("tls.cert_file", cert.toString()))).key());
    assertEquals("tls.client_ca_file", invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("tls.client_ca_file", cert.toString()))).key());
    assertEquals("tls.cert_file", invalid(DaemonConfig.ConfigSources.ofFlags(
        Map.of("tls.cert_file", tmp.resolve("nope.pem").toString(), "tls.key_file", cert.toString()))).key());
    assertEquals("auth.api_keys", invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("auth.api_keys", "short"))).key());
    Path empty = Files.writeString(tmp.resolve("keys"), "# none\n\n");
    assertEquals("auth.api_keys_file", invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("auth.api_keys_file", empty.toString()))).key());
    assertEquals("hub.verify", invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("hub.verify", "require"))).key());
  }

  @Test
  void offLoopback_withoutKeysOrMutualTls_refusesToServe_unlessInsecureBind() {
    ConfigException e = assertThrows(ConfigException.class, () -> flags(Map.of("server.host", "0.0.0.0")).requireSafeBind());
    assertEquals("server.host", e.key());
    assertTrue(e.getMessage().contains("auth.api_keys") && e.getMessage().contains("--insecure-bind"), e.getMessage());
    flags(Map.of("server.host", "0.0.0.0", "auth.api_keys", "a-long-enough-key")).requireSafeBind();
    flags(Map.of("server.host", "0.0.0.0", "server.insecure_bind", "true")).requireSafeBind();
    flags(Map.of("server.host", "127.0.0.1")).requireSafeBind();
    flags(Map.of("server.host", "localhost")).requireSafeBind();
    flags(Map.of("server.host", "::1")).requireSafeBind();
  }

  @Test
  void offLoopback_defaultsAddNothingTheConfigurationDoesNotName() {
    DaemonConfig local = flags(Map.of());
    assertTrue(local.api().allowNewModels());
    assertEquals(List.of(), local.api().pullRegistries(), "any registry on loopback");
    assertEquals("127.0.0.1", local.server().httpHost());

    DaemonConfig fleet = flags(Map.of("server.host", "0.0.0.0", "auth.api_keys", "a-long-enough-key",
        "models.m.ref", "hub.example:5000/models/m:stable"));
    assertFalse(fleet.api().allowNewModels());
    assertEquals(List.of("hub.example:5000"), fleet.api().pullRegistries());
    assertEquals("127.0.0.1", fleet.server().httpHost(), "metrics stay on loopback unless server.http_host says otherwise");
    assertTrue(flags(Map.of("server.host", "0.0.0.0", "auth.api_keys", "a-long-enough-key", "api.allow_new_models", "true"))
        .api().allowNewModels());
    assertEquals("api.load_roots", invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("api.load_roots", tmp.resolve("nope").toString()))).key());
  }

  @Test
  void missingKeyFile_isNamedOnce() {
    String missing = tmp.resolve("release.pub").toString();
    ConfigException e = invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("hub.trusted_keys", missing)));
    assertEquals("hub.trusted_keys", e.key());
    assertEquals(1, e.getMessage().split(java.util.regex.Pattern.quote(missing), -1).length - 1, e.getMessage());
  }

  @Test
  void hubVerify_defaultsToRequireOnceAKeyIsTrusted() throws Exception {
    Path key = Files.writeString(tmp.resolve("release.pub"), "x");
    assertEquals(dev.edgelm.hub.SignaturePolicy.WARN, flags(Map.of()).hub().verify());
    assertEquals(dev.edgelm.hub.SignaturePolicy.REQUIRE, flags(Map.of("hub.trusted_keys", key.toString())).hub().verify());
    assertEquals(dev.edgelm.hub.SignaturePolicy.WARN,
        flags(Map.of("hub.trusted_keys", key.toString(), "hub.verify", "warn")).hub().verify());
  }

  @Test
  void load_secretsNeverShown() {
    ConfigException e = invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("hub.password", "hunter2-secret")));
    assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
    String rendered = DaemonConfig.render(DaemonConfig.ConfigSources.ofFlags(Map.of("auth.api_keys", "topsecret-1")));
    assertFalse(rendered.contains("topsecret"), rendered);
    assertFalse(flags(Map.of("auth.api_keys", "topsecret-1")).auth().toString().contains("topsecret"));
  }

  @Test
  void describe_listsEveryKeyWithItsEnvironmentVariable() {
    String text = DaemonConfig.describe();
    for (ConfigKeys.Key k : ConfigKeys.keys()) {
      assertTrue(text.contains(k.name()), k.name());
      assertTrue(text.contains(k.envVar()), k.envVar());
    }
    for (ConfigKeys.ModelProperty p : ConfigKeys.modelProperties()) {
      assertTrue(text.contains("models.<name>." + p.name()), p.name());
    }
  }

  @Test
  void serveOptions_modelShortcut_usesDirectoryNameUnlessNamed() {
    Edgelmd cmd = new Edgelmd();
    new picocli.CommandLine(cmd).parseArgs("--model", "/models/stories260K", "--model", "fast=/models/x", "--port", "0");
    Map<String, String> f = cmd.options.flags();
    assertEquals("/models/stories260K", f.get("models.stories260K.path"));
    assertEquals("/models/x", f.get("models.fast.path"));
    assertEquals("0", f.get("server.grpc_port"));
  }

  @Test
  void load_hostAndSelectKeys_parsedAndValidatedWithTheKeyNamed() {
    DaemonConfig c = DaemonConfig.load(DaemonConfig.ConfigSources.ofFlags(Map.of("host.memory", "2GiB", "host.cpu_features", "AVX2,avx512_vnni",
        "host.arch", "arm64", "host.execution_providers", "CUDAExecutionProvider", "host.memory_bandwidth", "20GiB/s",
        "select.max_perplexity_ratio", "1.05", "hub.poll_interval", "30s", "host.cache_dir", "/var/cache/edgelm")));
    HostOverrides o = c.host().overrides();
    assertEquals(2L << 30, o.memoryBytes());
    assertEquals(java.util.Set.of("avx2", "avx512_vnni"), o.cpuFeatures());
    assertEquals("aarch64", o.arch());
    assertEquals(java.util.Set.of("cpu", "cuda"), o.executionProviders(), "cpu is always there; names are normalised");
    assertEquals(20.0 * (1L << 30), o.memoryBandwidth());
    assertEquals("flag: host.memory", o.describe().get("memory"));
    assertEquals(java.nio.file.Path.of("/var/cache/edgelm"), c.host().cacheDir());
    assertEquals(java.time.Duration.ofSeconds(30), c.hub().pollInterval());
    assertEquals(1.05, c.select().maxPerplexityRatio());
    assertEquals(java.util.Set.of(), DaemonConfig.load(DaemonConfig.ConfigSources.ofFlags(Map.of("host.cpu_features", "none")))
        .host().overrides().cpuFeatures());
    assertEquals(java.nio.file.Path.of("/xdg-cache/edgelm"), DaemonConfig.load(new DaemonConfig.ConfigSources(null,
        Map.of("XDG_CACHE_HOME", "/xdg-cache"), Map.of())).host().cacheDir());

    assertEquals("host.memory", invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("host.memory", "lots"))).key());
    assertEquals("host.arch", invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("host.arch", "sparc"))).key());
    assertEquals("host.memory_bandwidth", invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("host.memory_bandwidth", "fast"))).key());
    assertEquals("host.onnxruntime_version", invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("host.onnxruntime_version", "latest"))).key());
    assertEquals("select.max_perplexity_ratio", invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("select.max_perplexity_ratio", "0.5"))).key());
    assertEquals("select.speed_tolerance", invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("select.speed_tolerance", "1"))).key());
    assertEquals("hub.poll_interval", invalid(DaemonConfig.ConfigSources.ofFlags(Map.of("hub.poll_interval", "often"))).key());
  }

  @Test
  void selectionPolicy_takesTheModelsLimitsAndPin() {
    DaemonConfig c = DaemonConfig.load(DaemonConfig.ConfigSources.ofFlags(Map.of("models.m.ref", "oci:/tmp/x:stable", "models.m.variant", "int8",
        "models.m.max_concurrent", "2", "generation.max_context", "512", "cache.memory_budget", "1GiB", "select.memory_overhead", "32MiB")));
    SelectionPolicy p = c.selectionPolicy(c.models().get(0));
    assertEquals(new SelectionPolicy(512, 2, 1L << 30, 32L << 20, SelectionPolicy.DEFAULT_MAX_PERPLEXITY_RATIO, "int8",
        SelectionPolicy.DEFAULT_SPEED_TOLERANCE, 0, SelectionPolicy.DEFAULT_BENCHMARK_TOKENS, 1), p);
  }
}
