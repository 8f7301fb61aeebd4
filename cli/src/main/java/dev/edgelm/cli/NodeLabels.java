package dev.edgelm.cli;

import dev.edgelm.daemon.HostCapabilities;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Kubernetes node labels for a host's capabilities ({@code edgelm capabilities --labels}), so a fleet
 * can schedule and configure edgelmd per class of node: {@code kubectl label node NODE $(edgelm
 * capabilities --labels)}. See {@code deploy/kubernetes}.
 */
final class NodeLabels {
  static final String PREFIX = "edgelm.dev/";

  private NodeLabels() {}

  static Map<String, String> of(HostCapabilities h) {
    Map<String, String> l = new LinkedHashMap<>();
    l.put(PREFIX + "arch", h.arch().equals("x86_64") ? "amd64" : h.arch().equals("aarch64") ? "arm64" : h.arch());
    l.put(PREFIX + "cpu-avx2", bool(h.cpuFeatures().contains("avx2")));
    l.put(PREFIX + "cpu-avx512", bool(h.cpuFeatures().contains("avx512f")));
    l.put(PREFIX + "cpu-vnni", bool(h.cpuFeatures().contains("avx512_vnni") || h.cpuFeatures().contains("avx_vnni")));
    l.put(PREFIX + "cpu-amx", bool(h.cpuFeatures().contains("amx")));
    l.put(PREFIX + "cpu-dotprod", bool(h.cpuFeatures().contains("dotprod")));
    l.put(PREFIX + "cpu-i8mm", bool(h.cpuFeatures().contains("i8mm")));
    l.put(PREFIX + "gpu-cuda", bool(h.onnxRuntime().executionProviders().contains("cuda") && !h.gpus().isEmpty()));
    long gib = h.memory().totalBytes() >> 30;
    l.put(PREFIX + "memory-class", gib < 4 ? "small" : gib < 16 ? "medium" : "large");
    return l;
  }

  private static String bool(boolean b) {
    return b ? "true" : "false";
  }
}
